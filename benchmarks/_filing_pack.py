"""The filing pack and the Celery workers: two halves of ``python -m benchmarks.bundles`` (issue 6).

``measure_pack(quick)`` — the filing pack at N/10 and at N civil parties (N = 10,000;
1,000 with --quick), what ``claims.filings.exports._assemble`` writes (a job per file): the PDF
(``write_pack_pdf``, with its collective exhibit index), the ZIP of the bundles
(``write_pack_zip``) and the CSV (``write_pack_csv``), one after the other, each to a
file. Every party's bundle is the same small prebuilt bundle (``build_bundle``: a JPEG
exhibit and the usual front matter, built once) and lists that exhibit in the index.
After a warm-up run (fonts, templates, lazy imports), each size is run twice: once under
tracemalloc for the peak Python memory (of the whole pack and of each file), once without
it for the time (tracemalloc slows allocation-heavy code several times over). Each output
is read back cheaply (the PDF's page count and bookmarks, the ZIP's members, the CSV's
rows) so that a broken file fails the run.

  pack_time_10k_vs_1k     time at N / time at N/10. Target: about 10 (the time grows
                          linearly with the parties: no step costs more per party as
                          the pack grows); not a "lower is better" figure. The front
                          pages and the warm caches cost the same at both sizes, so it
                          comes out a little under 10: the figures give the cost of one
                          more party (pack_ms_per_party) and that fixed part.
  pack_memory_10k_vs_1k   peak traced memory at N / at N/10. Target: <= 1.2 (flat).

``measure_celery(quick)`` — the speed-up of two Celery worker processes over one, on
this machine, for real: Redis from RECOURS_BENCH_REDIS_URL (skipped without it), the
database from RECOURS_BENCH_DATABASE_URL or a temporary SQLite file. Seeds a locked
filing of P civil parties (P = 40; 12 with --quick), each a typical claimant (as the
bundle half's): a statement of about 22,000 characters, two phone photos (12 megapixels)
and a 2-page letter, accepted and made into derivatives as intake does. Then runs the
filing's export (``start_export``, committed, then ``dispatch``) on the Celery runner, on a
queue of its own, with worker processes started here (``celery -A claims.jobs.worker
worker --pool=solo``, the environment the tests give them): once with one worker, once
with two, each on a fresh generation (every bundle built again), the workers started and
answering a ping before the dispatch and stopped (warm shutdown) after. Timed: from the
dispatch to the export job SUCCEEDED (polled every 20 ms), that is the fan-out job, one
bundle job per party, then the pack's three jobs (the PDF, the ZIP, the CSV, side by side
on the workers there are), the last of which ends the export. Full runs do it twice and
take the medians.

  celery_2_vs_1_speedup   time with one worker / time with two. Target: >= 1.7.

The fan-out runs on one worker whatever the number of workers, and so does most of the
pack (its PDF, the longest of its three files) (Amdahl): with S seconds of them and B of
bundles on one worker, two workers give at best (S + B) / (S + B / 2). So the figures also
give the bundle phase alone (from the dispatch to the last bundle job's end, from the jobs'
own timestamps), its speed-up, the pack jobs' time (from the first one's start to the last
one's end, and each one's own: celery_pack_pdf_seconds_1w…) and the best speed-up that
serial part allows.

Other processes running on the machine take cores from the workers, and a virtual
machine's two cores may not both run all the time. So before each pair of runs:
a pure Python loop is timed in one process, then twice the work in two processes at once
(``machine_2_vs_1_cpu_speedup``, 2 on two idle cores); and the bundle builds themselves,
with nothing shared (no database, vault or broker): P typical bundles built in memory by one
process, then P/2 by each of two processes started beforehand and set off together, three
times (the median: ``machine_2_vs_1_bundle_speedup``). Most of the export is that work, so
that figure bounds what two workers can give on this machine.
"""

from __future__ import annotations

import csv
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from hashlib import sha256
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from claims.documents.bundle import JPEG, BundleData, Exhibit, HeadAmount, build_bundle
from claims.documents.pack import (
    PackExhibit,
    PackInfo,
    PackParty,
    write_pack_csv,
    write_pack_pdf,
    write_pack_zip,
)
from claims.documents.preview import SAMPLE_FILING

ROOT = Path(__file__).resolve().parents[1]
MIB = 2**20
# The Celery half's claimants: a statement of five pages or so, two phone photos, a letter.
STATEMENT_CHARACTERS = 22_000

HEADS = [HeadAmount("Préjudice moral", Decimal("1500")), HeadAmount("Temps perdu", Decimal("250.50"))]
INFO = PackInfo(
    **SAMPLE_FILING,
    filing_id=1,
    locked_at=datetime(2024, 5, 3, 12, 5, tzinfo=UTC),
    snapshot_sha256="0" * 64,
)


# --- the pack ------------------------------------------------------------------------------


def _small_bundle() -> tuple[bytes, int, PackExhibit]:
    """One claimant bundle (a JPEG exhibit), its page count, and that exhibit for the index."""
    image = Image.new("RGB", (800, 600), (240, 240, 235))
    ImageDraw.Draw(image).rectangle((40, 40, 760, 120), fill=(20, 60, 120))
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG", quality=80)
    content = jpeg.getvalue()
    exhibit = Exhibit(
        1,
        "Capture d’écran (sms-2021-09-01.jpg)",
        date(2021, 9, 1),
        sha256(content).hexdigest(),
        JPEG,
        lambda: content,
    )
    data = BundleData(
        case_title=INFO.case_title,
        court=INFO.court,
        chamber=INFO.chamber,
        court_case_number=INFO.court_case_number,
        procedure=INFO.procedure,
        counsel=INFO.counsel,
        reference="APHP-7KQ2-M9XD",
        party_number=1,
        civility="Mme",
        first_name="Élodie",
        last_name="Lefèvre-Durand",
        birth_date=date(1984, 6, 1),
        birth_place="Lyon",
        address_lines=["12 rue des Lilas", "75011 Paris"],
        statement="J’ai reçu des SMS frauduleux chaque semaine depuis la fuite de mes données.",
        heads=HEADS,
        exhibits=[exhibit],
        signature_name="Élodie Lefèvre-Durand",
        signed_at=datetime(2024, 5, 3, 12, 5, tzinfo=UTC),
        accepted_texts=[("Mandat de représentation", 3)],
        legal_aid=False,
    )
    out = io.BytesIO()
    pages = build_bundle(data, out)
    return out.getvalue(), pages, PackExhibit(exhibit.number, exhibit.title, exhibit.date, exhibit.sha256)


def _parties(count: int, bundle: bytes, exhibit: PackExhibit) -> Iterator[PackParty]:
    for number in range(1, count + 1):
        yield PackParty(
            number=number,
            name=f"Mme Élodie LEFÈVRE-DURAND {number}",
            city="Paris",
            reference=f"APHP-{number:06d}",
            heads=HEADS,
            bundle=lambda: io.BytesIO(bundle),
            exhibits=(exhibit,),
        )


def _write_pack(
    count: int, bundle: bytes, exhibit: PackExhibit, folder: Path, on_file: Callable[[str], None]
) -> dict[str, int]:
    """The three files, in ``_assemble``'s order; ``on_file(name)`` after each."""
    written = {}
    with (folder / "pack.pdf").open("wb") as out:
        written["pdf_pages"] = write_pack_pdf(INFO, _parties(count, bundle, exhibit), out)
    on_file("pdf")
    with (folder / "pack.zip").open("wb") as out:
        written["zip_members"] = write_pack_zip(INFO, _parties(count, bundle, exhibit), out)
    on_file("zip")
    with (folder / "pack.csv").open("w", encoding="utf-8", newline="") as out:
        written["csv_rows"] = write_pack_csv(INFO, _parties(count, bundle, exhibit), out)
    on_file("csv")
    return written


def _check_pack(folder: Path, count: int, written: dict[str, int]) -> None:
    """Read each file back: a broken or incomplete one ends the run."""
    import zipfile

    from pypdf import PdfReader

    reader = PdfReader(folder / "pack.pdf")
    if len(reader.pages) != written["pdf_pages"]:
        raise SystemExit(f"the pack has {len(reader.pages)} pages, {written['pdf_pages']} announced")
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    parties = reader.outline[-1] if count else []
    if "Index des pièces" not in titles or not isinstance(parties, list) or len(parties) != count:
        raise SystemExit("the pack's bookmarks do not match its parties")
    with zipfile.ZipFile(folder / "pack.zip") as archive:
        members = archive.infolist()
        if len(members) != count + 1 or written["zip_members"] != count + 1:
            raise SystemExit(f"the ZIP holds {len(members)} files for {count} parties")
        if count and archive.open(members[0]).read(5) != b"%PDF-":
            raise SystemExit("the ZIP's first bundle is not a PDF")
        listed = archive.read(members[-1]).decode("utf-8-sig").splitlines()
        if members[-1].filename != "liste.csv" or len(listed) != count + 1:
            raise SystemExit("the ZIP's list does not match its parties")
    with (folder / "pack.csv").open(encoding="utf-8-sig", newline="") as listing:
        rows = sum(1 for _ in csv.reader(listing, delimiter=";"))
    if rows != count + 1 or written["csv_rows"] != count:
        raise SystemExit(f"the CSV has {rows} lines for {count} parties")


def _traced_pack(count: int, bundle: bytes, exhibit: PackExhibit, folder: Path) -> dict[str, Any]:
    """The pack under tracemalloc: peak of the whole and of each file (MiB), what was written."""
    peaks: dict[str, float] = {}

    def on_file(name: str) -> None:
        peaks[name] = tracemalloc.get_traced_memory()[1] / MIB
        tracemalloc.reset_peak()

    tracemalloc.start()
    try:
        written = _write_pack(count, bundle, exhibit, folder, on_file)
    finally:
        tracemalloc.stop()
    _check_pack(folder, count, written)
    return {
        "peak_mib": max(peaks.values()),
        **{f"{name}_peak_mib": peak for name, peak in peaks.items()},
        **written,
    }


def _timed_pack(count: int, bundle: bytes, exhibit: PackExhibit, folder: Path) -> dict[str, float]:
    """The pack without tracemalloc: seconds of the whole and of each file."""
    marks = [time.perf_counter()]
    seconds: dict[str, float] = {}

    def on_file(name: str) -> None:
        marks.append(time.perf_counter())
        seconds[f"{name}_seconds"] = marks[-1] - marks[-2]

    written = _write_pack(count, bundle, exhibit, folder, on_file)
    total = marks[-1] - marks[0]
    _check_pack(folder, count, written)
    return {"seconds": total, **seconds}


def measure_pack(quick: bool) -> tuple[dict[str, Any], dict[str, float]]:
    """Figures and ratios of the filing pack at N/10 and N parties (see the module's docstring)."""
    large = 1000 if quick else 10_000
    small = large // 10
    bundle, bundle_pages, exhibit = _small_bundle()
    figures: dict[str, Any] = {
        "pack_parties_small": small,
        "pack_parties_large": large,
        "pack_bundle_pages": bundle_pages,
        "pack_bundle_kib": round(len(bundle) / 1024, 1),
    }
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="recours-bench-pack-") as tmp:
        folder = Path(tmp)
        _timed_pack(5, bundle, exhibit, folder)  # warm-up
        for label, count in (("small", small), ("large", large)):
            results[label] = _traced_pack(count, bundle, exhibit, folder)
            if label == "large":
                figures["pack_pdf_mib_large"] = round((folder / "pack.pdf").stat().st_size / MIB, 1)
                figures["pack_zip_mib_large"] = round((folder / "pack.zip").stat().st_size / MIB, 1)
        for label, count in (("small", small), ("large", large)):
            results[label].update(_timed_pack(count, bundle, exhibit, folder))
    for label in ("small", "large"):
        result = results[label]
        figures[f"pack_pdf_pages_{label}"] = result["pdf_pages"]
        for name in ("pdf", "zip", "csv"):
            figures[f"pack_{name}_seconds_{label}"] = round(result[f"{name}_seconds"], 2)
            figures[f"pack_{name}_peak_traced_mib_{label}"] = round(result[f"{name}_peak_mib"], 2)
        figures[f"pack_seconds_{label}"] = round(result["seconds"], 2)
        figures[f"pack_peak_traced_mib_{label}"] = round(result["peak_mib"], 2)
    figures["pack_parties_per_s_large"] = round(large / results["large"]["seconds"], 1)
    per_party = (results["large"]["seconds"] - results["small"]["seconds"]) / (large - small)
    figures["pack_ms_per_party"] = round(per_party * 1000, 2)
    figures["pack_fixed_seconds"] = round(results["small"]["seconds"] - small * per_party, 2)
    ratios = {
        "pack_time_10k_vs_1k": round(results["large"]["seconds"] / results["small"]["seconds"], 2),
        "pack_memory_10k_vs_1k": round(results["large"]["peak_mib"] / results["small"]["peak_mib"], 3),
    }
    return figures, ratios


# --- Celery: one worker, then two ----------------------------------------------------------


def _photo(seed: int, size: tuple[int, int]) -> bytes:
    """A phone photo of a screen or a letter: 12 megapixels, about 1.5 MB (as the bundle
    benchmark's typical claimant has)."""
    width, height = size
    rng = random.Random(seed)
    small = Image.frombytes(
        "RGB", (width // 64, height // 64), rng.randbytes(width // 64 * (height // 64) * 3)
    )
    image = small.resize(size, Image.Resampling.BICUBIC)
    image = Image.blend(image, Image.frombytes("RGB", size, rng.randbytes(width * height * 3)), 0.06)
    draw = ImageDraw.Draw(image)
    for row in range(14):
        top = height // 8 + row * height // 20
        right = width // 10 + (row % 5 + 4) * width // 10
        draw.rectangle((width // 10, top, right, top + height // 40), fill=(235, 235, 235))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _letter(pages: int = 2) -> bytes:
    """The data controller's letter, a small PDF."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    for page in range(1, pages + 1):
        canvas.setFont("Helvetica", 10)
        for line in range(44):
            text = f"Page {page}, ligne {line + 1} : vos donnees ont pu etre exposees."
            canvas.drawString(60, 760 - line * 15.5, text)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


_SENTENCES = (
    "J’ai reçu un courrier m’informant que mes données avaient été dérobées.",
    "Depuis, je reçois plusieurs SMS frauduleux par semaine qui imitent ma banque ou l’Assurance maladie.",
    "Un faux conseiller m’a appelé en connaissant mon numéro de sécurité sociale et mon adresse.",
    "J’ai dû faire opposition sur ma carte et changer mes mots de passe, ce qui m’a pris plusieurs jours.",
    "Je crains que mon résultat de test soit utilisé contre moi ou diffusé à mon employeur.",
    "Je dors mal depuis la fuite et je vérifie mes comptes chaque jour.",
)


def _statement(characters: int) -> str:
    """A claimant's statement of about ``characters`` characters, in paragraphs."""
    rng = random.Random(3)
    paragraphs: list[str] = []
    while sum(len(paragraph) + 2 for paragraph in paragraphs) < characters:
        paragraphs.append(" ".join(rng.choice(_SENTENCES) for _ in range(rng.randint(4, 9))))
    return "\n\n".join(paragraphs)


def _seed_filing(parties: int) -> tuple[int, uuid.UUID]:
    """A locked filing of ``parties`` accepted claims with their evidence: (filing id, lawyer id)."""
    from claims.accounts.models import Role, User, UserState
    from claims.accounts.passwords import hash_password
    from claims.cases.models import Case, CaseStatus, Procedure
    from claims.claimants.models import Claim, Claimant, ClaimHarm, ClaimStatus
    from claims.claimants.operations import generate_reference
    from claims.evidence.models import EvidenceKind
    from claims.evidence.operations import accept_evidence, make_derivative
    from claims.extensions import db
    from claims.filings.operations import add_claims, create_filing, lock_filing
    from claims.types import utcnow

    lawyer = User(
        email="avocate@cabinet.example",
        full_name="Claire Martin",
        role=Role.LAWYER,
        state=UserState.ACTIVE,
        password_hash=hash_password(uuid.uuid4().hex),
    )
    case = Case(
        slug="bench-celery",
        reference_prefix="BNCH",
        title="Fuite de données (banc d’essai)",
        data_controller="Responsable de traitement",
        procedure=Procedure.JOIN_INVESTIGATION,
        status=CaseStatus.OPEN,
        heads_of_damage=[
            {
                "code": "moral_harm",
                "label_fr": "Préjudice moral",
                "label_en": "Moral harm",
                "suggested_amount": "1500",
            },
            {
                "code": "time_lost",
                "label_fr": "Temps perdu",
                "label_en": "Time lost",
                "suggested_amount": "250",
            },
        ],
    )
    db.session.add_all([lawyer, case])
    db.session.commit()
    # The same three uploads for every claimant (each made into its derivative as intake does).
    uploads = [
        (EvidenceKind.PHISHING_MESSAGE, "sms.jpg", _photo(1, (4032, 3024))),
        (EvidenceKind.BREACH_NOTIFICATION, "courrier.jpg", _photo(2, (3024, 4032))),
        (EvidenceKind.OTHER, "courrier-aphp.pdf", _letter()),
    ]
    statement = _statement(STATEMENT_CHARACTERS)
    claims = []
    for number in range(1, parties + 1):
        claimant = Claimant(
            civility="Mme",
            first_name="Élodie",
            last_name=f"Lefèvre-Durand {number}",
            birth_date=date(1984, 3, 7),
            birth_place="Montreuil (93)",
            address_line1=f"{number}, rue de la Fontaine-au-Roi",
            postal_code="75011",
            city="Paris",
            country="France",
            email=f"claimant{number}@example.fr",
            phone="06 12 34 56 78",
        )
        claim = Claim(
            reference=generate_reference(case.reference_prefix),
            case=case,
            claimant=claimant,
            status=ClaimStatus.ACCEPTED,
            statement=statement,
            submitted_at=utcnow(),
            signature_name=f"Élodie Lefèvre-Durand {number}",
            signed_at=utcnow(),
        )
        claim.harms.append(ClaimHarm(head="moral_harm", amount=Decimal("1500.00")))
        claim.harms.append(ClaimHarm(head="time_lost", amount=Decimal("250.00")))
        db.session.add(claim)
        db.session.commit()
        for kind, name, content in uploads:
            make_derivative(accept_evidence(claim, io.BytesIO(content), kind=kind, filename=name))
        db.session.commit()
        claims.append(claim)
    filing = create_filing(
        case,
        court="Tribunal judiciaire de Paris",
        chamber="Pôle santé publique, juge d’instruction",
        court_case_number="JI 21/0042",
        procedure=Procedure.JOIN_INVESTIGATION,
        counsel="Me Claire Martin, avocate au barreau de Paris",
        actor=lawyer,
    )
    add_claims(filing, claims, actor=lawyer)
    lock_filing(filing, actor=lawyer)
    db.session.commit()
    return filing.id, lawyer.id


def _worker_environment(app: Any, redis_url: str, queue: str) -> dict[str, str]:
    """What a worker process needs to be the same app: database, keys, vault, runner and queue."""
    from claims.crypto.keys import KEY_FILE_NAME
    from claims.extensions import db

    instance = Path(app.instance_path)
    return {
        **os.environ,
        "RECOURS_ENV": "testing",
        "RECOURS_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "RECOURS_KEY_FILE": app.config.get("KEY_FILE") or str(instance / KEY_FILE_NAME),
        "RECOURS_VAULT_PATH": app.config.get("VAULT_PATH") or str(instance / "vault"),
        "RECOURS_JOBS_RUNNER": "celery",
        "RECOURS_CELERY_BROKER_URL": redis_url,
        "RECOURS_CELERY_QUEUE": queue,
    }


def _start_workers(
    app: Any, environment: dict[str, str], count: int, log: Path
) -> list[subprocess.Popen[bytes]]:
    """``count`` worker processes (solo pool: each runs one job at a time), answering a ping."""
    names = [f"recours-bench-{uuid.uuid4().hex[:8]}@localhost" for _ in range(count)]
    workers = []
    with log.open("ab") as output:
        for name in names:
            command = [sys.executable, "-m", "celery", "-A", "claims.jobs.worker", "worker", "--pool=solo",
                       f"--hostname={name}", "--without-heartbeat", "--without-gossip", "--without-mingle",
                       "--loglevel=WARNING"]  # fmt: skip
            workers.append(
                subprocess.Popen(
                    command, env=environment, cwd=ROOT, stdout=output, stderr=output, start_new_session=True
                )
            )
    control = app.extensions["celery"].control
    deadline = time.monotonic() + 120
    answered: set[str] = set()
    while len(answered) < count:
        if time.monotonic() > deadline or any(worker.poll() is not None for worker in workers):
            _stop_workers(workers)
            raise SystemExit(f"the Celery workers did not start (see {log})")
        for reply in control.ping(destination=names, timeout=0.5) or []:
            answered.update(reply)
    return workers


def _stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    """A warm shutdown (SIGTERM), then SIGKILL for one that has not ended within 30 s."""
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=30)


_SPIN = "total = 0\nfor number in range(8_000_000):\n    total += number * number % 7\n"


def _spin(processes: int) -> float:
    """Seconds for ``processes`` Python processes, started together, to run the same loop."""
    started = time.perf_counter()
    spinning = [subprocess.Popen([sys.executable, "-c", _SPIN]) for _ in range(processes)]
    for process in spinning:
        process.wait()
    return time.perf_counter() - started


# One process's share of the bundle builds: it says "ready" once warm, builds its bundles
# when told to, then says "done". The claimant is the bundle half's typical one.
_BUILD = """
import io, sys
from benchmarks.bundles import typical_claimant
from claims.documents.bundle import build_bundle
data = typical_claimant()
for _ in range(2):
    build_bundle(data, io.BytesIO())
print("ready", flush=True)
sys.stdin.readline()
for _ in range(int(sys.argv[1])):
    build_bundle(data, io.BytesIO())
print("done", flush=True)
"""


def _build_bundles(processes: int, bundles: int) -> float:
    """Seconds for ``processes`` warm processes, set off together, to build ``bundles`` between them."""
    command = [sys.executable, "-c", _BUILD, str(bundles // processes)]
    building = [
        subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]

    def said(process: subprocess.Popen[str]) -> str:
        return process.stdout.readline().strip() if process.stdout else ""

    try:
        if any(said(process) != "ready" for process in building):
            raise SystemExit("a bundle-building process did not start")
        started = time.perf_counter()
        for process in building:
            if process.stdin:
                process.stdin.write("go\n")
                process.stdin.flush()
        if any(said(process) != "done" for process in building):
            raise SystemExit("a bundle-building process failed")
        return time.perf_counter() - started
    finally:
        for process in building:
            process.kill()
            process.wait()


def _run_export(filing_id: int, lawyer_id: uuid.UUID) -> dict[str, float]:
    """Dispatch an export of the filing (a new generation) and wait for it: its phases, in seconds."""
    import sqlalchemy as sa

    from claims.accounts.models import User
    from claims.extensions import db
    from claims.filings.exports import start_export
    from claims.filings.models import Filing
    from claims.jobs.models import Job, JobStatus
    from claims.jobs.operations import dispatch

    job = start_export(db.session.get_one(Filing, filing_id), actor=db.session.get_one(User, lawyer_id))
    db.session.commit()
    job_id = job.id
    started = time.perf_counter()
    dispatched_at = datetime.now(UTC)
    dispatch(job)
    deadline = started + 1800
    while True:
        status = db.session.execute(sa.select(Job.status).where(Job.id == job_id)).scalar_one()
        db.session.rollback()  # a fresh snapshot at the next poll
        if status != JobStatus.RUNNING and status != JobStatus.QUEUED:
            break
        if time.perf_counter() > deadline:
            raise SystemExit("the export did not end within 30 minutes")
        time.sleep(0.02)
    total = time.perf_counter() - started
    if status != JobStatus.SUCCEEDED:
        raise SystemExit(f"the export ended {status.value}")

    def started_by_export(kind: str) -> list[Job]:
        return list(
            db.session.execute(
                sa.select(Job).where(Job.kind == kind, Job.params["export_job_id"].as_string() == str(job_id))
            ).scalars()
        )

    # The last pack job ends the export, then records its own end in a second commit: wait for it.
    while True:
        pack_jobs = started_by_export("filings.pack")
        if pack_jobs and all(job.finished_at is not None for job in pack_jobs):
            break
        if time.perf_counter() > deadline:
            raise SystemExit("the pack jobs did not record their end")
        db.session.rollback()
        time.sleep(0.02)
    bundle_jobs = started_by_export("filings.bundle")
    bundles_start = min(job.started_at for job in bundle_jobs if job.started_at)
    bundles_end = max(job.finished_at for job in bundle_jobs if job.finished_at)
    if any(job.started_at is None for job in pack_jobs):
        raise SystemExit("a pack job has no start time")
    phases = {
        "seconds": total,
        "fan_out_seconds": (bundles_start - dispatched_at).total_seconds(),
        "bundle_phase_seconds": (bundles_end - dispatched_at).total_seconds(),
        # The pack's three jobs (PDF, ZIP, CSV): from the first one's start to the last one's end.
        "pack_job_seconds": (
            max(job.finished_at for job in pack_jobs) - min(job.started_at for job in pack_jobs)
        ).total_seconds(),
        # Each of them on its own: the PDF, the ZIP, the CSV.
        **{
            f"pack_{job.params['part'].removeprefix('pack_')}_seconds": (
                job.finished_at - job.started_at
            ).total_seconds()
            for job in pack_jobs
        },
    }
    db.session.rollback()
    return phases


def measure_celery(quick: bool) -> tuple[dict[str, Any], dict[str, float]]:
    """Figures and ratio of one Celery worker against two (see the module's docstring)."""
    redis_url = os.environ.get("RECOURS_BENCH_REDIS_URL")
    if not redis_url:
        return {"celery": "skipped: RECOURS_BENCH_REDIS_URL not set"}, {}
    import redis

    from benchmarks._common import benchmark_app

    parties = 12 if quick else 40
    rounds = 1 if quick else 2
    queue = f"recours-bench-{uuid.uuid4().hex[:8]}"  # a queue of its own on the shared Redis
    runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    capacity: list[float] = []
    bundle_capacity: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="recours-bench-celery-") as tmp,
        benchmark_app(JOBS_RUNNER="celery", CELERY_BROKER_URL=redis_url, CELERY_QUEUE=queue) as app,
    ):
        seeding = time.perf_counter()
        filing_id, lawyer_id = _seed_filing(parties)
        seed_seconds = time.perf_counter() - seeding
        environment = _worker_environment(app, redis_url, queue)
        log = Path(tmp) / "workers.log"
        try:
            for _ in range(rounds):
                capacity.append(2 * _spin(1) / _spin(2))
                bundle_capacity += [_build_bundles(1, parties) / _build_bundles(2, parties) for _ in range(3)]
                for count in (1, 2):
                    workers = _start_workers(app, environment, count, log)
                    try:
                        runs[count].append(_run_export(filing_id, lawyer_id))
                    finally:
                        _stop_workers(workers)
        finally:
            client = redis.Redis.from_url(redis_url)
            client.delete(queue, f"{queue}:unacked", f"{queue}:unacked_index", f"{queue}:unacked_mutex",
                          f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")  # fmt: skip
            client.close()

    def median(count: int, name: str) -> float:
        return statistics.median(run[name] for run in runs[count])

    figures: dict[str, Any] = {
        "celery_parties": parties,
        "celery_pieces_per_party": 3,
        "celery_rounds": rounds,
        "celery_seed_seconds": round(seed_seconds, 1),
        "celery_database": "postgresql" if os.environ.get("RECOURS_BENCH_DATABASE_URL") else "sqlite",
        "cpu_count": os.cpu_count(),
    }
    for count in (1, 2):
        figures[f"celery_export_seconds_{count}w"] = round(median(count, "seconds"), 2)
        figures[f"celery_bundle_phase_seconds_{count}w"] = round(median(count, "bundle_phase_seconds"), 2)
        figures[f"celery_pack_job_seconds_{count}w"] = round(median(count, "pack_job_seconds"), 2)
        for part in ("pdf", "zip", "csv"):
            figures[f"celery_pack_{part}_seconds_{count}w"] = round(median(count, f"pack_{part}_seconds"), 2)
    figures["celery_bundle_phase_2_vs_1_speedup"] = round(
        median(1, "bundle_phase_seconds") / median(2, "bundle_phase_seconds"), 2
    )
    # Serial whatever the workers: the fan-out (until the first bundle job starts) and what
    # follows the last bundle (the pack's jobs, queued by it).
    total, bundles = median(1, "seconds"), median(1, "bundle_phase_seconds")
    serial = median(1, "fan_out_seconds") + total - bundles
    figures["celery_fan_out_seconds_1w"] = round(median(1, "fan_out_seconds"), 2)
    figures["celery_serial_share_1w"] = round(serial / total, 2)
    figures["celery_amdahl_bound_2w"] = round(total / (serial + (total - serial) / 2), 2)
    figures["machine_2_vs_1_cpu_speedup"] = round(statistics.median(capacity), 2)
    figures["machine_2_vs_1_bundle_speedup"] = round(statistics.median(bundle_capacity), 2)
    figures["load_average_1min"] = round(os.getloadavg()[0], 2)
    return figures, {"celery_2_vs_1_speedup": round(median(1, "seconds") / median(2, "seconds"), 2)}
