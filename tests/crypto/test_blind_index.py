"""Exact search through blind indexes, whatever the way a value was typed."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from claims.claimants.models import Claimant
from claims.crypto import compute_blind_index
from claims.crypto.blind_index import (
    blind_index,
    normalise_email,
    normalise_identity,
    normalise_nir,
    normalise_phone,
)
from claims.extensions import db


def find(column: Any, name: str, normalised: str) -> list[Claimant]:
    return list(
        db.session.execute(
            sa.select(Claimant).where(column == compute_blind_index(name, normalised))
        ).scalars()
    )


def test_lookup_by_email_phone_nir_and_identity(make_claimant: Any) -> None:
    target = make_claimant()
    make_claimant(
        email="autre@example.fr", phone="0700000000", nir="1 70 01 75 001 001 45", last_name="Martin"
    )
    assert find(Claimant.email_bidx, "email", normalise_email("  Elodie.Lefevre@EXAMPLE.fr ")) == [target]
    assert find(Claimant.phone_bidx, "phone", normalise_phone("+33 6 12 34 56 78")) == [target]
    assert find(Claimant.phone_bidx, "phone", normalise_phone("06.12.34.56.78")) == [target]
    assert find(Claimant.nir_bidx, "nir", normalise_nir("284039304812378")) == [target]
    assert find(
        Claimant.identity_bidx, "identity", normalise_identity("LEFEVRE DUBOIS", date(1984, 3, 7))
    ) == [target]
    assert (
        find(Claimant.identity_bidx, "identity", normalise_identity("Lefèvre-Dubois", date(1984, 3, 8))) == []
    )


def test_index_follows_a_changed_value(make_claimant: Any) -> None:
    claimant = make_claimant()
    claimant.email = "nouvelle@example.fr"
    db.session.commit()
    assert find(Claimant.email_bidx, "email", normalise_email("elodie.lefevre@example.fr")) == []
    assert find(Claimant.email_bidx, "email", normalise_email("Nouvelle@example.fr")) == [claimant]
    claimant.email = None
    assert claimant.email_bidx is None


def test_near_identical_addresses_share_an_index(make_claimant: Any) -> None:
    a = make_claimant(address_line1="12, rue de la Fontaine-au-Roi", postal_code="75011")
    b = make_claimant(
        address_line1="12 Rue de la Fontaine au Roi", postal_code="75 011", email="b@example.fr"
    )
    c = make_claimant(address_line1="14 rue de la Fontaine au Roi", postal_code="75011", email="c@example.fr")
    assert a.address_bidx == b.address_bidx != c.address_bidx


@given(value=st.text(max_size=60))
def test_indexes_of_different_kinds_never_collide(value: str) -> None:
    key = b"k" * 32
    assert blind_index(key, "email", value) != blind_index(key, "phone", value)


def test_index_depends_on_the_key() -> None:
    assert blind_index(b"a" * 32, "email", "x@example.fr") != blind_index(b"b" * 32, "email", "x@example.fr")
