"""Encrypted personal fields: round trips, binding to the row, nothing in clear."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.claimants.models import Claimant
from claims.crypto.envelope import DecryptionError
from claims.extensions import db

text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=300)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(first_name=text, statement=text)
def test_round_trip_through_the_database(
    make_claimant: Any, make_claim: Any, first_name: str, statement: str
) -> None:
    claimant = make_claimant(first_name=first_name)
    claim = make_claim(claimant, statement=statement)
    claimant_id, claim_id = claimant.id, claim.id
    db.session.expunge_all()
    claimant = db.session.get(Claimant, claimant_id)
    assert claimant.first_name == first_name
    assert claimant.birth_date == date(1984, 3, 7)
    assert claimant.claims[0].id == claim_id
    assert claimant.claims[0].statement == statement


def test_ciphertext_is_not_plaintext(make_claimant: Any) -> None:
    claimant = make_claimant()
    query = sa.text("SELECT first_name, email, nir FROM claimants WHERE id = :id").bindparams(
        sa.bindparam("id", type_=sa.Uuid)
    )
    row = db.session.execute(query, {"id": claimant.id}).one()
    for value, clear in zip(row, ["Élodie", "elodie.lefevre@example.fr", "84 03 93"], strict=True):
        assert isinstance(value, bytes | memoryview)
        assert clear.encode() not in bytes(value)


def test_tampered_ciphertext_raises(make_claimant: Any) -> None:
    claimant = make_claimant()
    blob = bytearray(claimant.email_ct)
    blob[-1] ^= 0x01
    claimant.email_ct = bytes(blob)
    with pytest.raises(DecryptionError):
        _ = claimant.email


def test_ciphertext_moved_to_another_row_does_not_decrypt(make_claimant: Any) -> None:
    alice = make_claimant(email="alice@example.fr")
    bob = make_claimant(email="bob@example.fr")
    # Same column, other row, and even the right key (never flushed: a data
    # key belongs to one person, the unique constraint forbids sharing it):
    # the row id in the associated data still differs.
    with db.session.no_autoflush:
        bob.data_key = alice.data_key
        bob.email_ct = alice.email_ct
        with pytest.raises(DecryptionError):
            _ = bob.email
    db.session.rollback()


def test_ciphertext_moved_to_another_column_does_not_decrypt(make_claimant: Any) -> None:
    claimant = make_claimant()
    claimant.city_ct = claimant.last_name_ct
    with pytest.raises(DecryptionError):
        _ = claimant.city


def test_each_claimant_has_their_own_data_key(make_claimant: Any) -> None:
    alice = make_claimant(email="alice@example.fr")
    bob = make_claimant(email="bob@example.fr")
    assert alice.data_key_id != bob.data_key_id
    assert alice.data_key.plaintext() != bob.data_key.plaintext()


def test_none_is_stored_as_null(make_claimant: Any) -> None:
    claimant = make_claimant(address_line2=None)
    assert claimant.address_line2_ct is None
    assert claimant.address_line2 is None
