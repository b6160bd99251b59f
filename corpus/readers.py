"""Robust record readers for every input format that ``corpus validate`` accepts.

``read_records(path)`` yields items ``(line, column, value, raw, prefix, verbatim)``
(``ReadItem``'s fields; the hot path yields plain tuples) for ``.jsonl``, ``.jsonl.gz``,
``.jsonl.zst``, ``.json`` (an array of records or one record) and ``.parquet``:

* ``value`` is the parsed record, or a ``ReadError`` saying why a line, a row or the file
  could not be read. A bad line never stops the reader: every problem becomes an item, and
  reading goes on with the next line wherever that is possible.
* ``line`` is the 1-based line (JSON Lines, JSON) or row (Parquet); ``None`` where unknown
  (an element of a JSON array, until ``locate_pointer`` finds it).
* ``column`` is the 1-based character column of a ``ReadError``, where known.
* ``raw`` is the JSON text the record was parsed from (the line's bytes, or the whole
  document's text for ``.json``) and ``prefix`` the JSON pointer of the record inside it;
  ``locate_pointer`` turns a field's pointer into a position on the error path.
* ``verbatim`` is True when ``raw`` is a JSON Lines line without ``\\u`` escapes: every
  character of every string in ``value`` is in ``raw`` as its UTF-8 bytes (a quote, backslash,
  slash or control character may be a short escape such as ``\\n``), so a byte-level screen
  of ``raw`` (``corpus.encoding.utf8_screen``) sees all of them.

Only the medium itself (a file that cannot be opened, an OS read error) raises ``OSError``;
damaged content (invalid UTF-8, a truncated gzip or zstd stream, bad JSON, a huge line,
NaN/Infinity, repeated keys, a BOM, unpaired surrogates, nesting deeper than 1024 levels)
is reported as an item.
"""
from __future__ import annotations

import io
import json
import math
import re
import sys
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import BinaryIO, Iterator, NamedTuple

import orjson

try:  # isal's igzip reads gzip about 6x faster than zlib and raises the same errors
    from isal import igzip as _gzip
except ImportError:  # pragma: no cover - depends on the environment
    import gzip as _gzip

DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_JSON_DOCUMENT_BYTES = 512 * 1024 * 1024
MAX_DEPTH = 1024  # as orjson: deeper nesting is refused

# Longest suffix first: ".jsonl.gz" must not be taken for something ending in ".gz".
FORMATS = {
    ".jsonl.gz": "jsonl.gz",
    ".jsonl.zst": "jsonl.zst",
    ".jsonl": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
}

_UTF8_BOM = b"\xef\xbb\xbf"
_OTHER_BOMS = {  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    b"\xff\xfe\x00\x00": "UTF-32 LE",
    b"\x00\x00\xfe\xff": "UTF-32 BE",
    b"\xff\xfe": "UTF-16 LE",
    b"\xfe\xff": "UTF-16 BE",
}
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True, slots=True)
class ReadError:
    """Why a line, a row or a file could not be read (or was read with a defect).

    ``fatal`` errors replace the record; non-fatal ones (a BOM, a repeated key) are followed
    by an item with the record as parsed, so its fields are validated too.
    """

    keyword: str
    message: str
    pointer: str = ""
    fatal: bool = True


class ReadItem(NamedTuple):
    line: int | None
    column: int | None
    value: object
    raw: bytes | str | None = None
    prefix: str = ""
    verbatim: bool = False


def format_of(name: str) -> str | None:
    """The input format of a file name by its suffix, or None if unsupported."""
    lower = name.lower()
    for suffix, fmt in FORMATS.items():
        if lower.endswith(suffix):
            return fmt
    return None


def read_records(path, fmt: str | None = None, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[ReadItem]:
    """Records of the file at ``path`` (format from its suffix unless ``fmt`` is given).

    Raises ``OSError`` only when the file cannot be opened or read at the OS level.
    """
    fmt = fmt or format_of(str(path))
    if fmt is None:
        raise ValueError(f"{path}: unsupported file type (expected one of {', '.join(FORMATS)})")
    with open(path, "rb", buffering=1 << 20) as fh:
        yield from read_stream(fh, fmt, max_line_bytes=max_line_bytes)


def read_stream(fh: BinaryIO, fmt: str, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[ReadItem]:
    """Records of an open binary stream in the given format."""
    if fmt in JSONL_FORMATS:
        yield from iter_jsonl(jsonl_stream(fh, fmt), max_line_bytes)
    elif fmt == "json":
        yield from iter_json_document(fh)
    elif fmt == "parquet":
        yield from iter_parquet(fh)
    else:
        raise ValueError(f"unknown input format {fmt!r}")


JSONL_FORMATS = ("jsonl", "jsonl.gz", "jsonl.zst")


def jsonl_stream(fh: BinaryIO, fmt: str) -> BinaryIO:
    """The decompressed bytes of a JSON Lines file (one of JSONL_FORMATS)."""
    if fmt == "jsonl.gz":
        return _gzip.GzipFile(fileobj=fh, mode="rb")
    if fmt == "jsonl.zst":
        return io.BufferedReader(_ZstdFrames(fh), buffer_size=1 << 20)
    return fh


def sniff_format(fh) -> tuple[str, BinaryIO]:
    """Guess the format of a stream without a name (stdin) from its first bytes; returns it
    with a stream that still yields those bytes."""
    if not hasattr(fh, "peek"):
        fh = io.BufferedReader(_ReadOnly(fh), buffer_size=1 << 20)
    head = fh.peek(64)[:64]
    if head.startswith(_GZIP_MAGIC):
        return "jsonl.gz", fh
    if head.startswith(_ZSTD_MAGIC):
        return "jsonl.zst", fh
    if head.startswith(_PARQUET_MAGIC):
        return "parquet", fh
    return ("json" if head.lstrip(_UTF8_BOM + b" \t\r\n").startswith(b"[") else "jsonl"), fh


class _ReadOnly(io.RawIOBase):
    """A raw view of any binary file object, so io.BufferedReader can add peek()."""

    def __init__(self, fh):
        self._fh = fh

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._fh.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# --- JSON Lines ---------------------------------------------------------------------------

# A decompressor's way of saying the data is damaged; any other OSError is the medium's.
_DAMAGED_STREAM = (EOFError, zlib.error, _gzip.BadGzipFile)
try:
    import zstandard

    _DAMAGED_STREAM += (zstandard.ZstdError,)
except ImportError:  # pragma: no cover
    zstandard = None


class _LookCloser(Exception):
    """Raised inside the fast parse: this text needs the careful one."""


def _no_repeated_keys(pairs):
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _LookCloser
    return obj


def _no_constants(name):
    raise _LookCloser  # NaN, Infinity, -Infinity: not JSON


# The fast path parses with the stdlib's C scanner, which is as fast as orjson on this
# text and, unlike orjson, lets a hook see every object's pairs: a repeated key costs
# nothing to detect. What it accepts that JSON does not is refused by the hooks (NaN)
# or caught after it (lone surrogates, trailing data); refusals take the careful path.
_FAST_SCAN = json.JSONDecoder(object_pairs_hook=_no_repeated_keys, parse_constant=_no_constants).scan_once
_FAST_REFUSALS = (UnicodeDecodeError, StopIteration, ValueError, RecursionError, _LookCloser)
_U_ESCAPE = re.compile(rb"\\u")  # regex: 3x faster than bytes.__contains__ here
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def iter_jsonl(stream, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, first_line: int = 1) -> Iterator[ReadItem]:
    """One item per line (more for a line with defects); see the module docstring.

    Record items are plain tuples in ReadItem's field order: a NamedTuple costs 0.3 µs.
    ``first_line``: the number of the stream's first line (a chunk of a file, see
    ``jsonl_chunks``).
    """
    readline = stream.readline
    scan = _FAST_SCAN
    u_escape = _U_ESCAPE.search
    surrogate_escape = _SURROGATE_ESCAPE.search
    limit = max_line_bytes + 1  # + the newline
    line_no = first_line - 1
    try:
        while True:
            raw = readline(limit)
            if not raw:
                return
            line_no += 1
            if len(raw) == limit and raw[-1] != 10:
                yield _skipped_long_line(stream, line_no, raw, max_line_bytes)
                continue
            try:
                text = raw.decode()
                record, end = scan(text, 0)
                if end != len(text) and text[end:] != "\n" and text[end:].strip(" \t\n\r"):
                    raise _LookCloser
                escaped = u_escape(raw)  # one scan for \u serves the surrogate test and ``verbatim``
                if escaped is not None and surrogate_escape(raw, escaped.start()) and _has_surrogate(record):
                    raise _LookCloser
            except _FAST_REFUSALS:
                if line_no == 1 and (bom := _other_bom(raw)):
                    yield ReadItem(1, 1, ReadError("encoding", f"the file starts with a {bom} byte order mark: "
                                                   "it is not UTF-8, so no line of it can be read"))
                    return
                yield from _careful_line(line_no, raw)
                continue
            yield (line_no, None, record, raw, "", escaped is None)
    except _DAMAGED_STREAM as exc:
        yield ReadItem(line_no + 1, None, ReadError("compression", _damaged_stream_message(exc, line_no)))


def jsonl_chunks(stream, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
                 chunk_bytes: int = 1 << 20) -> Iterator[tuple[int, list[bytes]] | ReadItem]:
    """The lines of a JSON Lines stream in runs of about ``chunk_bytes``, for parsing
    elsewhere with ``iter_jsonl(BytesIO(b"".join(lines)), first_line=n)``: ``(n, lines)``
    for a run starting at line n, or the ``ReadItem`` iter_jsonl would yield for an over-long
    line or a damaged stream, in file order. Same line splitting as iter_jsonl."""
    readline = stream.readline
    limit = max_line_bytes + 1
    line_no, first, lines, size = 0, 1, [], 0
    try:
        while True:
            raw = readline(limit)
            if not raw:
                break
            line_no += 1
            if len(raw) == limit and raw[-1] != 10:
                if lines:
                    yield first, lines
                    lines, size = [], 0
                first = line_no + 1
                yield _skipped_long_line(stream, line_no, raw, max_line_bytes)
                continue
            lines.append(raw)
            size += len(raw)
            if size >= chunk_bytes:
                yield first, lines
                first, lines, size = line_no + 1, [], 0
    except _DAMAGED_STREAM as exc:
        if lines:
            yield first, lines
            lines = []
        yield ReadItem(line_no + 1, None, ReadError("compression", _damaged_stream_message(exc, line_no)))
    if lines:
        yield first, lines


def _careful_line(line_no: int, raw: bytes) -> Iterator[ReadItem]:
    shift = 0
    if raw.startswith(_UTF8_BOM):
        yield ReadItem(line_no, 1, ReadError("bom", "line starts with a UTF-8 byte order mark (BOM); JSON Lines "
                                             "must not have one (it was skipped to read the record)", fatal=False))
        raw, shift = raw[len(_UTF8_BOM):], 1
    record, errors = parse_careful(raw)
    for err, offset in errors:
        yield ReadItem(line_no, None if offset is None else offset + 1 + shift, err)
    if record is not UNREADABLE:
        yield ReadItem(line_no, None, record, raw)


def _skipped_long_line(stream, line_no: int, head: bytes, max_line_bytes: int) -> ReadItem:
    """The error for line ``line_no``, over the limit: ``head`` was read, the rest is skipped."""
    total = len(head) + _skip_rest_of_line(stream)
    return ReadItem(line_no, None, ReadError(
        "line-too-long", f"line is {_size(total)}, over the limit of {_size(max_line_bytes)} "
        "(--max-line-bytes); it was skipped without parsing"))


def _skip_rest_of_line(stream) -> int:
    """Read past the end of an over-long line in bounded chunks; return the bytes skipped."""
    skipped = 0
    while True:
        chunk = stream.readline(1 << 20)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def _other_bom(data: bytes) -> str | None:
    """The UTF-16/32 encoding of text that starts with its byte order mark (and the NUL
    bytes such text has: FF FE alone may be two stray bytes in a UTF-8 line)."""
    for bom, name in _OTHER_BOMS.items():
        if data.startswith(bom) and b"\x00" in data[len(bom): len(bom) + 4]:
            return name
    return None


def _damaged_stream_message(exc: BaseException, lines_read: int) -> str:
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, EOFError):
        return (f"compressed stream is truncated ({detail}); the file was cut short, "
                f"so records after line {lines_read} are missing")
    return f"compressed stream is damaged ({detail}); records after line {lines_read} cannot be read"


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"


# --- the careful parse --------------------------------------------------------------------

UNREADABLE = object()  # parse_careful's value when no record could be read


def parse_careful(data: bytes) -> tuple[object, list[tuple[ReadError, int | None]]]:
    """Parse one JSON text strictly: (value or UNREADABLE, [(error, character offset)]).

    Fatal errors (bad UTF-8, bad JSON, NaN, nesting over MAX_DEPTH) leave no value. A
    repeated key or an unpaired surrogate is reported by pointer, and the value is kept
    (with the last of the repeated values, as orjson and most readers do).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as bad:
        return UNREADABLE, [(_utf8_error(data, bad), len(data[: bad.start].decode("utf-8")))]
    repeated: list[tuple[dict, list[str]]] = []

    def keep_repeats(pairs):
        obj = dict(pairs)
        if len(obj) != len(pairs):
            counts = Counter(key for key, _ in pairs)
            repeated.append((obj, [key for key, n in counts.items() if n > 1]))
        return obj

    decoder = json.JSONDecoder(object_pairs_hook=keep_repeats, parse_constant=_no_constants)
    try:
        with _room_for_depth():
            value = decoder.decode(text)
    except (ValueError, RecursionError, _LookCloser) as exc:
        return UNREADABLE, [_describe_refusal(data, text, exc)]
    if _depth(value) > MAX_DEPTH:
        return UNREADABLE, [_describe_refusal(data, text, RecursionError())]
    errors = []
    for pointer in _surrogate_pointers(value):
        errors.append((ReadError("unicode", "contains an unpaired surrogate (a \\uD800-\\uDFFF escape that is not "
                                 "half of a pair): it is not a character and cannot be written as UTF-8",
                                 pointer=pointer, fatal=False), _locate_quietly(text, pointer)))
    pointers = _pointers_of(value, {id(obj) for obj, _ in repeated})
    for obj, keys in repeated:
        for key in keys:
            pointer = pointers.get(id(obj), "") + "/" + escape_pointer_token(key)
            errors.append((ReadError("duplicate-key", f"key {key!r} appears more than once in this object; JSON "
                                     "readers disagree about which value wins (the last is kept)",
                                     pointer=pointer, fatal=False), _locate_quietly(text, pointer, at_key=True)))
    return value, errors


class _room_for_depth:
    """Let the stdlib parser (recursive C) reach MAX_DEPTH wherever it is called from, so
    the depth limit is the same everywhere; restored on exit."""

    def __enter__(self):
        self._old = sys.getrecursionlimit()
        frame, depth = sys._getframe(), 0
        while frame is not None:
            frame, depth = frame.f_back, depth + 1
        sys.setrecursionlimit(max(self._old, depth + MAX_DEPTH + 100))

    def __exit__(self, *exc):
        sys.setrecursionlimit(self._old)


def _locate_quietly(text: str, pointer: str, at_key: bool = False) -> int | None:
    with _room_for_depth():
        return locate_pointer(text, pointer, at_key=at_key)


def _utf8_error(data: bytes, bad: UnicodeDecodeError) -> ReadError:
    verb = "start" if bad.reason.startswith("invalid start") else "continue"
    return ReadError("utf-8", f"invalid UTF-8: byte 0x{data[bad.start]:02X} cannot {verb} a character (the text "
                     "is in another encoding, e.g. Windows-1252, or a multi-byte character was cut)")


def _describe_refusal(data: bytes, text: str, exc: BaseException) -> tuple[ReadError, int | None]:
    """The stdlib parser refused the text: let orjson word it (its messages and positions
    are better), falling back to the stdlib's own error."""
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError as orjson_exc:
        return describe_json_error(text, orjson_exc.msg, orjson_exc.pos)
    if isinstance(exc, RecursionError):
        return ReadError("depth", f"nested more than {MAX_DEPTH} levels deep; such input is refused"), None
    if isinstance(exc, json.JSONDecodeError):
        return describe_json_error(text, exc.msg, exc.pos)
    return ReadError("json", f"invalid JSON ({type(exc).__name__})"), None


_NON_FINITE = re.compile(r"-?(?:NaN|Infinity)")


def describe_json_error(text: str, msg: str, pos: int) -> tuple[ReadError, int | None]:
    """(error in words, character offset) for a JSON text a parser refused at ``pos``."""
    pos = min(pos, len(text))
    if not text.strip():
        return ReadError("json", "no JSON value here (an empty line or file; JSON Lines needs one value "
                         "on every line)"), None
    if "depth" in msg or "recursion" in msg:
        return ReadError("depth", f"nested more than {MAX_DEPTH} levels deep; such input is refused, "
                         "as by most JSON tools"), pos
    non_finite = _NON_FINITE.match(text, max(pos - 1, 0)) or _NON_FINITE.match(text, pos)
    if non_finite:
        return ReadError("json", f"{non_finite.group()} is not a JSON number (JSON has no NaN or Infinity; "
                         "write null, or a string)"), non_finite.start()
    if "BOM" in msg or text.startswith("\ufeff"):
        return ReadError("bom", "starts with a byte order mark (BOM), which JSON does not allow"), 0
    if "end of data" in msg or "EOF" in msg or "Unterminated" in msg:
        return ReadError("json", "the JSON ends in the middle of a value (the line was cut short?)"), pos
    if "after document" in msg or "Extra data" in msg:
        return ReadError("json", "more JSON after the end of the record (two records on one line?)"), pos
    if "out of range" in msg:
        return ReadError("json", "number outside the range this reader supports"), pos
    return ReadError("json", f"invalid JSON: {msg}"), pos


def _has_surrogate(value) -> bool:
    return bool(_surrogate_pointers(value, first_only=True))


def _surrogate_pointers(value, first_only: bool = False) -> list[str]:
    """Pointers of the strings (values or keys) holding an unpaired surrogate."""
    found = []
    stack = [(value, "")]
    while stack:
        item, pointer = stack.pop()
        kind = type(item)
        if kind is str:
            if _SURROGATE.search(item):
                found.append(pointer)
        elif kind is dict:
            for key, sub in item.items():
                where = f"{pointer}/{escape_pointer_token(key)}"
                if _SURROGATE.search(key):
                    found.append(where)
                stack.append((sub, where))
        elif kind is list:
            stack.extend((sub, f"{pointer}/{i}") for i, sub in enumerate(item))
        if found and first_only:
            break
    return sorted(found)


def _depth(value) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if type(item) is dict:
            deepest = max(deepest, level)
            stack.extend((sub, level + 1) for sub in item.values() if type(sub) in (dict, list))
        elif type(item) is list:
            deepest = max(deepest, level)
            stack.extend((sub, level + 1) for sub in item if type(sub) in (dict, list))
    return deepest


def _pointers_of(doc, wanted_ids: set[int]) -> dict[int, str]:
    """JSON pointers of the containers whose id() is wanted (iterative: no recursion limit)."""
    found = {}
    stack = [(doc, "")]
    while stack and len(found) < len(wanted_ids):
        value, pointer = stack.pop()
        if id(value) in wanted_ids:
            found[id(value)] = pointer
        if type(value) is dict:
            stack.extend((v, f"{pointer}/{escape_pointer_token(k)}") for k, v in value.items()
                         if type(v) in (dict, list))
        elif type(value) is list:
            stack.extend((v, f"{pointer}/{i}") for i, v in enumerate(value) if type(v) in (dict, list))
    return found


# --- JSON pointers to positions -----------------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_scanstring = json.decoder.scanstring


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def split_pointer(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def locate_pointer(text: str, pointer: str, *, at_key: bool = False, start: int = 0) -> int | None:
    """0-based offset in ``text`` (valid JSON) of the value at ``pointer``, or None.

    ``start`` is the offset of the value the pointer is relative to. With a repeated key
    the last occurrence wins, as in the parsed value. With ``at_key`` the offset is that of
    the key's opening quote instead of the value. Only used on the error path: it skips
    sibling values with the stdlib decoder.
    """
    try:
        idx = _WS.match(text, start).end()
        key_at = idx
        for token in split_pointer(pointer):
            opener = text[idx: idx + 1]
            if opener == "{":
                found = _find_member(text, idx, token)
                if found is None:
                    return None
                key_at, idx = found
            elif opener == "[" and token.isascii() and token.isdigit():
                idx = _find_element(text, idx, int(token))
                if idx is None:
                    return None
                key_at = idx
            else:
                return None
        return key_at if at_key else idx
    except (ValueError, IndexError, RecursionError):
        return None


def _find_member(text: str, idx: int, wanted: str) -> tuple[int, int] | None:
    found = None
    idx = _WS.match(text, idx + 1).end()
    if text[idx] == "}":
        return None
    while True:
        key_at = idx
        key, idx = _scanstring(text, idx + 1)
        idx = _WS.match(text, idx).end() + 1  # past ':'
        idx = _WS.match(text, idx).end()
        if key == wanted:
            found = (key_at, idx)
        _, idx = _DECODER.raw_decode(text, idx)
        idx = _WS.match(text, idx).end()
        if text[idx] == "}":
            return found
        idx = _WS.match(text, idx + 1).end()  # past ','


def _find_element(text: str, idx: int, wanted: int) -> int | None:
    idx = _WS.match(text, idx + 1).end()
    if text[idx] == "]":
        return None
    for _ in range(wanted):
        _, idx = _DECODER.raw_decode(text, idx)
        idx = _WS.match(text, idx).end()
        if text[idx] == "]":
            return None
        idx = _WS.match(text, idx + 1).end()
    return idx


class ArrayIndex:
    """Offsets of the elements of a JSON array text, found front to back once, as asked for
    (so reporting errors in many elements of one big .json file stays linear)."""

    def __init__(self, text: str):
        self.text = text
        self._offsets: list[int] = []
        self._next: int | None = None
        self._done = False

    def offset(self, index: int) -> int | None:
        while len(self._offsets) <= index and not self._done:
            try:
                self._scan_one()
            except (ValueError, IndexError, RecursionError):
                self._done = True
        return self._offsets[index] if index < len(self._offsets) else None

    def _scan_one(self) -> None:
        text, idx = self.text, self._next
        if idx is None:
            idx = _WS.match(text, 0).end()
            if text[idx: idx + 1] != "[":
                self._done = True
                return
            idx = _WS.match(text, idx + 1).end()
            if text[idx: idx + 1] == "]":
                self._done = True
                return
        self._offsets.append(idx)
        _, end = _DECODER.raw_decode(text, idx)
        end = _WS.match(text, end).end()
        if text[end: end + 1] == ",":
            self._next = _WS.match(text, end + 1).end()
        else:
            self._done = True


# --- one JSON document (.json) ------------------------------------------------------------

def iter_json_document(fh: BinaryIO, max_bytes: int = MAX_JSON_DOCUMENT_BYTES) -> Iterator[ReadItem]:
    """A ``.json`` file: one record (an object) or an array of records."""
    data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        yield ReadItem(None, None, ReadError("too-large", f"a .json document over {_size(max_bytes)} is not read "
                                             "whole; store big collections as JSON Lines"))
        return
    if bom := _other_bom(data):
        yield ReadItem(1, 1, ReadError("encoding", f"the file starts with a {bom} byte order mark: it is not UTF-8"))
        return
    if data.startswith(_UTF8_BOM):
        yield ReadItem(1, 1, ReadError("bom", "the file starts with a UTF-8 byte order mark (BOM); JSON must not "
                                       "have one (it was skipped to read the records)", fatal=False))
        data = data[len(_UTF8_BOM):]
    doc, errors = parse_careful(data)
    if doc is UNREADABLE:
        err, offset = errors[0]
        text = data.decode("utf-8", "replace")
        yield _item_at(text, offset, err, "")
        return
    text = data.decode("utf-8")
    if isinstance(doc, list):
        by_element: dict[int, list] = {}
        for err, offset in errors:
            head, _, rest = err.pointer[1:].partition("/")
            moved = ReadError(err.keyword, err.message, "/" + rest if rest else "", fatal=False)
            by_element.setdefault(int(head), []).append((moved, offset))
        for i, record in enumerate(doc):
            for err, offset in by_element.get(i, ()):
                yield _item_at(text, offset, err, f"/{i}")
            yield ReadItem(None, None, record, text, f"/{i}")
    else:
        for err, offset in errors:
            yield _item_at(text, offset, err, "")
        yield ReadItem(None, None, doc, text)


def _item_at(text: str, offset: int | None, err: ReadError, prefix: str) -> ReadItem:
    if offset is None:
        return ReadItem(None, None, err, text, prefix)
    line, column = line_and_column(text, offset)
    return ReadItem(line + 1, column, err, text, prefix)


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """(0-based line within text, 1-based column) of a character offset."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, line_start), offset - line_start + 1


# --- Parquet ------------------------------------------------------------------------------

def iter_parquet(fh: BinaryIO, batch_rows: int = 2048) -> Iterator[ReadItem]:
    """One item per row (numbered from 1), plus errors for values JSON cannot hold."""
    import pyarrow.parquet as pq

    source = fh if fh.seekable() else io.BytesIO(fh.read())
    row = 0
    try:  # anything pyarrow raises past open() is about the content: report, never crash
        parquet = pq.ParquetFile(source)
        for batch in parquet.iter_batches(batch_size=batch_rows):
            for record in batch.to_pylist():
                row += 1
                for pointer, message in non_json_values(record):
                    yield ReadItem(row, None, ReadError("json-type", message, pointer, fatal=False))
                yield ReadItem(row, None, record)
    except Exception as exc:  # noqa: BLE001
        where = "the file" if row == 0 else f"rows after {row}"
        yield ReadItem(row + 1 if row else None, None, ReadError(
            "parquet", f"cannot read {where} as Parquet: {exc}"))


def non_json_values(value, pointer: str = "") -> list[tuple[str, str]]:
    """(pointer, message) for every value a JSON document could not hold (Parquet rows)."""
    found = []
    stack = [(value, pointer)]
    while stack:
        item, where = stack.pop()
        if item is None or isinstance(item, (str, bool, int)):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                found.append((where, f"{item} is not a JSON number (JSON has no NaN or Infinity; store null)"))
        elif isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    found.append((where, f"key {key!r} is not a string, as JSON object keys must be"))
                else:
                    stack.append((sub, f"{where}/{escape_pointer_token(key)}"))
        elif isinstance(item, list):
            stack.extend((sub, f"{where}/{i}") for i, sub in enumerate(item))
        else:
            found.append((where, f"a {type(item).__name__} value has no JSON form (for a timestamp or a date, "
                          "store an ISO 8601 string)"))
    found.sort()
    return found


# --- zstd ---------------------------------------------------------------------------------

class _ZstdFrames(io.RawIOBase):
    """Decompress concatenated zstd frames and raise EOFError when the input stops inside a
    frame: zstandard's stream_reader returns the partial data silently, which would hide a
    truncated file that happens to end on a line boundary."""

    def __init__(self, fh: BinaryIO):
        self._fh = fh
        self._dctx = zstandard.ZstdDecompressor()
        self._frame = None
        self._out = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._out:
            chunk = self._fh.read(1 << 17)
            if not chunk:
                if self._frame is not None and not self._frame.eof:
                    raise EOFError("zstd stream ended inside a frame")
                return 0
            self._out = memoryview(self._decompress(chunk))
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _decompress(self, data: bytes) -> bytes:
        parts = []
        while data:
            if self._frame is None or self._frame.eof:
                self._frame = self._dctx.decompressobj()
            parts.append(self._frame.decompress(data))
            data = self._frame.unused_data if self._frame.eof else b""
        return b"".join(parts)
