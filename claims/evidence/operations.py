"""Storing and reading evidence files through the vault.

Each file gets its own random key; that key is wrapped by the claimant's data
key and bound to the evidence row, so destroying the claimant's data key
makes their files unreadable too (crypto-shredding), and a file or wrapped
key moved to another row does not decrypt.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from ..crypto.envelope import decrypt, encrypt, new_key
from ..extensions import db
from ..vault import current_vault
from .models import Evidence, EvidenceKind


def _file_aad(evidence_id: uuid.UUID, role: str) -> bytes:
    return f"recours:file:{evidence_id}:{role}".encode()


def _key_aad(evidence_id: uuid.UUID, role: str) -> bytes:
    return f"recours:file-key:{evidence_id}:{role}".encode()


def store_evidence(
    claim: object,
    source: BinaryIO | Iterable[bytes],
    *,
    kind: EvidenceKind,
    original_filename: str,
    detected_type: str,
    max_size: int | None = None,
) -> Evidence:
    """Encrypt the file into the vault, then add its row to the session (no commit).

    The file is durable before the row exists; if the transaction is rolled
    back, ``flask vault sweep`` removes the orphan file. The row is not
    flushed here, so that bulk callers (the demo seed) insert in batches.
    """
    evidence_id = uuid.uuid4()
    file_key = new_key()
    blob = current_vault().put(
        source, key=file_key, aad=_file_aad(evidence_id, "original"), max_size=max_size
    )
    evidence = Evidence(
        id=evidence_id,
        claim=claim,
        kind=kind,
        detected_type=detected_type,
        size=blob.size,
        sha256=blob.sha256,
        storage_key=blob.storage_key,
        wrapped_file_key=b"",
        original_filename=original_filename,
    )
    evidence.wrapped_file_key = encrypt(evidence.field_key(), file_key, _key_aad(evidence_id, "original"))
    db.session.add(evidence)
    return evidence


def open_evidence(evidence: Evidence) -> Iterator[bytes]:
    """Verified plaintext of the original; raises KeyDestroyed once shredded."""
    file_key = decrypt(evidence.field_key(), evidence.wrapped_file_key, _key_aad(evidence.id, "original"))
    return current_vault().open(evidence.storage_key, key=file_key, aad=_file_aad(evidence.id, "original"))
