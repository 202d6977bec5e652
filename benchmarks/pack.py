"""The filing pack streams: one PDF of every civil party's bundle in flat memory.

Builds one small claimant bundle once (``build_bundle``: a JPEG exhibit, the
usual front matter) and feeds the same bytes as the bundle of every civil party
through ``write_pack_pdf`` into a temporary file, for N/10 then N parties
(N = 5,000; 200 with --quick), after a small warm-up run (fonts, templates, lazy
imports). Measures, in the same run:
* the peak Python memory (tracemalloc) of each run;
* the baseline: pypdf's ``PdfWriter`` appending the same bundle N/10 times and
  writing the result (what the pack would cost without its own writer: it holds
  every page until ``write``), its peak memory given among the figures;
* the time of the pack and of that baseline at N/10, without tracemalloc (it
  slows allocation-heavy code several times over).
The pack is read back (page count, bookmarks) so that a broken file fails the run.

Ratios:
  pack_peak_memory_large_vs_small   peak traced memory at N / peak at N/10 (flat: <= 2 while N grows 10x)
"""

from __future__ import annotations

import io
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from hashlib import sha256
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter

from benchmarks._common import parse_args, report
from claims.documents.bundle import JPEG, BundleData, Exhibit, HeadAmount, build_bundle
from claims.documents.pack import PackInfo, PackParty, write_pack_pdf

HEADS = [HeadAmount("Préjudice moral", Decimal("1500")), HeadAmount("Temps perdu", Decimal("250.50"))]
INFO = PackInfo(
    case_title="Fuite de données de l’AP-HP (2021)",
    court="Tribunal judiciaire de Paris",
    chamber="Cabinet de Mme X, juge d’instruction",
    court_case_number="JI 21/0042",
    procedure="join_investigation",
    counsel="Me Claire Martin, avocate au barreau de Paris",
    filing_id=1,
    locked_at=datetime(2024, 5, 3, 12, 5, tzinfo=UTC),
    snapshot_sha256="0" * 64,
)


def small_bundle() -> tuple[bytes, int]:
    image = Image.new("RGB", (800, 600), (240, 240, 235))
    ImageDraw.Draw(image).rectangle((40, 40, 760, 120), fill=(20, 60, 120))
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG", quality=80)
    content = jpeg.getvalue()
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
        exhibits=[
            Exhibit(
                1, "Capture d’écran", date(2021, 9, 1), sha256(content).hexdigest(), JPEG, lambda: content
            )
        ],
        signature_name="Élodie Lefèvre-Durand",
        signed_at=datetime(2024, 5, 3, 12, 5, tzinfo=UTC),
        accepted_texts=[("Mandat de représentation", 3)],
        legal_aid=False,
    )
    out = io.BytesIO()
    pages = build_bundle(data, out)
    return out.getvalue(), pages


def parties(count: int, bundle: bytes) -> Iterator[PackParty]:
    for number in range(1, count + 1):
        yield PackParty(
            number=number,
            name=f"Mme Élodie LEFÈVRE-DURAND {number}",
            city="Paris",
            reference=f"APHP-{number:06d}",
            heads=HEADS,
            bundle=lambda: io.BytesIO(bundle),
        )


def measure(run: Any) -> tuple[Any, int, float]:
    """What ``run()`` returns, its peak traced memory (bytes) and its time (seconds)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, peak, seconds


def pack(count: int, bundle: bytes, path: Path) -> int:
    with path.open("wb") as out:
        return write_pack_pdf(INFO, parties(count, bundle), out)


def pypdf_writer(count: int, bundle: bytes, path: Path) -> int:
    writer = PdfWriter()
    for _ in range(count):
        writer.append(PdfReader(io.BytesIO(bundle)))
    with path.open("wb") as out:
        writer.write(out)
    return len(writer.pages)


def check(path: Path, count: int, pages: int) -> None:
    reader = PdfReader(path)
    if len(reader.pages) != pages:
        raise SystemExit(f"the pack has {len(reader.pages)} pages, {pages} announced")
    bookmarks = reader.outline[-1]
    if not isinstance(bookmarks, list) or len(bookmarks) != count:
        raise SystemExit("the pack's bookmarks do not match its parties")


def main() -> None:
    args = parse_args(__doc__ or "")
    large = 200 if args.quick else 5000
    small = large // 10
    bundle, bundle_pages = small_bundle()
    with tempfile.TemporaryDirectory(prefix="recours-bench-") as tmp:
        folder = Path(tmp)
        pack(5, bundle, folder / "warm-up.pdf")
        pages_small, peak_small, _ = measure(lambda: pack(small, bundle, folder / "small.pdf"))
        check(folder / "small.pdf", small, pages_small)
        pages_large, peak_large, traced_seconds_large = measure(
            lambda: pack(large, bundle, folder / "large.pdf")
        )
        check(folder / "large.pdf", large, pages_large)
        size_large = (folder / "large.pdf").stat().st_size
        _, peak_writer, _ = measure(lambda: pypdf_writer(small, bundle, folder / "writer.pdf"))
        # tracemalloc slows allocation-heavy code several times over: times are taken apart.
        started = time.perf_counter()
        pack(small, bundle, folder / "small.pdf")
        seconds_small = time.perf_counter() - started
        started = time.perf_counter()
        pypdf_writer(small, bundle, folder / "writer.pdf")
        seconds_writer = time.perf_counter() - started

    report(
        "pack",
        {
            "bundle_pages": bundle_pages,
            "bundle_kib": round(len(bundle) / 1024, 1),
            "parties_small": small,
            "parties_large": large,
            "pack_pages_large": pages_large,
            "pack_mib_large": round(size_large / 2**20, 1),
            "pack_peak_traced_mib_small": round(peak_small / 2**20, 2),
            "pack_peak_traced_mib_large": round(peak_large / 2**20, 2),
            "pack_seconds_large_traced": round(traced_seconds_large, 2),
            "pack_seconds_small": round(seconds_small, 2),
            "pack_pages_per_s_small": round(pages_small / seconds_small, 1),
            "pypdf_writer_peak_traced_mib_small": round(peak_writer / 2**20, 2),
            "pypdf_writer_seconds_small": round(seconds_writer, 2),
            "pack_vs_pypdf_writer_peak_memory_small": round(peak_small / peak_writer, 3),
        },
        {"pack_peak_memory_large_vs_small": round(peak_large / peak_small, 3)},
    )


if __name__ == "__main__":
    main()
