"""Evidence files: stored through the vault, bound to their row."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from claims.crypto.envelope import DecryptionError
from claims.evidence.models import EvidenceKind, EvidenceStatus
from claims.evidence.operations import open_evidence, store_evidence
from claims.extensions import db
from claims.vault import FileTooLarge


def test_store_and_read_back(make_claim: Any) -> None:
    claim = make_claim()
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 100
    evidence = store_evidence(
        claim,
        [data[:1000], data[1000:]],
        kind=EvidenceKind.PHISHING_MESSAGE,
        original_filename="../../capture écran.png",
        detected_type="image/png",
    )
    db.session.commit()
    assert evidence.size == len(data)
    assert evidence.sha256 == hashlib.sha256(data).hexdigest()
    assert evidence.status == EvidenceStatus.PENDING
    assert evidence.original_filename == "../../capture écran.png"  # data, never a path
    assert "capture" not in evidence.storage_key
    assert b"".join(open_evidence(evidence)) == data


def test_file_key_moved_to_another_row_does_not_decrypt(make_claim: Any) -> None:
    claim = make_claim()
    first = store_evidence(
        claim, [b"one"], kind=EvidenceKind.OTHER, original_filename="1.pdf", detected_type="application/pdf"
    )
    second = store_evidence(
        claim, [b"two"], kind=EvidenceKind.OTHER, original_filename="2.pdf", detected_type="application/pdf"
    )
    db.session.commit()
    second.wrapped_file_key = first.wrapped_file_key
    with pytest.raises(DecryptionError):
        b"".join(open_evidence(second))
    db.session.rollback()


def test_size_limit(make_claim: Any) -> None:
    claim = make_claim()
    with pytest.raises(FileTooLarge):
        store_evidence(
            claim,
            [b"x" * 2048],
            kind=EvidenceKind.OTHER,
            original_filename="big.pdf",
            detected_type="application/pdf",
            max_size=1024,
        )
    db.session.rollback()
    assert claim.evidence == []
