"""A PDF we wrote ourselves, read as bytes: its pages and the objects they reach, for the pack.

The pack copies every bundle into one PDF under new object numbers. pypdf parses each
object into Python objects that the pack then writes out again: most of the pack's time,
for files whose every byte came from our own writers (pypdf's ``PdfWriter`` for the
bundles, reportlab for the front pages). ``RawPdf`` reads such a file's objects where
they lie: a tokeniser that knows strings (nested and escaped parentheses), hexadecimal
strings, names and comments finds each object's references, so that a reference-like
text inside a string is never taken for one, and ``body`` rewrites only the reference
numbers; stream data are sliced as they are, never decoded.

Only the simple form those writers produce is read: one classic cross-reference table,
no incremental update, no object stream, no encryption, generation 0, page attributes
not inherited from the page tree, every reference to an object that exists. Anything
else raises ``Unsupported`` before the pack has written anything of the file, and the
pack reads that file with pypdf instead (``pack._copy_pages``).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

_WS = rb"\x00\t\n\x0c\r "
_REGULAR = rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]"
# One token at a time (``match``, never ``search``: a byte no alternative takes is an error).
# Whitespace and comments have no group. A reference comes before a number.
_TOKEN = re.compile(
    rb"[" + _WS + rb"]+|%[^\r\n]*"
    rb"|(?P<ref>(?P<num>\d+)[" + _WS + rb"]+(?P<gen>\d+)[" + _WS + rb"]+R(?!" + _REGULAR + rb"))"
    rb"|(?P<open><<|\[)"
    rb"|(?P<close>>>|\])"
    rb"|(?P<hex><[0-9A-Fa-f" + _WS + rb"]*>)"
    rb"|(?P<string>\()"
    rb"|(?P<name>/" + _REGULAR + rb"*)"
    rb"|(?P<word>" + _REGULAR + rb"+)"
)
_STRING_STOP = re.compile(rb"[\\()]")
_HEADER = re.compile(rb"(\d+)[" + _WS + rb"]+(\d+)[" + _WS + rb"]+obj")
_AFTER_VALUE = re.compile(rb"[" + _WS + rb"]*(?:(endobj)|stream\r?\n)")
_END_STREAM = re.compile(rb"[" + _WS + rb"]*endstream[" + _WS + rb"]+endobj")
_START_XREF = re.compile(rb"startxref[" + _WS + rb"]+(\d+)")
_SUBSECTION = re.compile(rb"[" + _WS + rb"]*(\d+) (\d+)[ \t]*\r?\n")
_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])(?:\r\n| \r| \n)")
_TRAILER = re.compile(rb"[" + _WS + rb"]*trailer")
_CLOSING = {b"<<": b">>", b"[": b"]"}
# Page attributes a page may inherit from its page tree: pypdf copies them into each page;
# a tree that holds any is left to pypdf.
_INHERITED = (b"/Resources", b"/MediaBox", b"/CropBox", b"/Rotate")


class Unsupported(Exception):
    """Not the simple form ``RawPdf`` reads: read this file with pypdf."""


@dataclass(frozen=True)
class RawObject:
    """One object: its value's span, its references, its top-level entries, its stream."""

    start: int
    end: int
    refs: list[tuple[int, int, int]]  # (start, end, object number), in file order
    entries: dict[bytes, tuple[int, int, int]] | None  # key -> (key start, value start, value end)
    stream: tuple[int, int] | None

    def value(self, data: bytes, key: bytes) -> bytes | None:
        entry = self.entries.get(key) if self.entries is not None else None
        return None if entry is None else data[entry[1] : entry[2]]

    def without(self, keys: frozenset[bytes]) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
        """The spans of these top-level entries (from the key to the value's end), and the
        references outside them."""
        if not keys:  # every object but the pages
            return [], self.refs
        spans = [(key_start, end) for key, (key_start, _, end) in (self.entries or {}).items() if key in keys]
        refs = [
            ref for ref in self.refs if not any(start <= ref[0] and ref[1] <= end for start, end in spans)
        ]
        return spans, refs

    def refs_in(self, key: bytes) -> list[int]:
        entry = self.entries.get(key) if self.entries is not None else None
        if entry is None:
            return []
        return [number for start, end, number in self.refs if entry[1] <= start and end <= entry[2]]


def _string_end(data: bytes, position: int) -> int:
    """The end of a literal string whose ``(`` ends at ``position``."""
    depth = 1
    while depth:
        stop = _STRING_STOP.search(data, position)
        if stop is None:
            raise Unsupported("unterminated string")
        character = data[stop.start()]
        if character == 0x5C:  # a backslash: the next byte is escaped
            position = stop.start() + 2
            continue
        depth += 1 if character == 0x28 else -1
        position = stop.start() + 1
    return position


def _value(
    data: bytes, position: int
) -> tuple[int, int, list[tuple[int, int, int]], dict[bytes, tuple[int, int, int]] | None]:
    """One value from ``position``: (start, end, references, top-level entries if a dictionary)."""
    refs: list[tuple[int, int, int]] = []
    entries: dict[bytes, tuple[int, int, int]] | None = None
    stack: list[bytes] = []
    key: bytes | None = None
    key_start = item_start = first = -1

    def item(table: dict[bytes, tuple[int, int, int]], start: int, end: int, is_name: bool) -> None:
        """A complete item at the top dictionary's level: a key, then its value."""
        nonlocal key, key_start
        if key is None:
            if not is_name:
                raise Unsupported("a dictionary key that is not a name")
            key, key_start = data[start:end], start
            if b"#" in key:
                raise Unsupported("an escaped name as a key")
        else:
            table[key] = (key_start, start, end)
            key = None

    while True:
        token = _TOKEN.match(data, position)
        if token is None:
            raise Unsupported(f"unexpected byte at {position}")
        kind = token.lastgroup
        start, position = token.start(), token.end()
        if kind is None:  # whitespace, comment
            continue
        if first < 0:
            first = start
        if kind == "open":
            opening = token.group()
            if not stack and opening == b"<<":
                entries = {}
            if len(stack) == 1 and entries is not None:
                item_start = start
            stack.append(_CLOSING[opening])
            continue
        if kind == "close":
            if not stack or stack.pop() != token.group():
                raise Unsupported("unbalanced brackets")
            if not stack:
                if key is not None:
                    raise Unsupported("a key without a value")
                return first, position, refs, entries
            if len(stack) == 1 and entries is not None:
                item(entries, item_start, position, False)
            continue
        if kind == "string":
            position = _string_end(data, position)
        elif kind == "ref":
            if token.group("gen") != b"0":
                raise Unsupported("a generation other than 0")
            refs.append((start, position, int(token.group("num"))))
        if not stack:
            return first, position, refs, None
        if len(stack) == 1 and entries is not None:
            item(entries, start, position, kind == "name")


class RawPdf:
    """The objects of a PDF in memory, parsed on demand and kept as spans of ``data``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._objects: dict[int, RawObject] = {}
        self._offsets, self._root = self._cross_reference()

    def _cross_reference(self) -> tuple[dict[int, int], int]:
        data = self.data
        tail = data.rfind(b"startxref", max(0, len(data) - 1024))
        found = _START_XREF.match(data, tail) if tail >= 0 else None
        if found is None:
            raise Unsupported("no startxref")
        position = int(found.group(1))
        if data[position : position + 4] != b"xref":
            raise Unsupported("a cross-reference stream")
        position += 4
        offsets: dict[int, int] = {}
        while (section := _SUBSECTION.match(data, position)) is not None:
            first, count = int(section.group(1)), int(section.group(2))
            position = section.end()
            for number in range(first, first + count):
                entry = _ENTRY.match(data, position)
                if entry is None:
                    raise Unsupported("a malformed cross-reference entry")
                position = entry.end()
                if entry.group(3) == b"n":
                    if entry.group(2) != b"00000":
                        raise Unsupported("a generation other than 0")
                    offsets[number] = int(entry.group(1))
        trailer = _TRAILER.match(data, position)
        if trailer is None:
            raise Unsupported("no trailer")
        _, _, refs, entries = _value(data, trailer.end())
        if entries is None or any(k in entries for k in (b"/Prev", b"/Encrypt", b"/XRefStm")):
            raise Unsupported("an update, an encryption or a hybrid file")
        root_span = entries.get(b"/Root")
        roots = [n for s, e, n in refs if root_span and root_span[1] <= s and e <= root_span[2]]
        if len(roots) != 1:
            raise Unsupported("no catalog")
        return offsets, roots[0]

    def object(self, number: int) -> RawObject:
        cached = self._objects.get(number)
        if cached is not None:
            return cached
        data = self.data
        offset = self._offsets.get(number)
        header = _HEADER.match(data, offset) if offset is not None else None
        if header is None or int(header.group(1)) != number or header.group(2) != b"0":
            raise Unsupported(f"object {number} is not where the table says")
        start, end, refs, entries = _value(data, header.end())
        after = _AFTER_VALUE.match(data, end)
        if after is None:
            raise Unsupported(f"object {number} does not end")
        stream = None
        if after.group(1) is None:
            length = self._length(entries)
            data_start = after.end()
            stream = (data_start, data_start + length)
            if _END_STREAM.match(data, stream[1]) is None:
                raise Unsupported(f"the stream of object {number} is not its /Length long")
        parsed = RawObject(start, end, refs, entries, stream)
        self._objects[number] = parsed
        return parsed

    def _length(self, entries: dict[bytes, tuple[int, int, int]] | None) -> int:
        if entries is None or b"/Length" not in entries:
            raise Unsupported("a stream without /Length")
        _, start, end = entries[b"/Length"]
        text = self.data[start:end]
        if text.isdigit():
            return int(text)
        token = _TOKEN.fullmatch(text)
        if token is None or token.lastgroup != "ref":
            raise Unsupported("an odd /Length")
        target = self.object(int(token.group("num")))
        value = self.data[target.start : target.end]
        if target.stream is not None or not value.isdigit():
            raise Unsupported("an odd /Length")
        return int(value)

    def type_of(self, number: int) -> bytes | None:
        return self.object(number).value(self.data, b"/Type")

    def pages(self) -> list[int]:
        """The page objects in order, walking the page tree from the catalog."""
        catalog = self.object(self._root)
        roots = catalog.refs_in(b"/Pages")
        if len(roots) != 1:
            raise Unsupported("no page tree")
        pages: list[int] = []
        seen: set[int] = set()
        pending = deque(roots)
        while pending:
            number = pending.popleft()
            if number in seen:
                raise Unsupported("a page tree with a cycle")
            seen.add(number)
            node = self.object(number)
            kind = node.value(self.data, b"/Type")
            if kind == b"/Page":
                pages.append(number)
            elif kind == b"/Pages":
                if any(key in (node.entries or {}) for key in _INHERITED):
                    raise Unsupported("inherited page attributes")
                pending.extendleft(reversed(node.refs_in(b"/Kids")))
            else:
                raise Unsupported("an odd page tree node")
        return pages

    def reachable(self, pages: list[int], dropped: frozenset[bytes]) -> tuple[list[int], set[int]]:
        """Every object the pages reach (the pages' ``dropped`` entries aside), in the order
        found, and the page trees and catalogs among the targets (written as ``null``)."""
        known = set(pages)
        found: list[int] = []
        left_out: set[int] = set()
        pending = deque(self._targets(number, dropped) for number in pages)
        while pending:
            for target in pending.popleft():
                if target in known:
                    continue
                known.add(target)
                if self.type_of(target) in (b"/Pages", b"/Catalog"):
                    left_out.add(target)
                    continue
                found.append(target)
                pending.append(self._targets(target, frozenset()))
        return found, left_out

    def _targets(self, number: int, dropped: frozenset[bytes]) -> list[int]:
        return [target for _, _, target in self.object(number).without(dropped)[1]]

    def body(self, number: int, renumber: Callable[[int], int | None], *, dropped: frozenset[bytes] = frozenset(),
             extra: bytes = b"") -> bytes:  # fmt: skip
        """The object's value with its references renumbered (``null`` for None), the
        ``dropped`` top-level entries removed and ``extra`` added at the dictionary's end."""
        raw = self.object(number)
        data = self.data
        spans, refs = raw.without(dropped)
        edits: list[tuple[int, int, bytes]] = [(start, end, b"") for start, end in spans]
        for start, end, target in refs:
            new = renumber(target)
            edits.append((start, end, b"null" if new is None else b"%d 0 R" % new))
        if extra:
            if raw.entries is None:
                raise ValueError("only a dictionary takes an entry")
            edits.append((raw.end - 2, raw.end - 2, b" " + extra + b" "))
        edits.sort(key=lambda edit: edit[0])
        pieces = []
        position = raw.start
        for start, end, replacement in edits:
            pieces.append(data[position:start])
            pieces.append(replacement)
            position = end
        pieces.append(data[position : raw.end])
        return b"".join(pieces)

    def stream(self, number: int) -> memoryview | None:
        raw = self.object(number)
        if raw.stream is None:
            return None
        return memoryview(self.data)[raw.stream[0] : raw.stream[1]]
