"""The filing pack: every civil party of a filing as one PDF, a ZIP of their bundles, and a CSV.

Pure functions of plain values (``PackInfo``, ``PackParty``): no application,
no database. ``parties`` may be a generator over tens of thousands of civil
parties; each writer iterates it once, in party order, and memory stays flat
whatever their number:

* ``write_pack_pdf`` does not use pypdf's ``PdfWriter`` (it keeps every page
  until ``write``). It writes the PDF file itself, object by object: each
  bundle's pages and every object they reach are written to ``out`` at once
  under new object numbers, then the bundle is let go. A bundle (or a front
  document) in the simple form our own writers produce is copied as bytes,
  only its references renumbered (``rawpdf``: a half to a third of pypdf's time); any
  other file is read with pypdf's ``PdfReader``. What outlives a bundle: the
  byte offset of each object (spooled to a temporary file, 8 bytes an
  object), the page tree's intermediate nodes (one per ``PAGES_PER_GROUP``
  pages, written as soon as they are full), the bookmark of the previous
  party (a bookmark is written once its successor is known), one line per
  party for the list of civil parties and one per exhibit for the collective
  exhibit index, in temporary files sealed under a key that lives only in
  memory. The front pages (cover letter, list of civil parties,
  totals by head of damage, collective exhibit index) come first in the
  document but are drawn last, once the counts and the totals are known; the
  page tree puts them in front. The list and the index are drawn with
  fixed-height rows, a few pages at a time, so that their page counts are known
  before they are drawn and neither ever sits whole in memory.
* ``write_pack_zip`` streams each bundle into the archive (stored, not
  deflated: PDFs are compressed already), then ``liste.csv`` (sealed in a
  temporary file meanwhile). zipfile would keep a ``ZipInfo`` per member for
  the central directory until the end: each goes to a sealed temporary file
  as soon as its member is written, and comes back from it at the end.
* ``write_pack_csv`` writes one row per party, formula injection neutralised.

Names never appear in file names or in the PDF's metadata; every untrusted
text is escaped for reportlab's markup (``safe_para``) or drawn as plain text
(``drawable_text``). The output is deterministic: the same values give the same
bytes. The letter's prose lives here rather than in ``templates/documents``
(it cites no article); the procedure's name and the addressee come from the
bundle's templates.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re
import shutil
import struct
import tempfile
import zipfile
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from hashlib import sha256
from typing import IO, Any, BinaryIO, TextIO

from babel.numbers import format_decimal
from pypdf import PdfReader
from pypdf.generic import (
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
    StreamObject,
    TextStringObject,
)
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from ..cases.models import Procedure
from ..crypto.envelope import decrypt, encrypt, new_key
from ..review.reports import safe_cell
from ..text import visible_text
from . import FONT, FONT_BOLD, euros, register_fonts
from .bundle import (
    FIELD_LIMIT,
    GREY,
    INK,
    MARGIN,
    PARIS,
    RULE,
    SHADE,
    HeadAmount,
    _environment,
    _fields_table,
    _fit,
    _long_date,
    _moment,
    _styles,
    _width,
)
from .common import drawable_text, one_line, safe_para
from .rawpdf import RawPdf, Unsupported

# Leaves under one intermediate node of the page tree: readers find a page in
# two steps, and the writer holds at most this many page numbers at a time.
PAGES_PER_GROUP = 128
# The list of civil parties is drawn this many pages per reportlab document (each
# embeds its own subset of the font: a few tens of kilobytes in the file, for a
# canvas in memory that stays small).
LIST_PAGES_PER_CHUNK = 8
# A bookmark title keeps the party's name to this length.
BOOKMARK_NAME_LIMIT = 200
CSV_HEADER = ("N°", "Nom", "Commune", "Référence", "Total demandé")
LISTING_NAME = "liste.csv"
_COPY_CHUNK = 1024 * 1024
# A classic cross-reference table gives offsets in ten digits: past them, a stream.
CLASSIC_XREF_LIMIT = 10**10
_XREF_OFFSET_BYTES = 5


@dataclass(frozen=True)
class PackExhibit:
    """One exhibit of a civil party, as the collective exhibit index lists it."""

    number: int  # "Pièce n° N" within its party, frozen by the filing's lock
    title: str  # untrusted text (the kind's label and the claimant's file name)
    date: date
    sha256: str  # of the original file, as the lock snapshot froze it


@dataclass(frozen=True)
class PackParty:
    number: int  # civil party number (1..n, from the filing's lock)
    name: str  # "Mme Élodie LEFÈVRE-DURAND" (untrusted text)
    city: str
    reference: str
    heads: list[HeadAmount]
    bundle: Callable[[], BinaryIO]  # opens that party's bundle PDF; read, then closed by the writer
    # Its exhibits in number order, for the collective exhibit index (only the PDF reads them).
    exhibits: Sequence[PackExhibit] = ()


@dataclass(frozen=True)
class PackInfo:
    case_title: str
    court: str
    chamber: str
    court_case_number: str
    procedure: str  # one of Procedure's values
    counsel: str
    filing_id: int
    locked_at: datetime
    snapshot_sha256: str


def party_total(party: PackParty) -> Decimal:
    return sum((head.amount for head in party.heads), Decimal("0"))


def bookmark_title(party: PackParty) -> str:
    """The party's bookmark in the pack: ``n° 12 — Mme Élodie LEFÈVRE-DURAND``."""
    name = _line(party.name, BOOKMARK_NAME_LIMIT)
    return f"n° {party.number} — {name}" if name else f"n° {party.number}"


def _line(value: str, limit: int = FIELD_LIMIT) -> str:
    """Untrusted text on one line: line breaks and tabs become spaces, invisible characters go."""
    return one_line(visible_text(value, keep="\t\n\r\v\f"), limit)


def member_name(party: PackParty) -> str:
    """The bundle's name in the ZIP: number and reference, never the name (it shows in listings)."""
    reference = re.sub(r"[^A-Za-z0-9-]", "_", party.reference)[:40] or "sans-reference"
    return f"partie-civile-{party.number:05d}-{reference}.pdf"


def _in_order(parties: Iterable[PackParty]) -> Iterator[PackParty]:
    """The parties, checked to come in strictly increasing number (so each appears once)."""
    previous = 0
    for party in parties:
        if party.number <= previous:
            raise ValueError(f"civil party n° {party.number} out of order (after n° {previous})")
        previous = party.number
        yield party


class _SealedSpool(io.RawIOBase):
    """A temporary file that only ever holds ciphertext, under a key that never leaves memory.

    The list of civil parties waits in one until the bundles are through: names and
    cities of claimants, which must not lie on a disk in the clear (not even in a
    deleted temporary file a crash leaves behind). Written once, then read back in
    order; AES-256-GCM by blocks, each bound to its position.
    """

    BLOCK = 64 * 1024

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__()
        self._file = file
        self._key = new_key()
        self._pending = bytearray()
        self._blocks = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._pending += data
        if len(self._pending) >= self.BLOCK:
            self._seal()
        return len(data)

    def _seal(self) -> None:
        if self._pending:
            # No copy of the block but the ciphertext: this is the spool's peak in memory.
            blob = encrypt(self._key, self._pending, b"recours:pack-spool:%d" % self._blocks)
            self._file.write(struct.pack(">I", len(blob)))
            self._file.write(blob)
            self._blocks += 1
            self._pending.clear()

    def chunks(self) -> Iterator[bytes]:
        """Everything written, in order, a block at a time."""
        self._seal()
        self._file.seek(0)
        for index in range(self._blocks):
            (size,) = struct.unpack(">I", self._file.read(4))
            yield decrypt(self._key, self._file.read(size), b"recours:pack-spool:%d" % index)

    def lines(self) -> Iterator[bytes]:
        carry = b""
        for chunk in self.chunks():
            *complete, carry = (carry + chunk).split(b"\n")
            yield from complete
        if carry:
            yield carry


# --- CSV -----------------------------------------------------------------------------------


def _csv_amount(value: Decimal) -> str:
    # As the console's export: French spreadsheets read "1500,00" as a number.
    return f"{value:.2f}".replace(".", ",")


def _csv_row(party: PackParty) -> list[str]:
    return [
        str(party.number),
        safe_cell(_line(party.name)),
        safe_cell(_line(party.city)),
        safe_cell(_line(party.reference)),
        _csv_amount(party_total(party)),
    ]


def write_pack_csv(info: PackInfo, parties: Iterable[PackParty], out: TextIO) -> int:
    """The list of civil parties for a spreadsheet: ``;``, UTF-8 with a BOM; returns the rows written.

    ``out`` should be opened with ``newline=""`` (the rows end in CRLF, as RFC 4180
    says). The header is not counted.
    """
    del info  # the same signature as the other writers; the list holds no filing detail
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")
    writer.writerow(CSV_HEADER)
    rows = 0
    for party in _in_order(parties):
        writer.writerow(_csv_row(party))
        rows += 1
    out.flush()
    return rows


# --- ZIP -----------------------------------------------------------------------------------


def _zip_time(info: PackInfo) -> tuple[int, int, int, int, int, int]:
    local = _paris(info.locked_at)
    return (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)


# What the central directory needs of a member, besides its ``extra`` and ``comment`` bytes.
_ZIP_FIELDS = (
    "filename",
    "date_time",
    "compress_type",
    "create_system",
    "create_version",
    "extract_version",
    "reserved",
    "flag_bits",
    "volume",
    "internal_attr",
    "external_attr",
    "header_offset",
    "CRC",
    "compress_size",
    "file_size",
)


class _SpooledMembers:
    """The archive's list of members (``ZipFile.filelist``), each spooled once written.

    zipfile appends a ``ZipInfo`` to this list as each member is closed and reads the
    list back once, in ``close``, to write the central directory: a few hundred bytes
    a member in memory until then, megabytes for ten thousand parties. Here each one
    goes to a sealed temporary file at once (its name carries the claim's reference)
    and ``close`` gets them back one at a time. The archive is the same, byte for byte.
    """

    def __init__(self, spool: _SealedSpool) -> None:
        self._spool = spool
        self._count = 0

    def append(self, member: zipfile.ZipInfo) -> None:
        values = [getattr(member, name) for name in _ZIP_FIELDS]
        values += [member.extra.hex(), member.comment.hex()]
        self._spool.write(json.dumps(values, ensure_ascii=False).encode() + b"\n")
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[zipfile.ZipInfo]:
        for line in self._spool.lines():
            *values, extra, comment = json.loads(line)
            member = zipfile.ZipInfo(values[0], tuple(values[1]))
            for name, value in zip(_ZIP_FIELDS[2:], values[2:], strict=True):
                setattr(member, name, value)
            member.extra = bytes.fromhex(extra)
            member.comment = bytes.fromhex(comment)
            yield member


class _Unindexed(dict[str, zipfile.ZipInfo]):
    """``ZipFile.NameToInfo`` that keeps nothing: members are only written, never looked up.

    (zipfile looks a name up to warn of a duplicate: ``_in_order`` already rules them out.)
    """

    def __setitem__(self, name: str, member: zipfile.ZipInfo) -> None:
        pass


def write_pack_zip(info: PackInfo, parties: Iterable[PackParty], out: BinaryIO) -> int:
    """A ZIP of every bundle (``partie-civile-00012-APHP-7KQ2-M9XD.pdf``) and ``liste.csv``.

    Streams: ``out`` need not be seekable, each bundle is copied by chunks and the
    CSV waits in a temporary file until the bundles are in; so do the members'
    entries of the central directory. Returns the number of files in the archive.
    """
    stamp = _zip_time(info)

    def entry(name: str) -> zipfile.ZipInfo:
        member = zipfile.ZipInfo(name, date_time=stamp)
        member.compress_type = zipfile.ZIP_STORED
        member.external_attr = 0o644 << 16
        return member

    with (
        tempfile.TemporaryFile() as listing_file,
        tempfile.TemporaryFile() as members_file,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive,
    ):
        archive.filelist = _SpooledMembers(_SealedSpool(members_file))  # type: ignore[assignment]
        archive.NameToInfo = _Unindexed()
        spool = _SealedSpool(listing_file)

        def archived() -> Iterator[PackParty]:
            for party in _in_order(parties):  # before the bundle goes in: no member twice
                with (
                    contextlib.closing(party.bundle()) as source,
                    archive.open(entry(member_name(party)), "w") as target,
                ):
                    shutil.copyfileobj(source, target, _COPY_CHUNK)
                yield party

        listing = io.TextIOWrapper(io.BufferedWriter(spool), encoding="utf-8", newline="")
        # write_pack_csv drives the iteration: each party is archived, then listed.
        rows = write_pack_csv(info, archived(), listing)
        listing.flush()
        with archive.open(entry(LISTING_NAME), "w") as target:
            for chunk in spool.chunks():
                target.write(chunk)
        listing.close()
    out.flush()
    return rows + 1


# --- PDF: the low-level writer -------------------------------------------------------------


class _Offsets:
    """Byte offset of each object number, spooled to a temporary file a block at a time.

    Objects are written almost in the order of their numbers, so the block in memory
    is nearly always the right one.
    """

    BLOCK = 4096

    def __init__(self, spool: IO[bytes]) -> None:
        self._file = spool
        self._index = 0
        self._block = array("Q", bytes(8 * self.BLOCK))

    def set(self, number: int, offset: int) -> None:
        index, slot = divmod(number, self.BLOCK)
        if index != self._index:
            self._load(index)
        self._block[slot] = offset

    def _load(self, index: int) -> None:
        self._file.seek(self._index * self.BLOCK * 8)
        self._file.write(self._block.tobytes())
        self._file.seek(index * self.BLOCK * 8)
        data = self._file.read(self.BLOCK * 8)
        self._block = array("Q", data + bytes(self.BLOCK * 8 - len(data)))
        self._index = index

    def all(self, size: int) -> Iterator[int]:
        """The offsets of objects 0 .. size - 1 (0: never written)."""
        self._load(0)
        self._file.seek(0)
        for start in range(0, size, self.BLOCK):
            data = self._file.read(self.BLOCK * 8)
            block = array("Q", data + bytes(self.BLOCK * 8 - len(data)))
            yield from block[: min(self.BLOCK, size - start)]


@dataclass(frozen=True)
class _Ref:
    """A reference already in the output's numbering."""

    number: int


class _PdfFile:
    """A PDF written front to back: objects as they come, the cross-reference table last."""

    def __init__(self, out: BinaryIO, offsets: _Offsets) -> None:
        self._out = out
        self.position = 0
        self._next = 1
        self._offsets = offsets
        self.failed = False

    def write(self, data: bytes) -> None:
        try:
            self._out.write(data)
        except BaseException:
            self.failed = True  # the output's failure, not a bundle's: not to be taken for one
            raise
        self.position += len(data)

    def reserve(self) -> int:
        number = self._next
        self._next += 1
        return number

    def object(self, number: int, body: bytes, stream: bytes | None = None) -> None:
        self._offsets.set(number, self.position)
        self.write(b"%d 0 obj\n" % number + body)
        if stream is not None:
            self.write(b"\nstream\n")
            self.write(stream)
            self.write(b"\nendstream")
        self.write(b"\nendobj\n")

    def dictionary(self, number: int, entries: dict[str, Any]) -> None:
        self.object(number, _serialise(entries, _no_remap))

    def finish(self, root: int, info: int, file_id: bytes) -> None:
        """The cross-reference table and the trailer: a classic table while every offset fits
        its ten digits, a cross-reference stream (PDF 1.5) beyond 10 GB."""
        identifier = file_id.hex().encode()
        trailer = b"/Root %d 0 R /Info %d 0 R /ID [<%s> <%s>]" % (root, info, identifier, identifier)
        start = self.position
        if start < CLASSIC_XREF_LIMIT:
            size = self._next
            self.write(b"xref\n0 %d\n0000000000 65535 f\r\n" % size)
            self._entries(size, lambda offset: b"%010d 00000 n\r\n" % offset)
            self.write(b"trailer\n<< /Size %d %s >>\n" % (size, trailer))
        else:
            number = self.reserve()  # the stream lists itself
            size = self._next
            self._offsets.set(number, start)
            width = 1 + _XREF_OFFSET_BYTES + 2
            self.write(
                b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 %d 2] %s /Length %d >>\nstream\n"
                % (number, size, _XREF_OFFSET_BYTES, trailer, size * width)
            )
            self.write(b"\x00" + bytes(_XREF_OFFSET_BYTES) + b"\xff\xff")
            self._entries(
                size, lambda offset: b"\x01" + offset.to_bytes(_XREF_OFFSET_BYTES, "big") + b"\x00\x00"
            )
            self.write(b"\nendstream\nendobj\n")
        self.write(b"startxref\n%d\n%%%%EOF\n" % start)

    def _entries(self, size: int, entry: Callable[[int], bytes]) -> None:
        """One entry per object from 1 on, written a thousand at a time."""
        batch: list[bytes] = []
        for number, offset in enumerate(self._offsets.all(size)):
            if number == 0:
                continue
            if offset == 0:
                raise RuntimeError(f"object {number} was reserved but never written")
            batch.append(entry(offset))
            if len(batch) == 1024:
                self.write(b"".join(batch))
                batch.clear()
        self.write(b"".join(batch))


def _no_remap(reference: IndirectObject) -> int | None:
    raise ValueError("unexpected reference")


def _serialise(value: Any, remap: Callable[[IndirectObject], int | None]) -> bytes:
    buffer = io.BytesIO()
    _write_value(value, buffer, remap)
    return buffer.getvalue()


# Names as written (``/Type``, ``/Font``…): a few dozen kinds make most of a document's
# objects, and pypdf encodes a name character by character. Bounded (a bundle's merged
# exhibits may bring names of their own) and emptied after each pack (``_names_cached``).
_NAMES: dict[str, bytes] = {}
_NAMES_LIMIT = 4096


@contextlib.contextmanager
def _names_cached() -> Iterator[None]:
    try:
        yield
    finally:
        _NAMES.clear()


def _name(name: str) -> bytes:
    encoded = _NAMES.get(name)
    if encoded is None:
        buffer = io.BytesIO()
        NameObject(name).write_to_stream(buffer)
        encoded = buffer.getvalue()
        if len(_NAMES) < _NAMES_LIMIT:
            _NAMES[name] = encoded
    return encoded


def _write_value(value: Any, out: io.BytesIO, remap: Callable[[IndirectObject], int | None]) -> None:
    """Write a pypdf value with its references renumbered (``null`` for one left out)."""
    if isinstance(value, _Ref):
        out.write(b"%d 0 R" % value.number)
    elif isinstance(value, IndirectObject):
        number = remap(value)
        out.write(b"null" if number is None else b"%d 0 R" % number)
    elif isinstance(value, NameObject):
        out.write(_name(value))
    elif isinstance(value, dict):  # DictionaryObject, or a plain dict of the writer's own
        out.write(b"<<")
        for key, item in value.items():
            out.write(_name(key))
            out.write(b" ")
            _write_value(item, out, remap)
            out.write(b" ")
        out.write(b">>")
    elif isinstance(value, list):  # ArrayObject, or a plain list
        out.write(b"[")
        for index, item in enumerate(value):
            if index:
                out.write(b" ")
            _write_value(item, out, remap)
        out.write(b"]")
    elif isinstance(value, PdfObject):
        value.write_to_stream(out)
    elif isinstance(value, bool):
        out.write(b"true" if value else b"false")
    elif isinstance(value, int):
        out.write(b"%d" % value)
    elif isinstance(value, str):
        TextStringObject(value).write_to_stream(out)
    elif value is None:
        out.write(b"null")
    else:
        raise TypeError(f"cannot write {type(value).__name__}")


class _PageRun:
    """Pages in document order, under intermediate nodes of ``PAGES_PER_GROUP`` leaves."""

    def __init__(self, pdf: _PdfFile, root: int) -> None:
        self._pdf = pdf
        self._root = root
        self.groups: list[tuple[int, int]] = []  # (node, leaves)
        self.count = 0
        self._node: int | None = None
        self._kids: list[int] = []

    def add(self) -> tuple[int, int]:
        """A new page: its object number and its parent's."""
        if self._node is None:
            self._node = self._pdf.reserve()
        node = self._node
        page = self._pdf.reserve()
        self._kids.append(page)
        self.count += 1
        if len(self._kids) == PAGES_PER_GROUP:
            self.finish()
        return page, node

    def finish(self) -> None:
        if self._node is None:
            return
        self._pdf.dictionary(
            self._node,
            {
                "/Type": NameObject("/Pages"),
                "/Parent": _Ref(self._root),
                "/Kids": [_Ref(kid) for kid in self._kids],
                "/Count": len(self._kids),
            },
        )
        self.groups.append((self._node, len(self._kids)))
        self._node = None
        self._kids = []


_DROPPED_PAGE_KEYS = {"/Parent", "/B"}  # the source's page tree; its article threads


def _copy_pages(pdf: _PdfFile, reader: PdfReader, run: _PageRun) -> list[int]:
    """Write the reader's pages, and every object they reach, to the output; return their numbers.

    The walk leaves out each page's ``/Parent`` (the page joins the output's tree)
    and anything that would drag the source's whole document along (its catalog,
    its page tree nodes): such a reference becomes ``null``.
    """
    if reader.is_encrypted:
        raise ValueError("encrypted PDF")
    mapping: dict[tuple[int, int], int] = {}
    queue: deque[tuple[IndirectObject, int]] = deque()

    def remap(reference: IndirectObject) -> int | None:
        key = (reference.idnum, reference.generation)
        number = mapping.get(key)
        if number is None:
            target = reference.get_object()
            if isinstance(target, DictionaryObject) and target.get("/Type") in ("/Pages", "/Catalog"):
                return None
            number = pdf.reserve()
            mapping[key] = number
            queue.append((reference, number))
        return number

    pages = []
    for page in reader.pages:
        number, parent = run.add()
        source = page.indirect_reference
        if source is not None:
            key = (source.idnum, source.generation)
            if key in mapping:
                raise ValueError("a page appears twice in the page tree")
            mapping[key] = number
        pages.append((page, number, parent))
    for page, number, parent in pages:
        entries: dict[str, Any] = {key: value for key, value in page.items() if key not in _DROPPED_PAGE_KEYS}
        entries["/Parent"] = _Ref(parent)
        pdf.object(number, _serialise(entries, remap))
    numbers = [number for _, number, _ in pages]
    del pages
    while queue:
        reference, number = queue.popleft()
        target = reference.get_object()
        if isinstance(target, StreamObject):
            data = target._data  # the encoded bytes, as they are: no decoding, no re-encoding
            entries = {key: value for key, value in target.items() if key != "/Length"}
            entries["/Length"] = len(data)
            pdf.object(number, _serialise(entries, remap), stream=data)
        else:
            pdf.object(number, _serialise(target, remap))
    return numbers


_DROPPED_PAGE_KEYS_RAW = frozenset(key.encode() for key in _DROPPED_PAGE_KEYS)


def _copy_raw(pdf: _PdfFile, data: bytes, run: _PageRun) -> list[int] | None:
    """``_copy_pages`` without pypdf, for a file in the simple form our writers produce
    (``rawpdf``): the objects' bytes as they are, only their references renumbered. None
    (nothing written) for any other file."""
    try:
        raw = RawPdf(data)
        pages = raw.pages()
        objects, _ = raw.reachable(pages, _DROPPED_PAGE_KEYS_RAW)
    except Unsupported:
        return None
    # Every object parsed: from here on, only writes. A reference to a page tree or a
    # catalog (not in ``numbers``) becomes null, as in ``_copy_pages``.
    numbers: dict[int, int] = {}
    placed = []
    for page in pages:
        number, parent = run.add()
        numbers[page] = number
        placed.append((page, number, parent))
    for target in objects:
        numbers[target] = pdf.reserve()
    for page, number, parent in placed:
        body = raw.body(page, numbers.get, dropped=_DROPPED_PAGE_KEYS_RAW, extra=b"/Parent %d 0 R" % parent)
        pdf.object(number, body)
    for target in objects:
        pdf.object(numbers[target], raw.body(target, numbers.get), stream=raw.stream(target))
    return [number for _, number, _ in placed]


def _copy_any(pdf: _PdfFile, data: bytes, run: _PageRun) -> list[int]:
    """A file's pages: the raw copy when it can, else through pypdf."""
    numbers = _copy_raw(pdf, data, run)
    if numbers is None:
        with _reading(io.BytesIO(data)) as reader:
            numbers = _copy_pages(pdf, reader, run)
    return numbers


def _read_all(source: IO[bytes]) -> bytes:
    """A bundle's bytes, in memory: never in a temporary file (a bundle is personal data,
    never left on a disk in the clear). One bundle at a time, so memory still does not grow
    with the number of parties."""
    return source.getvalue() if isinstance(source, io.BytesIO) else source.read()


def _copy_bundle(pdf: _PdfFile, party: PackParty, run: _PageRun) -> list[int]:
    # Storage errors (opening, reading a stream) propagate as they are; parsing errors name the party.
    with contextlib.closing(party.bundle()) as source:
        data = _read_all(source)
        try:
            numbers = _copy_any(pdf, data, run)
        except Exception as error:
            if pdf.failed:
                raise
            raise ValueError(
                f"the bundle of civil party n° {party.number} cannot be read: {error}"
            ) from error
    if not numbers:
        raise ValueError(f"the bundle of civil party n° {party.number} has no page")
    return numbers


def _copy_document(pdf: _PdfFile, content: bytes, run: _PageRun) -> list[int]:
    return _copy_any(pdf, content, run)


@contextlib.contextmanager
def _reading(source: IO[bytes]) -> Iterator[PdfReader]:
    """A reader whose memory goes as soon as it is done with, not at the next full collection.

    Everything a reader parsed refers back to it (``IndirectObject.pdf``): a cycle per
    bundle, which only the cyclic garbage collector would reclaim, late and bundle after
    bundle. ``close()`` empties the reader's caches but keeps its validated catalog (and
    so a cycle); dropping every attribute breaks them all.
    """
    reader = PdfReader(source, strict=False)
    try:
        yield reader
    finally:
        reader.close()
        vars(reader).clear()


@dataclass(frozen=True)
class _Bookmarks:
    """The parties' bookmarks once written: their parent's number, the first and last, how many."""

    node: int
    first: int
    last: int
    first_page: int
    count: int


class _PartyOutline:
    """The parties' bookmarks, each written once the next one (its /Next) is known."""

    def __init__(self, pdf: _PdfFile) -> None:
        self._pdf = pdf
        self._node = 0  # "Parties civiles", their parent: reserved with the first party
        self._first = self._first_page = self._count = 0
        self._pending: tuple[int, int, str, int] | None = None  # number, previous (0: none), title, page

    def add(self, title: str, page: int) -> None:
        if not self._node:
            self._node = self._pdf.reserve()
            self._first_page = page
        number = self._pdf.reserve()
        previous = 0
        if self._pending is not None:
            self._write(*self._pending, following=number)
            previous = self._pending[0]
        self._pending = (number, previous, title, page)
        self._first = self._first or number
        self._count += 1

    def finish(self) -> _Bookmarks | None:
        if self._pending is None:
            return None
        last = self._pending[0]
        self._write(*self._pending, following=0)
        self._pending = None
        return _Bookmarks(self._node, self._first, last, self._first_page, self._count)

    def _write(self, number: int, previous: int, title: str, page: int, following: int) -> None:
        entries: dict[str, Any] = {"/Title": TextStringObject(title), "/Parent": _Ref(self._node)}
        if previous:
            entries["/Prev"] = _Ref(previous)
        if following:
            entries["/Next"] = _Ref(following)
        entries["/Dest"] = [_Ref(page), NameObject("/Fit")]
        self._pdf.dictionary(number, entries)


def _write_outlines(
    pdf: _PdfFile, sections: list[tuple[str, int]], parties: _Bookmarks | None, heading: str
) -> int:
    """The outline root: the front sections, then "Parties civiles" (closed) over one bookmark a party."""
    root = pdf.reserve()
    items = [(pdf.reserve(), title, page) for title, page in sections]
    if parties is not None:
        items.append((parties.node, heading, parties.first_page))
    for index, (number, title, page) in enumerate(items):
        entries: dict[str, Any] = {"/Title": TextStringObject(title), "/Parent": _Ref(root)}
        if index:
            entries["/Prev"] = _Ref(items[index - 1][0])
        if index + 1 < len(items):
            entries["/Next"] = _Ref(items[index + 1][0])
        entries["/Dest"] = [_Ref(page), NameObject("/Fit")]
        if parties is not None and number == parties.node:
            entries["/First"] = _Ref(parties.first)
            entries["/Last"] = _Ref(parties.last)
            entries["/Count"] = -parties.count  # closed: ten thousand entries would bury the sections
        pdf.dictionary(number, entries)
    root_entries: dict[str, Any] = {"/Type": NameObject("/Outlines"), "/Count": len(items)}
    if items:
        root_entries["/First"] = _Ref(items[0][0])
        root_entries["/Last"] = _Ref(items[-1][0])
    pdf.dictionary(root, root_entries)
    return root


# --- PDF: the front pages ------------------------------------------------------------------


@dataclass
class _Summary:
    """What the front pages need once every party went by."""

    parties: int = 0
    bundle_pages: int = 0
    exhibits: int = 0
    grand_total: Decimal = Decimal("0")
    # Head label -> (parties claiming it, amount). Labels are the case's heads of
    # damage: a handful, whatever the number of parties.
    heads: dict[str, tuple[int, Decimal]] = field(default_factory=dict)

    def add(self, party: PackParty, pages: int) -> Decimal:
        total = Decimal("0")
        for head in party.heads:
            count, amount = self.heads.get(head.label, (0, Decimal("0")))
            self.heads[head.label] = (count + 1, amount + head.amount)
            total += head.amount
        self.parties += 1
        self.bundle_pages += pages
        self.exhibits += len(party.exhibits)
        self.grand_total += total
        return total


@dataclass(frozen=True)
class _Footer:
    left: str
    total: int

    def draw(self, canvas: Canvas, number: int) -> None:
        """As the bundle's own pages: a rule, the filing on the left, "page X / Y" on the right."""
        width = A4[0]
        size = 7.5
        baseline = 9 * mm
        right = f"page {number} / {self.total}"
        right_width = stringWidth(right, FONT, size)
        left = _fit(self.left, FONT, size, width - 2 * MARGIN - right_width - 8)
        canvas.saveState()
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.4)
        canvas.line(MARGIN, baseline + size + 2 * mm, width - MARGIN, baseline + size + 2 * mm)
        canvas.setFillColor(GREY)
        canvas.setFont(FONT, size)
        canvas.drawString(MARGIN, baseline, left)
        canvas.drawRightString(width - MARGIN, baseline, right)
        canvas.restoreState()


def _footer_text(info: PackInfo) -> str:
    return drawable_text(f"Dépôt collectif n° {info.filing_id} — {one_line(info.case_title, FIELD_LIMIT)}")


def _document(out: io.BytesIO, footer: _Footer | None, first_page: int) -> BaseDocTemplate:
    """The bundle's page layout, with the pack's footer numbered from ``first_page``."""
    doc = BaseDocTemplate(out, pagesize=A4, invariant=1, title="", author="", subject="", creator="")
    frame = Frame(
        MARGIN, 20 * mm, A4[0] - 2 * MARGIN, A4[1] - 40 * mm, leftPadding=0, rightPadding=0, id="body"
    )

    def on_page(canvas: Canvas, _: BaseDocTemplate) -> None:
        if footer is not None:
            footer.draw(canvas, first_page + canvas.getPageNumber() - 1)

    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page)])
    return doc


def _render(story: list[Flowable], footer: _Footer | None, first_page: int) -> tuple[bytes, int]:
    out = io.BytesIO()
    doc = _document(out, footer, first_page)
    doc.build(story)
    return out.getvalue(), doc.page


def _count(value: int) -> str:
    return format_decimal(value, locale="fr_FR")


def _parties(count: int, singular: str = "", plural: str = "") -> str:
    """``1 partie civile``, ``12 parties civiles`` (French keeps 0 and 1 singular), after an article."""
    article = (singular if count <= 1 else plural) + " " if singular or plural else ""
    return f"{article}{_count(count)} {'partie civile' if count <= 1 else 'parties civiles'}"


def _paris(when: datetime) -> datetime:
    # A naive datetime is UTC, as the database stores it.
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(PARIS)


@dataclass(frozen=True)
class _ProcedureWording:
    label: str
    addressee: str


def _procedure_wording(info: PackInfo) -> _ProcedureWording:
    """The procedure's name and the addressee, from the bundle's templates (no party needed)."""
    template = _environment().get_template(f"documents/constitution_{info.procedure}.txt")
    module = template.make_module(
        {
            "party": "",
            "civility": "",
            "first_name": "",
            "last_name": "",
            "court": one_line(info.court, FIELD_LIMIT),
            "chamber": one_line(info.chamber, FIELD_LIMIT),
            "court_case_number": one_line(info.court_case_number, FIELD_LIMIT),
            "counsel": one_line(info.counsel, FIELD_LIMIT),
            "case_title": one_line(info.case_title, FIELD_LIMIT),
            "reference": "",
            "party_number": 0,
            "legal_aid": False,
        }
    )
    return _ProcedureWording(label=str(module.label).strip(), addressee=str(module.addressee).strip())


@dataclass(frozen=True)
class _Layout:
    """Where each part of the pack starts (pack page numbers, from 1)."""

    cover_pages: int
    list_pages: int
    totals_pages: int
    index_pages: int
    bundle_pages: int

    @property
    def front_pages(self) -> int:
        return self.cover_pages + self.list_pages + self.totals_pages + self.index_pages

    @property
    def total(self) -> int:
        return self.front_pages + self.bundle_pages

    @property
    def list_start(self) -> int:
        return self.cover_pages + 1

    @property
    def totals_start(self) -> int:
        return self.cover_pages + self.list_pages + 1

    @property
    def index_start(self) -> int:
        return self.totals_start + self.totals_pages


def _cover(info: PackInfo, wording: _ProcedureWording, summary: _Summary, layout: _Layout) -> list[Flowable]:
    styles = _styles()
    right = ParagraphStyle("right", parent=styles["addressee"], leftIndent=78 * mm)
    counsel_name = one_line(info.counsel, FIELD_LIMIT)
    chamber = one_line(info.chamber, FIELD_LIMIT)
    n = summary.parties
    constitutions = "constitution de partie civile" if n == 1 else "constitutions de partie civile"
    rows = [
        ("Affaire", one_line(info.case_title, FIELD_LIMIT)),
        ("Juridiction", one_line(info.court, FIELD_LIMIT)),
    ]
    if chamber:
        rows.append(("Cabinet / chambre", chamber))
    rows += [
        ("N° de l’affaire", one_line(info.court_case_number, FIELD_LIMIT) or "(numéro à venir)"),
        ("Avocat", counsel_name or "(non désigné)"),
        ("Dépôt", f"n° {info.filing_id}, liste arrêtée le {_moment(info.locked_at)}"),
    ]
    if n:
        first_bundle = layout.front_pages + 1
        contents = [
            f"la liste des {_count(n)} parties civiles, avec la page où commence le dossier de chacune "
            f"(page {layout.list_start}) ;"
            if n > 1
            else f"la liste des parties civiles (page {layout.list_start}) ;",
            f"les totaux des demandes par chef de préjudice (page {layout.totals_start}) ;",
            f"l’index collectif des pièces, avec l’empreinte SHA-256 de chacune (page {layout.index_start}) ;",
            f"le dossier de chaque partie civile, dans l’ordre de la liste (pages {first_bundle} "
            f"à {layout.total}) : sa constitution, son exposé des faits, ses demandes chiffrées, "
            "le bordereau de ses pièces, les pièces elles-mêmes et son mandat.",
        ]
        body = [
            "Madame, Monsieur,",
            f"Nous avons l’honneur de vous adresser {_count(n)} {constitutions}, formée"
            f"{'s' if n > 1 else ''} pour le compte des personnes dont la liste figure ci-après, "
            f"selon la procédure suivante : {wording.label}.",
            "Chaque partie civile porte le numéro qui lui a été attribué dans la liste arrêtée le "
            f"{_long_date(_paris(info.locked_at).date())} ; ce numéro figure sur chacune des pages de son dossier "
            "et sur chacune de ses pièces, numérotées de façon continue.",
            f"Le montant total des sommes demandées s’élève à {euros(summary.grand_total)} ; "
            "son détail par chef de préjudice figure ci-après.",
            "Le présent dossier comprend, après la présente lettre :",
        ]
    else:
        contents = []
        body = ["Madame, Monsieur,", "Aucune partie civile ne figure dans la liste arrêtée pour ce dépôt."]
    signature = (
        f"Pour les parties civiles, leur conseil : {counsel_name}"
        if counsel_name
        else "Pour les parties civiles, leur conseil."
    )
    digest = safe_para(one_line(info.snapshot_sha256, 128))
    return [
        Paragraph(safe_para(counsel_name), styles["small"]),
        Spacer(1, 8 * mm),
        Paragraph(safe_para(wording.addressee), right),
        Spacer(1, 8 * mm),
        Paragraph(
            f"<b>Objet :</b> dépôt de {_count(n)} {constitutions} — {safe_para(one_line(info.case_title, FIELD_LIMIT))}",
            styles["text"],
        ),
        _fields_table(rows),
        Paragraph(f"Empreinte SHA-256 de la liste arrêtée : {digest}", styles["small"]),
        Spacer(1, 6 * mm),
        *(Paragraph(safe_para(text), styles["text"]) for text in body),
        *(Paragraph(safe_para(text), styles["bullet"], bulletText="•") for text in contents),
        Spacer(1, 3 * mm),
        Paragraph(
            "Nous vous prions d’agréer, Madame, Monsieur, l’expression de notre haute considération.",
            styles["text"],
        ),
        Spacer(1, 5 * mm),
        Paragraph(safe_para(signature), right),
    ]


def _totals(info: PackInfo, summary: _Summary) -> list[Flowable]:
    styles = _styles()
    count_width, amount_width = 30 * mm, 42 * mm
    rows: list[list[object]] = [
        [Paragraph("Chef de préjudice", styles["label"]), "Parties civiles", "Montant demandé"]
    ]
    rows += [
        [Paragraph(safe_para(one_line(label, FIELD_LIMIT)), styles["cell"]), _count(count), euros(amount)]
        for label, (count, amount) in summary.heads.items()
    ]
    rows.append(
        [
            Paragraph("Total des demandes", styles["label"]),
            _count(summary.parties),
            euros(summary.grand_total),
        ]
    )
    table = Table(
        rows,
        colWidths=[_width() - count_width - amount_width, count_width, amount_width],
        repeatRows=1,
        splitInRow=1,
    )
    # Amounts are plain strings, as in the bundle: a Paragraph would break "1 234,50 €".
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (1, 1), (-1, -2), FONT),
                ("FONTNAME", (1, 0), (-1, 0), FONT_BOLD),
                ("FONTNAME", (1, -1), (-1, -1), FONT_BOLD),
                ("FONTSIZE", (1, 0), (-1, -1), 9.5),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                ("BACKGROUND", (0, -1), (-1, -1), SHADE),
                ("BOX", (0, 0), (-1, -1), 0.6, RULE),
                ("INNERGRID", (0, 0), (-1, -1), 0.4, RULE),
                ("LINEABOVE", (0, -1), (-1, -1), 1, INK),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return [
        Paragraph("TOTAUX PAR CHEF DE PRÉJUDICE", styles["title"]),
        Spacer(1, 3 * mm),
        Paragraph(safe_para(one_line(info.case_title, FIELD_LIMIT)), styles["subtitle"]),
        Spacer(1, 8 * mm),
        Paragraph(
            f"Sommes demandées par {_parties(summary.parties, 'la', 'les')} du dépôt, par chef de "
            "préjudice ; la colonne « Parties civiles » compte celles qui présentent une demande à ce titre.",
            styles["text"],
        ),
        Spacer(1, 2 * mm),
        table,
    ]


# The list of civil parties: fixed-height rows drawn on a canvas, so that its page
# count follows from the number of parties before anything is drawn.
_LIST_TOP = A4[1] - 20 * mm
_LIST_BOTTOM = 20 * mm
_LIST_TITLE = 26 * mm
_LIST_HEADER = 7 * mm
_LIST_ROW = 6.2 * mm
_LIST_SIZE = 8.5
_LIST_COLUMNS = (("N°", 14 * mm), ("Nom", 68 * mm), ("Commune", 42 * mm), ("Total demandé", 28 * mm))
_LIST_PAGE_COLUMN = ("Page", A4[0] - 2 * MARGIN - sum(width for _, width in _LIST_COLUMNS))
_ROWS_FIRST = int((_LIST_TOP - _LIST_BOTTOM - _LIST_TITLE - _LIST_HEADER) // _LIST_ROW)
_ROWS_OTHER = int((_LIST_TOP - _LIST_BOTTOM - _LIST_HEADER) // _LIST_ROW)


def _pages_for(rows: int, first: int, other: int) -> int:
    """Pages of ``rows`` fixed-height rows, ``first`` on the first page and ``other`` on the next."""
    if rows <= first:
        return 1
    return 1 + math.ceil((rows - first) / other)


def _list_pages(parties: int) -> int:
    return _pages_for(parties, _ROWS_FIRST, _ROWS_OTHER)


def _spooled_rows(spool: _SealedSpool) -> Iterator[list[Any]]:
    for line in spool.lines():
        yield json.loads(line)


def _take(rows: Iterator[list[Any]], count: int) -> list[list[Any]]:
    return [row for _, row in zip(range(count), rows, strict=False)]


def _draw_heading(canvas: Canvas, top: float, title: str, subtitle: str) -> float:
    """A front section's title and subtitle (untrusted: drawn as text, fitted); returns the new top."""
    canvas.setFillColor(INK)
    canvas.setFont(FONT_BOLD, 15)
    canvas.drawCentredString(A4[0] / 2, top - 8 * mm, title)
    canvas.setFont(FONT, 9.5)
    canvas.drawCentredString(A4[0] / 2, top - 15 * mm, _fit(subtitle, FONT, 9.5, A4[0] - 2 * MARGIN))
    return top - _LIST_TITLE


def _draw_column_titles(
    canvas: Canvas, top: float, columns: Sequence[tuple[str, float]], left_aligned: set[int]
) -> float:
    """The shaded row of column titles; returns the top of the first row."""
    width = sum(column_width for _, column_width in columns)
    canvas.setFillColor(SHADE)
    canvas.rect(MARGIN, top - _LIST_HEADER, width, _LIST_HEADER, stroke=0, fill=1)
    canvas.setFillColor(INK)
    canvas.setFont(FONT_BOLD, _LIST_SIZE)
    x = MARGIN
    for index, (title, column_width) in enumerate(columns):
        if index in left_aligned:
            canvas.drawString(x + 1.5 * mm, top - _LIST_HEADER + 2.3 * mm, title)
        else:
            canvas.drawRightString(x + column_width - 1.5 * mm, top - _LIST_HEADER + 2.3 * mm, title)
        x += column_width
    return top - _LIST_HEADER


def _write_drawn(
    pdf: _PdfFile,
    run: _PageRun,
    pages: int,
    first_number: int,
    footer: _Footer,
    draw: Callable[[Canvas, int], None],
) -> list[int]:
    """Pages drawn by ``draw(canvas, index)``, a chunk at a time, each chunk copied out before the
    next is drawn (numbered from ``first_number`` in the pack). Returns the object number of the
    first page (in a list of one)."""
    first_page: list[int] = []
    page = 0
    while page < pages:
        out = io.BytesIO()
        canvas = Canvas(out, pagesize=A4, invariant=1)
        for _ in range(min(LIST_PAGES_PER_CHUNK, pages - page)):
            draw(canvas, page)
            footer.draw(canvas, first_number + page)
            canvas.showPage()
            page += 1
        canvas.save()
        copied = _copy_document(pdf, out.getvalue(), run)
        first_page = first_page or copied[:1]
    return first_page


def _draw_list_page(
    canvas: Canvas, info: PackInfo, summary: _Summary, rows: list[list[Any]], first: bool, front_pages: int
) -> None:
    left = MARGIN
    top = _LIST_TOP
    if first:
        subtitle = f"{_parties(summary.parties)} — {drawable_text(one_line(info.case_title, FIELD_LIMIT))}"
        top = _draw_heading(canvas, top, "LISTE DES PARTIES CIVILES", subtitle)
    columns = (*_LIST_COLUMNS, _LIST_PAGE_COLUMN)
    width = sum(column_width for _, column_width in columns)
    y = _draw_column_titles(canvas, top, columns, {1, 2})
    if not rows:
        y -= _LIST_ROW
        canvas.setFont(FONT, _LIST_SIZE)
        canvas.drawString(left + 1.5 * mm, y + 2 * mm, "Aucune partie civile.")
    for number, name, city, total, offset in rows:
        cells = (
            str(number),
            drawable_text(name),
            drawable_text(city),
            euros(Decimal(total)),
            str(front_pages + offset + 1),
        )
        y -= _LIST_ROW
        canvas.setFont(FONT, _LIST_SIZE)
        x = left
        for index, ((_, column_width), text) in enumerate(zip(columns, cells, strict=True)):
            fitted = _fit(text, FONT, _LIST_SIZE, column_width - 3 * mm)
            if index in (1, 2):
                canvas.drawString(x + 1.5 * mm, y + 2 * mm, fitted)
            else:
                canvas.drawRightString(x + column_width - 1.5 * mm, y + 2 * mm, fitted)
            x += column_width
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.3)
        canvas.line(left, y, left + width, y)
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.6)
    canvas.rect(left, y, width, top - y, stroke=1, fill=0)


def _write_list(
    pdf: _PdfFile,
    run: _PageRun,
    info: PackInfo,
    summary: _Summary,
    spool: _SealedSpool,
    layout: _Layout,
    footer: _Footer,
) -> list[int]:
    """Draw the list of civil parties; returns the object number of its first page (in a list of one)."""
    rows = _spooled_rows(spool)

    def draw(canvas: Canvas, page: int) -> None:
        batch = _take(rows, _ROWS_FIRST if page == 0 else _ROWS_OTHER)
        _draw_list_page(canvas, info, summary, batch, page == 0, layout.front_pages)

    return _write_drawn(pdf, run, layout.list_pages, layout.list_start, footer, draw)


# The collective exhibit index: one row per exhibit of every party, in party then exhibit
# order, of fixed height too: two lines, the party, the piece, its title and date, then
# its SHA-256 (of the original file, as locked).
_INDEX_ROW = 9.4 * mm
_INDEX_SIZES = (8.5, 8, 7.5, 7)  # a long name or title is drawn smaller, then cut with "…"
_INDEX_HASH_SIZE = 6.5
# The SHA-256 runs under the last three columns: 105 mm at most at its size.
_INDEX_COLUMNS = (("N°", 13 * mm), ("Partie civile", 44 * mm), ("Pièce", 20 * mm), ("Désignation", 70 * mm))
_INDEX_DATE_COLUMN = ("Date", A4[0] - 2 * MARGIN - sum(width for _, width in _INDEX_COLUMNS))
_INDEX_ROWS_FIRST = int((_LIST_TOP - _LIST_BOTTOM - _LIST_TITLE - _LIST_HEADER) // _INDEX_ROW)
_INDEX_ROWS_OTHER = int((_LIST_TOP - _LIST_BOTTOM - _LIST_HEADER) // _INDEX_ROW)


def _index_pages(exhibits: int) -> int:
    return _pages_for(exhibits, _INDEX_ROWS_FIRST, _INDEX_ROWS_OTHER)


def _index_row(party: PackParty, exhibit: PackExhibit) -> list[Any]:
    return [
        party.number,
        one_line(party.name, FIELD_LIMIT),
        exhibit.number,
        one_line(exhibit.title, FIELD_LIMIT),
        f"{exhibit.date:%d/%m/%Y}",
        one_line(exhibit.sha256, 128),
    ]


def _pieces(count: int) -> str:
    """``1 pièce``, ``12 pièces`` (French keeps 0 and 1 singular)."""
    return f"{_count(count)} {'pièce' if count <= 1 else 'pièces'}"


def _fit_shrinking(text: str, width: float) -> tuple[str, float]:
    """The text and the largest of ``_INDEX_SIZES`` it fits ``width`` at; at the smallest, cut."""
    for size in _INDEX_SIZES:
        if stringWidth(text, FONT, size) <= width:
            return text, size
    return _fit(text, FONT, _INDEX_SIZES[-1], width), _INDEX_SIZES[-1]


def _draw_index_page(
    canvas: Canvas, info: PackInfo, summary: _Summary, rows: list[list[Any]], first: bool
) -> None:
    left = MARGIN
    top = _LIST_TOP
    if first:
        subtitle = (
            f"{_pieces(summary.exhibits)}, {_parties(summary.parties)} — "
            f"{drawable_text(one_line(info.case_title, FIELD_LIMIT))}"
        )
        top = _draw_heading(canvas, top, "INDEX COLLECTIF DES PIÈCES", subtitle)
    columns = (*_INDEX_COLUMNS, _INDEX_DATE_COLUMN)
    width = sum(column_width for _, column_width in columns)
    y = _draw_column_titles(canvas, top, columns, {1, 2, 3})
    if not rows:
        y -= _LIST_ROW
        canvas.setFont(FONT, _LIST_SIZE)
        canvas.drawString(left + 1.5 * mm, y + 2 * mm, "Aucune pièce.")
    hash_left = left + sum(column_width for _, column_width in columns[:2])
    for party_number, name, number, title, day, digest in rows:
        y -= _INDEX_ROW
        first_line = y + _INDEX_ROW - 4.2 * mm
        x = left
        cells = (str(party_number), drawable_text(name), f"Pièce n° {number}", drawable_text(title), day)
        for index, ((_, column_width), text) in enumerate(zip(columns, cells, strict=True)):
            fitted, size = _fit_shrinking(text, column_width - 3 * mm)
            canvas.setFillColor(INK)
            canvas.setFont(FONT, size)
            if index in (1, 2, 3):
                canvas.drawString(x + 1.5 * mm, first_line, fitted)
            else:
                canvas.drawRightString(x + column_width - 1.5 * mm, first_line, fitted)
            x += column_width
        canvas.setFillColor(GREY)
        canvas.setFont(FONT, _INDEX_HASH_SIZE)
        line = f"SHA-256 : {drawable_text(digest)}"
        canvas.drawString(
            hash_left + 1.5 * mm,
            y + 1.9 * mm,
            _fit(line, FONT, _INDEX_HASH_SIZE, left + width - hash_left - 3 * mm),
        )
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.3)
        canvas.line(left, y, left + width, y)
    canvas.setFillColor(INK)
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.6)
    canvas.rect(left, y, width, top - y, stroke=1, fill=0)


def _write_index(
    pdf: _PdfFile,
    run: _PageRun,
    info: PackInfo,
    summary: _Summary,
    spool: _SealedSpool,
    layout: _Layout,
    footer: _Footer,
) -> list[int]:
    """Draw the collective exhibit index; returns the object number of its first page (in a list of one)."""
    rows = _spooled_rows(spool)

    def draw(canvas: Canvas, page: int) -> None:
        batch = _take(rows, _INDEX_ROWS_FIRST if page == 0 else _INDEX_ROWS_OTHER)
        _draw_index_page(canvas, info, summary, batch, page == 0)

    return _write_drawn(pdf, run, layout.index_pages, layout.index_start, footer, draw)


# --- PDF: the pack -------------------------------------------------------------------------


def write_pack_pdf(info: PackInfo, parties: Iterable[PackParty], out: BinaryIO) -> int:
    """The filing pack as one PDF to ``out`` (written front to back, never seeked); returns its page count.

    Cover letter, list of civil parties, totals by head of damage, collective exhibit
    index (these pages numbered "page X / Y" over the whole pack), then each party's
    bundle as it is
    (it carries its own numbering), each with a bookmark "n° N — NAME". A bundle
    that cannot be read raises ``ValueError`` (a pack never silently loses a party).
    """
    Procedure(info.procedure)  # ValueError for an unknown procedure, before any work
    register_fonts()
    wording = _procedure_wording(info)
    # Three temporary files: the objects' offsets (numbers only), the list of parties and the
    # exhibit index (both sealed).
    with (
        _names_cached(),
        tempfile.TemporaryFile() as offsets,
        tempfile.TemporaryFile() as listing,
        tempfile.TemporaryFile() as index,
    ):
        spool = _SealedSpool(listing)
        index_spool = _SealedSpool(index)
        pdf = _PdfFile(out, _Offsets(offsets))
        pdf.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        pages_root = pdf.reserve()
        bundles = _PageRun(pdf, pages_root)
        outline = _PartyOutline(pdf)
        summary = _Summary()
        for party in _in_order(parties):
            offset = bundles.count
            numbers = _copy_bundle(pdf, party, bundles)
            outline.add(bookmark_title(party), numbers[0])
            total = summary.add(party, len(numbers))
            row = [
                party.number,
                one_line(party.name, FIELD_LIMIT),
                one_line(party.city, FIELD_LIMIT),
                str(total),
                offset,
            ]
            spool.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")
            for exhibit in party.exhibits:
                index_spool.write(json.dumps(_index_row(party, exhibit), ensure_ascii=False).encode() + b"\n")
        bundles.finish()
        bookmarks = outline.finish()
        front = _write_front(pdf, pages_root, info, wording, summary, spool, index_spool)

        layout = front.layout
        kids = [_Ref(node) for node, _ in front.groups + bundles.groups]
        pdf.dictionary(pages_root, {"/Type": NameObject("/Pages"), "/Kids": kids, "/Count": layout.total})
        outlines = _write_outlines(
            pdf, front.sections, bookmarks, f"Parties civiles ({_count(summary.parties)})"
        )
        catalog = pdf.reserve()
        pdf.dictionary(
            catalog,
            {
                "/Type": NameObject("/Catalog"),
                "/Pages": _Ref(pages_root),
                "/Outlines": _Ref(outlines),
                "/PageMode": NameObject("/UseOutlines"),
                "/Lang": TextStringObject("fr-FR"),
            },
        )
        metadata = pdf.reserve()
        # No name, no reference: the metadata shows in file managers and mail previews.
        pdf.dictionary(
            metadata,
            {
                "/Title": TextStringObject(
                    f"Dépôt collectif n° {info.filing_id} — {_parties(summary.parties)}"
                ),
                "/Creator": TextStringObject("Recours"),
                "/Producer": TextStringObject("Recours"),
            },
        )
        file_id = sha256(f"recours-pack:{info.filing_id}:{info.snapshot_sha256}".encode()).digest()[:16]
        pdf.finish(catalog, metadata, file_id)
    out.flush()
    return layout.total


@dataclass(frozen=True)
class _Front:
    sections: list[tuple[str, int]]  # bookmark title, first page's object number
    groups: list[tuple[int, int]]  # the page tree's nodes over the front pages
    layout: _Layout


def _write_front(
    pdf: _PdfFile,
    pages_root: int,
    info: PackInfo,
    wording: _ProcedureWording,
    summary: _Summary,
    spool: _SealedSpool,
    index_spool: _SealedSpool,
) -> _Front:
    """Draw the front pages, now that the parties are counted, and write them to the output."""
    list_pages = _list_pages(summary.parties)
    index_pages = _index_pages(summary.exhibits)
    # A story is used up by its build: each rendering gets a fresh one.
    _, totals_pages = _render(_totals(info, summary), None, 1)
    # The letter gives the page of each part, which depends on its own length: settle it.
    layout = _Layout(1, list_pages, totals_pages, index_pages, summary.bundle_pages)
    for _ in range(4):
        cover, cover_pages = _render(_cover(info, wording, summary, layout), None, 1)
        if cover_pages == layout.cover_pages:
            break
        layout = _Layout(cover_pages, list_pages, totals_pages, index_pages, summary.bundle_pages)
    footer = _Footer(_footer_text(info), layout.total)
    cover, cover_pages = _render(_cover(info, wording, summary, layout), footer, 1)
    totals, pages = _render(_totals(info, summary), footer, layout.totals_start)
    if cover_pages != layout.cover_pages or pages != totals_pages:
        raise RuntimeError("the front pages changed length once numbered")

    run = _PageRun(pdf, pages_root)
    cover_numbers = _copy_document(pdf, cover, run)
    del cover
    list_first = _write_list(pdf, run, info, summary, spool, layout, footer)
    totals_numbers = _copy_document(pdf, totals, run)
    del totals
    index_first = _write_index(pdf, run, info, summary, index_spool, layout, footer)
    run.finish()
    if run.count != layout.front_pages:
        raise RuntimeError("the front pages do not match their layout")
    sections = [
        ("Lettre de dépôt", cover_numbers[0]),
        ("Liste des parties civiles", list_first[0]),
        ("Totaux par chef de préjudice", totals_numbers[0]),
        ("Index des pièces", index_first[0]),
    ]
    return _Front(sections, run.groups, layout)
