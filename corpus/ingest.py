"""Read raw articles from files: one-article text files, folders of them, and JSONL
(plain or gzipped; news-please field names understood). Yields ``RawArticle`` for every
article and ``Reject`` for every input that cannot become one, never raising on bad data.
"""
from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator

import orjson

TEXT_SUFFIXES = (".txt",)
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".jsonl.gzip")


@dataclass(frozen=True)
class RawArticle:
    text: str
    source: str  # input path relative to the input root, with #<line> for JSONL
    sha256: str  # of the input record's raw bytes
    title: str | None = None
    title_in_text: bool = False
    url: str | None = None
    publisher: str | None = None
    published: str | None = None
    input_id: str | None = None
    lang: str | None = None
    decode_fixes: tuple = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reject:
    source: str
    reason: str  # a sentence naming file, line and field
    code: str  # short category, counted in the build statistics
    field: str | None = None
    raw: str | None = None  # a bounded excerpt of what was rejected

    def as_dict(self) -> dict:
        return {"input": self.source, "code": self.code, "reason": self.reason, "field": self.field, "raw": self.raw}


class InputError(ValueError):
    """An input path that cannot be read at all (missing, unsupported)."""


def _excerpt(data: bytes | str, limit: int = 300) -> str:
    if isinstance(data, bytes):
        data = data[:limit].decode("utf-8", errors="backslashreplace")
    return data[:limit]


def iter_input_files(paths, root: Path | None = None) -> Iterator[tuple[Path, str]]:
    """Expand files and folders into (path, path relative to root), in sorted order."""
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise InputError(f"{p}: no such file or folder")
        base = Path(root) if root else (p if p.is_dir() else p.parent)
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            if f.name.startswith(".") or f.suffix in (".md", ".toml", ".py", ".pyc"):
                continue
            try:
                rel = f.resolve().relative_to(base.resolve()).as_posix()
            except ValueError:
                rel = f.name
            yield f, rel


def read_inputs(paths, root: Path | None = None, *, encoding: str | None = None) -> Iterator[RawArticle | Reject]:
    for path, rel in iter_input_files(paths, root):
        name = path.name.lower()
        if name.endswith(JSONL_SUFFIXES):
            yield from read_jsonl(path, rel, encoding=encoding)
        elif name.endswith(TEXT_SUFFIXES):
            yield read_text_file(path, rel, encoding=encoding)
        else:
            yield Reject(rel, f"{rel}: unsupported file type (expected .txt, .jsonl or .jsonl.gz)", "unsupported-file")


def read_text_file(path: Path, rel: str, *, encoding: str | None = None) -> RawArticle | Reject:
    from .encoding import UndecodableError, decode_bytes

    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if not data.strip():
        return Reject(rel, f"{rel}: empty file", "empty-input", "text")
    try:
        decoded = decode_bytes(data, encoding=encoding)
    except UndecodableError as exc:
        return Reject(rel, f"{rel}: cannot decode: {exc}", "undecodable", "text", _excerpt(data, 60))
    if not decoded.text.strip():
        return Reject(rel, f"{rel}: no text after decoding ({decoded.encoding})", "empty-input", "text")
    return RawArticle(
        text=decoded.text, source=rel, sha256=digest, title_in_text=True,
        decode_fixes=tuple((f.step, f.detail) for f in decoded.fixes),
    )


def _open_lines(path: Path) -> Iterator[bytes]:
    if path.name.lower().endswith((".gz", ".gzip")):
        with gzip.open(path, "rb") as fh:
            yield from fh
    else:
        with open(path, "rb") as fh:
            yield from fh


def _str_or_none(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def read_jsonl(path: Path, rel: str, *, encoding: str | None = None) -> Iterator[RawArticle | Reject]:
    from .encoding import UndecodableError, decode_bytes

    n = 0
    try:
        for n, line in enumerate(_open_lines(path), 1):
            src = f"{rel}#{n}"
            if not line.strip():
                continue
            raw = line.rstrip(b"\r\n")
            digest = hashlib.sha256(raw).hexdigest()
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                try:  # not UTF-8? decode robustly, then parse the text
                    obj = orjson.loads(decode_bytes(raw, encoding=encoding).text)
                except (orjson.JSONDecodeError, UndecodableError):
                    yield Reject(src, f"{rel}:{n}: invalid JSON: {exc}", "invalid-json", None, _excerpt(raw))
                    continue
            if not isinstance(obj, dict):
                yield Reject(src, f"{rel}:{n}: expected a JSON object, got {type(obj).__name__}", "not-an-object", None, _excerpt(raw))
                continue
            yield _article_from_json(obj, src, f"{rel}:{n}", digest, raw)
    except (OSError, EOFError, zlib.error) as exc:
        yield Reject(f"{rel}#{n + 1}", f"{rel}:{n + 1}: cannot read further: {exc}", "read-error")


def _article_from_json(obj: dict, src: str, where: str, digest: str, raw: bytes) -> RawArticle | Reject:
    text_field = "text" if _str_or_none(obj.get("text")) else "maintext"
    text = obj.get(text_field)
    if not isinstance(text, str) or not text.strip():
        present = [k for k in ("text", "maintext") if k in obj]
        why = "is empty" if present else "is missing"
        return Reject(src, f"{where}: field 'text' (or 'maintext') {why}", "missing-text", "text", _excerpt(raw))
    warnings = []
    published_raw = obj.get("published", obj.get("date_publish"))
    published = parse_date(published_raw)
    if published_raw not in (None, "") and published is None:
        warnings.append(f"{where}: field 'published': cannot parse date {str(published_raw)[:40]!r}; set to null")
    url = _str_or_none(obj.get("url"))
    if url and not re.match(r"https?://", url):
        warnings.append(f"{where}: field 'url': not an http(s) URL {url[:60]!r}; set to null")
        url = None
    return RawArticle(
        text=text,
        source=src,
        sha256=digest,
        title=_str_or_none(obj.get("title")),
        url=url,
        publisher=_str_or_none(obj.get("publisher")) or _str_or_none(obj.get("source_domain")),
        published=published,
        input_id=_str_or_none(obj.get("id")),
        lang=_str_or_none(obj.get("language") or obj.get("lang")),
        warnings=tuple(warnings),
    )


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d-%m-%Y")


def parse_date(value) -> str | None:
    """ISO 8601 text for a date value, keeping its offset; naive times stay naive."""
    if not isinstance(value, str) or not value.strip():
        return None
    v = value.strip()
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        dt = None
        for fmt in _DATE_FORMATS:
            try:
                dt = datetime.strptime(v, fmt)
                break
            except ValueError:
                continue
        if dt is None:
            return None
    if len(v) == 10 and dt.hour == dt.minute == dt.second == 0 and "T" not in v and " " not in v:
        return dt.date().isoformat()
    return dt.isoformat(timespec="seconds")
