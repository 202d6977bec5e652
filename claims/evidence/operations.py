"""Storing and reading evidence files through the vault.

Each file gets its own random key; that key is wrapped by the claimant's data
key and bound to the evidence row, so destroying the claimant's data key
makes their files unreadable too (crypto-shredding), and a file or wrapped
key moved to another row does not decrypt.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, BinaryIO

import sqlalchemy as sa

from ..audit.operations import record_event
from ..claimants.models import Claim
from ..extensions import db
from ..jobs.operations import enqueue, handler
from ..vault import StoredBlob, current_vault
from .checks import MAX_FILE_BYTES, UploadRefused, check_upload, clean_filename
from .models import Evidence, EvidenceKind, EvidenceStatus
from .sanitise import sanitise

if TYPE_CHECKING:
    from ..jobs.models import Job


def _file_aad(evidence_id: uuid.UUID, role: str) -> bytes:
    return f"recours:file:{evidence_id}:{role}".encode()


def _key_aad(evidence_id: uuid.UUID, role: str) -> bytes:
    return f"recours:file-key:{evidence_id}:{role}".encode()


def _put_file(
    evidence_id: uuid.UUID,
    field_key: bytes,
    role: str,
    source: BinaryIO | Iterable[bytes],
    max_size: int | None = None,
) -> tuple[StoredBlob, bytes]:
    """Store a file under a new key; return what was stored and the key wrapped by the owner's data key."""
    return current_vault().put_sealed(
        source,
        owner_key=field_key,
        aad=_file_aad(evidence_id, role),
        key_aad=_key_aad(evidence_id, role),
        max_size=max_size,
    )


def _open_file(evidence: Evidence, role: str, storage_key: str, wrapped_key: bytes) -> Iterator[bytes]:
    return current_vault().open_sealed(
        storage_key,
        owner_key=evidence.field_key(),
        wrapped_key=wrapped_key,
        aad=_file_aad(evidence.id, role),
        key_aad=_key_aad(evidence.id, role),
    )


def store_evidence(
    claim: Claim,
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
    # The owner's data key wraps the file key: reached through the claim, before the row exists.
    blob, wrapped_key = _put_file(evidence_id, claim.field_key(), "original", source, max_size)
    evidence = Evidence(
        id=evidence_id,
        claim=claim,
        kind=kind,
        detected_type=detected_type,
        size=blob.size,
        sha256=blob.sha256,
        storage_key=blob.storage_key,
        wrapped_file_key=wrapped_key,
        original_filename=original_filename,
    )
    db.session.add(evidence)
    return evidence


def open_evidence(evidence: Evidence) -> Iterator[bytes]:
    """Verified plaintext of the original; raises KeyDestroyed once shredded."""
    return _open_file(evidence, "original", evidence.storage_key, evidence.wrapped_file_key)


def open_derivative(evidence: Evidence) -> Iterator[bytes]:
    """Verified plaintext of the sanitised derivative (what reviewers and bundles use)."""
    if evidence.derivative_storage_key is None or evidence.derivative_wrapped_key is None:
        raise LookupError("no derivative yet")
    return _open_file(
        evidence, "derivative", evidence.derivative_storage_key, evidence.derivative_wrapped_key
    )


def accept_evidence(
    claim: Claim,
    upload: IO[bytes],
    *,
    kind: EvidenceKind,
    filename: str | None,
    max_bytes: int = MAX_FILE_BYTES,
) -> Evidence:
    """Check an upload by content (raises UploadRefused at once), then store the original.

    The row records the detected type, size, SHA-256 of the original and the
    warnings; the derivative is made by ``make_derivative`` (a job may run it).
    """
    checked = check_upload(upload, max_bytes=max_bytes)
    evidence = store_evidence(
        claim,
        upload,
        kind=kind,
        original_filename=clean_filename(filename),
        detected_type=checked.detected_type,
        max_size=max_bytes,
    )
    evidence.warnings = checked.warnings
    db.session.flush()
    record_event(
        "evidence.stored",
        actor_type="claimant",
        object_type="evidence",
        object_id=evidence.id,
        details={"type": checked.detected_type, "size": checked.size, "warnings": len(checked.warnings)},
    )
    return evidence


MAX_FILES_PER_CLAIM = 10
MAX_TOTAL_BYTES = 60 * 1024 * 1024


_CLAIM_PIECES = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Evidence.__table__.c.size), 0)).where(
    Evidence.__table__.c.claim_id == sa.bindparam("claim_id")
)


_CLAIMS = Claim.__table__
# A write that changes nothing but the claim's updated_at (see add_claim_evidence).
_CLAIM_LOCK = (
    sa.update(_CLAIMS).where(_CLAIMS.c.id == sa.bindparam("claim_id")).values(version=_CLAIMS.c.version)
)


def add_claim_evidence(
    claim: Claim, upload: IO[bytes], *, kind: EvidenceKind, filename: str | None
) -> Evidence:
    """A claimant's upload (the intake form, an answer in the portal): the claim's limits on
    count and total size, then ``accept_evidence`` (flush, no commit). Raises UploadRefused.

    The claim's row stays locked until the caller's commit or rollback, so two uploads sent
    at the same instant to one claim are counted one after the other.

    The derivative is the caller's to ask for (``derivative_jobs``): the portal at once, the
    intake when the claim is submitted."""
    # A write before counting (the version kept; updated_at, a column default, moves):
    # PostgreSQL locks the claim's row, SQLite takes its write lock. A second upload to the
    # claim waits here until the first is committed, then counts it. (A SELECT ... FOR UPDATE
    # would do on PostgreSQL only.)
    db.session.execute(_CLAIM_LOCK, {"claim_id": claim.id})
    # Counted in the database: one aggregate, no Evidence object loaded.
    count, total = db.session.execute(_CLAIM_PIECES, {"claim_id": claim.id}).one()
    if count >= MAX_FILES_PER_CLAIM:
        raise UploadRefused("too_many_files")
    if total >= MAX_TOTAL_BYTES:
        raise UploadRefused("total_too_large")
    return accept_evidence(claim, upload, kind=kind, filename=filename)


def derivative_jobs(pieces: Iterable[Evidence]) -> list[Job]:
    """A derivative job for each piece that has no derivative yet (flush, no commit): to be
    dispatched after the commit. The originals are durable already; re-encoding runs in the
    background."""
    return [
        enqueue("evidence.derivative", evidence_id=str(e.id))
        for e in pieces
        if e.derivative_storage_key is None and e.status == EvidenceStatus.PENDING
    ]


def make_derivative(evidence: Evidence) -> None:
    """Sanitise the stored original into its derivative (flushes, no commit)."""
    original = io.BytesIO(b"".join(open_evidence(evidence)))
    data, derivative_type = sanitise(original, evidence.detected_type)
    blob, wrapped_key = _put_file(evidence.id, evidence.field_key(), "derivative", [data])
    evidence.derivative_storage_key = blob.storage_key
    evidence.derivative_wrapped_key = wrapped_key
    evidence.derivative_type = derivative_type
    evidence.derivative_size = blob.size
    evidence.derivative_sha256 = blob.sha256
    evidence.status = EvidenceStatus.FLAGGED if evidence.warnings else EvidenceStatus.CLEAN
    db.session.flush()


@handler("evidence.derivative")
def derivative_job(evidence_id: str) -> dict[str, str]:
    """Make the derivative of a stored original; an image that does not decode is rejected."""
    evidence = db.session.get_one(Evidence, uuid.UUID(evidence_id))
    try:
        make_derivative(evidence)
    except UploadRefused as refused:
        evidence.status = EvidenceStatus.REJECTED
        evidence.warnings = [*evidence.warnings, refused.code]
    db.session.commit()
    return {"status": evidence.status.value}
