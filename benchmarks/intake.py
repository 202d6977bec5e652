"""Intake speed: complete claims with three 2 MB files, through the app.

Measures, in the same run:
* the server time of one whole claim through the real views (every step
  that saves something, the first one making the draft, three uploads
  checked by content and stored encrypted, consent; the review page is read,
  not posted: its button is a link), each request in its own app context as
  a server runs it, as the median over N claims (15; 6 with --quick): the
  latency a claimant meets, the local worker process having finished the
  previous claim's jobs (the sanitised derivatives and the receipt PDF with
  its mail, all started by the submission: untimed) before the next claim
  starts; the same claims back to back, the worker busy beside them, are
  reported as a figure too;
* the baseline: a bare Flask endpoint receiving the same three files and
  writing them durably to disk (the file fsynced, then its folder, as
  anything acknowledged must be), per claim, alternating with the claims;
* the vault's encryption (chunked STREAM format) against raw AES-GCM over the
  same bytes.

Ratios:
  intake_vs_raw_write   median claim time / median bare receive-and-write time (target <= 3)
  vault_vs_raw_aesgcm   encryption throughput of the vault's format / raw AES-GCM (target >= 0.5)
"""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, request
from PIL import Image
from pypdf import PdfWriter
from stdnum.fr import nir as stdnum_nir

from benchmarks._common import benchmark_app, parse_args, report
from claims.crypto.envelope import new_key
from claims.crypto.stream import encrypt_stream
from claims.demo.operations import create_demo_case
from claims.extensions import db
from claims.fileio import fsync_dir
from claims.jobs.operations import stop_runner

TARGET = 2 * 1024 * 1024


def noisy_jpeg() -> bytes:
    side = 900
    while True:
        out = io.BytesIO()
        Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "JPEG", quality=92)
        if out.tell() >= TARGET * 0.9:
            return out.getvalue()
        side += 150


def noisy_png() -> bytes:
    side = int((TARGET / 3) ** 0.5) + 1
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


def padded_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Padding": os.urandom(TARGET // 2).hex()})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def one_claim(client: object, files: list[tuple[str, bytes, str]], nir: str) -> float:
    started = time.perf_counter()
    post = client.post  # type: ignore[attr-defined]
    post("/c/aphp-2021/demande/eligibility", data={"q_tested_2020": "yes", "q_notified": "yes"})
    post(
        "/c/aphp-2021/demande/identity",
        data={
            "civility": "Mme",
            "first_name": "Élodie",
            "last_name": "Lefèvre",
            "birth_date": "1984-03-07",
            "birth_place": "Montreuil",
        },
    )
    post(
        "/c/aphp-2021/demande/contact",
        data={
            "address_line1": "12 rue de la Paix",
            "postal_code": "75002",
            "city": "Paris",
            "country": "France",
            "email": "e@example.fr",
            "phone": "06 12 34 56 78",
        },
    )
    post("/c/aphp-2021/demande/details", data={"nir": nir, "test_date": "", "test_place": ""})
    post(
        "/c/aphp-2021/demande/harm",
        data={
            "claim_moral_harm": "y",
            "amount_moral_harm": "1500",
            "statement": "Des SMS frauduleux chaque semaine depuis la fuite.",
        },
    )
    for name, data, kind in files:
        response = post(
            "/c/aphp-2021/demande/evidence",
            data={"kind": kind, "file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )
        if response.status_code != 302:
            raise SystemExit(f"upload of {name} refused: {response.status_code}")
    response = post(
        "/c/aphp-2021/demande/consent",
        data={
            "accept_privacy": "y",
            "accept_mandate": "y",
            "accept_fees": "y",
            "civil_party": "y",
            "signature": "Élodie Lefèvre",
            "idempotency_key": os.urandom(8).hex(),
        },
    )
    if response.location != "/c/aphp-2021/recu":
        raise SystemExit("the claim was not submitted")
    return time.perf_counter() - started


def wait_for_jobs(timeout: float = 120) -> int:
    """Let the worker finish (not timed) so the run ends clean; returns jobs not done."""
    import sqlalchemy as sa

    from claims.jobs.models import Job, JobStatus

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        left = db.session.scalar(
            sa.select(sa.func.count()).where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        )
        if not left:
            return 0
        time.sleep(0.1)
    return left


def bare_app(folder: Path) -> Flask:
    app = Flask("bare")

    @app.post("/upload")
    def upload() -> str:
        stored = request.files["file"]
        path = folder / os.urandom(8).hex()
        with path.open("wb") as fh:
            stored.save(fh)
            fh.flush()
            os.fsync(fh.fileno())
        fsync_dir(folder)  # durable: the new name too, as a receipt requires
        return "ok"

    return app


def main() -> None:
    args = parse_args(__doc__ or "")
    claims = 6 if args.quick else 15  # a median of 3 moved with the machine's load
    files = [
        ("courrier.pdf", padded_pdf(), "breach_notification"),
        ("sms.png", noisy_png(), "phishing_message"),
        ("cni.jpg", noisy_jpeg(), "proof_of_identity"),
    ]
    nir = "2 84 03 93 048 123 " + stdnum_nir.calc_check_digits("2840393048123")

    def raw_write(bare: object) -> float:
        started = time.perf_counter()
        for name, data, _ in files:
            bare.post(  # type: ignore[attr-defined]
                "/upload", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
            )
        return time.perf_counter() - started

    # As served, derivatives and receipts are made by the local worker process, not in the
    # claimant's requests; rate limits would stop a benchmark that submits many claims from one address.
    with (
        tempfile.TemporaryDirectory(prefix="recours-bench-") as tmp,
        benchmark_app(JOBS_RUNNER="local", RATELIMIT_ENABLED=False) as app,
    ):
        bare = bare_app(Path(tmp)).test_client()
        create_demo_case()
        db.session.commit()
        # The claimant's latency, the worker having finished the previous claim's jobs (untimed);
        # each claim alternates with the baseline, so that a change in the machine's load
        # weighs on both alike.
        intake_times, raw_times = [], []
        for _ in range(claims):
            intake_times.append(one_claim(app.test_client(), files, nir))  # a new browser each time
            wait_for_jobs()
            raw_times.append(raw_write(bare))
        # ...and, for comparison, claims back to back with the worker busy beside them.
        back_to_back = []
        for _ in range(claims):
            back_to_back.append(one_claim(app.test_client(), files, nir))
        pending = wait_for_jobs()
        stop_runner()

    # The three files, ten times over: long enough to time steadily.
    payload = b"".join(data for _, data, _ in files) * 10
    key = new_key()
    started = time.perf_counter()
    for _ in encrypt_stream(key, b"bench", [payload]):
        pass
    stream_seconds = time.perf_counter() - started
    aead, nonce = AESGCM(key), os.urandom(12)
    started = time.perf_counter()
    for offset in range(0, len(payload), 64 * 1024):
        aead.encrypt(nonce, payload[offset : offset + 64 * 1024], b"bench")
    raw_seconds = time.perf_counter() - started

    intake, raw = statistics.median(intake_times), statistics.median(raw_times)
    report(
        "intake",
        {
            "claims": claims,
            "file_bytes": [len(d) for _, d, _ in files],
            "median_claim_seconds": round(intake, 3),
            "median_claim_seconds_back_to_back": round(statistics.median(back_to_back), 3),
            "jobs_unfinished": pending,
            "median_raw_write_seconds": round(raw, 3),
            "vault_encryption_mib_per_s": round(len(payload) / 2**20 / stream_seconds, 1),
            "raw_aesgcm_mib_per_s": round(len(payload) / 2**20 / raw_seconds, 1),
        },
        {
            "intake_vs_raw_write": round(intake / raw, 2),
            "vault_vs_raw_aesgcm": round(raw_seconds / stream_seconds, 2),
        },
    )


if __name__ == "__main__":
    main()
