"""Validate records against the article JSON Schema, and whole files as a CI gate.

One record (the normaliser's use)::

    load_validator().issues(record) -> list[Issue]       # [] when valid

Files, folders, globs or stdin (``corpus validate``)::

    run = CorpusValidator(Options(schema="article", strict=False))
    for finding in run.run(["data/"]):
        print(render_finding(finding, "text"))
    print(render_summary(run.summary, "text")); exit(run.summary.exit_code)

The verdict comes from jsonschema-rs when it is importable (about 2 µs a record) and from
jsonschema otherwise; jsonschema, the reference, explains every invalid record, and
jsonschema-rs's own errors are used only when the two disagree. No schema ever makes a
network request: a ``$ref`` outside the schema document is refused with a clear error.
jsonschema and jsonschema-rs are imported lazily, so importing this module stays cheap.
"""
from __future__ import annotations

import glob
import io
import os
import re
import sys
import unicodedata
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import urldefrag, urljoin

import orjson

from .readers import (DEFAULT_MAX_LINE_BYTES, FORMATS, JSONL_FORMATS, ArrayIndex, ReadError, ReadItem,
                      escape_pointer_token, format_of, iter_jsonl, jsonl_chunks, jsonl_stream, line_and_column,
                      locate_pointer, read_records, read_stream, sniff_format)
from .resources import load_schema, schema_dir

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

# Checks beyond JSON Schema: name -> what it reports. All but "noise" run by default;
# "noise" runs with --strict. Each can be switched off by name.
CHECKS = {
    "duplicate-id": "the same id twice in one file",
    "duplicate-id-across-files": "the same id in two of the files validated together",
    "nfc": "title, text, publisher, dateline or attribution not in Unicode NFC",
    "mojibake": "encoding damage in title or text (corpus.encoding.quality_flags) that the "
                "record's quality_flags does not declare",
    "noise": "only with --strict: boilerplate the cleaner would remove from text "
             "(corpus.normalise.find_noise)",
}
TEXT_FIELDS = ("title", "text", "publisher", "dateline", "attribution")
MOJIBAKE_FIELDS = ("title", "text")

# Read errors that concern the file rather than one record: they count as errors, not records.
_FILE_LEVEL_KEYWORDS = frozenset({"compression", "too-large", "encoding", "parquet"})


class SchemaError(ValueError):
    """The schema cannot be used: unknown name, unreadable, invalid, or an external $ref."""


@dataclass(frozen=True)
class Issue:
    """One problem with one record."""

    pointer: str  # JSON pointer of the field, "" for the record itself
    keyword: str  # schema keyword that failed (or a check name)
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message} [{self.keyword}]"


# --- one record against a schema ------------------------------------------------------------

class RecordValidator:
    """A JSON Schema, compiled once: ``is_valid`` is fast, ``issues`` explains."""

    def __init__(self, schema: dict, *, use_fast: bool = True):
        if not isinstance(schema, (dict, bool)):
            raise SchemaError(f"a JSON Schema is an object (or a boolean), not {type(schema).__name__}")
        refuse_external_refs(schema)
        self._reference = _reference_validator(schema)
        self._fast = _fast_validator(schema) if use_fast else None

    @property
    def engine(self) -> str:
        return "jsonschema-rs" if self._fast is not None else "jsonschema"

    def is_valid(self, record: object) -> bool:
        if self._fast is not None:
            try:
                return self._fast.is_valid(record)
            except (ValueError, TypeError, OverflowError):
                pass  # a value JSON has no form for (e.g. a Parquet timestamp): ask the reference
        return self._reference_is_valid(record)

    def issues(self, record: object) -> list[Issue]:
        return [] if self.is_valid(record) else self.explain(record)

    def explain(self, record: object) -> list[Issue]:
        """Every schema error of the record, in words, ordered by field."""
        try:
            found = [issue for err in self._reference.iter_errors(record) for issue in _issues_of(err)]
        except RecursionError:
            return [Issue("", "depth", "the record is nested too deeply to validate")]
        except _unresolvable_errors() as exc:
            raise SchemaError(f"the schema has a $ref that cannot be resolved: {exc}") from exc
        if not found and self._fast is not None:
            found = self._fast_issues(record)  # the libraries disagree (e.g. a format): trust the stricter
        # jsonschema reports "required" once per missing field, each with the whole list: dedupe.
        found = list(dict.fromkeys(found))
        found.sort(key=lambda issue: _pointer_sort_key(issue.pointer))
        return found

    def _reference_is_valid(self, record: object) -> bool:
        try:
            return self._reference.is_valid(record)
        except RecursionError:
            return False

    def _fast_issues(self, record: object) -> list[Issue]:
        try:
            errors = list(self._fast.iter_errors(record))
        except (ValueError, TypeError, OverflowError):
            return []
        return [Issue(_pointer(err.instance_path), str(err.schema_path[-1]) if err.schema_path else "schema",
                      _shorten(err.message)) for err in errors]


@lru_cache(maxsize=None)
def load_validator(name: str = "article") -> RecordValidator:
    """The validator of a shipped schema (``article`` is the current one)."""
    return RecordValidator(load_schema(name))


def validator_for(spec: str = "article") -> RecordValidator:
    """The validator of a shipped schema by name, or of a schema file by path."""
    label, schema = resolve_schema(spec)
    return load_validator(label) if label in shipped_schemas() else RecordValidator(schema)


def shipped_schemas() -> list[str]:
    """Names usable with --schema: ``article`` (current) and frozen ``article-<version>``."""
    return sorted(p.name[: -len(".schema.json")] for p in schema_dir().glob("*.schema.json"))


def resolve_schema(spec: str) -> tuple[str, dict]:
    """(label, schema) for ``--schema``: a path if it has a '/' or ends in .json, else a name."""
    if "/" in spec or os.sep in spec or spec.endswith(".json"):
        try:
            data = Path(spec).read_bytes()
        except OSError as exc:
            raise SchemaError(f"cannot read the schema file {spec}: {exc.strerror or exc}") from exc
        try:
            return spec, orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise SchemaError(f"the schema file {spec} is not valid JSON: {exc}") from exc
    names = shipped_schemas()
    if spec not in names:
        raise SchemaError(f"unknown schema {spec!r}; shipped schemas are {', '.join(names)} "
                          "(or give the path of a .json schema file)")
    return spec, load_schema(spec)


def external_refs(schema) -> list[tuple[str, str]]:
    """(pointer in the schema, reference) for each $ref that leaves the schema document."""
    ids: set[str] = {""}
    refs: list[tuple[str, str, str]] = []
    stack = [(schema, "", "")]
    while stack:
        node, pointer, base = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$id"), str):
                base = urljoin(base, node["$id"])
                ids.add(urldefrag(base).url)
            for key, value in node.items():
                where = f"{pointer}/{escape_pointer_token(key)}"
                if key in ("$ref", "$dynamicRef", "$recursiveRef") and isinstance(value, str):
                    refs.append((where, urljoin(base, value), value))
                elif key not in ("const", "enum", "examples", "default"):  # data, not subschemas
                    stack.append((value, where, base))
        elif isinstance(node, list):
            stack.extend((value, f"{pointer}/{i}", base) for i, value in enumerate(node))
    return sorted((where, ref) for where, absolute, ref in refs if urldefrag(absolute).url not in ids)


def refuse_external_refs(schema) -> None:
    found = external_refs(schema)
    if found:
        where, ref = found[0]
        raise SchemaError(
            f"the schema refers to {ref!r} (at {where}), outside the schema itself; corpus validate never "
            "fetches a remote or external $ref (it works offline). Copy the referenced schema under "
            "$defs and refer to it as '#/$defs/NAME'."
            + (f" ({len(found) - 1} more such $ref)" if len(found) > 1 else ""))


def _refuse_retrieval(uri: str):
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)  # never fetch: jsonschema's default registry would


def _unresolvable_errors() -> tuple[type[BaseException], ...]:
    from referencing.exceptions import Unresolvable

    return (Unresolvable,)


def _reference_validator(schema):
    import referencing
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import SchemaError as JsonSchemaError
    from jsonschema.validators import validator_for as jsonschema_validator_for

    cls = jsonschema_validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except JsonSchemaError as exc:
        where = _pointer(exc.absolute_path) or "/"
        raise SchemaError(f"not a valid JSON Schema: {exc.message} (at {where})") from exc
    checker = FormatChecker(formats=cls.FORMAT_CHECKER.checkers)
    # jsonschema checks "uri" only if rfc3987 is installed; jsonschema-rs always checks it.
    checker.checks("uri")(is_uri)
    return cls(schema, format_checker=checker, registry=referencing.Registry(retrieve=_refuse_retrieval))


def _fast_validator(schema):
    try:
        import jsonschema_rs
    except ImportError:
        return None
    try:
        return jsonschema_rs.validator_for(schema, validate_formats=True, offline=True)
    except Exception as exc:  # noqa: BLE001 - any refusal: the reference alone will do
        if "retriev" in str(exc) or "Resource" in str(exc):
            raise SchemaError(f"the schema has a $ref that cannot be resolved: {str(exc).splitlines()[0]}") from exc
        return None


# RFC 3986 URI (absolute, optional fragment), the grammar jsonschema-rs checks "uri" against:
# scheme ":" ( "//" authority path-abempty / path-absolute / path-rootless / path-empty )
# [ "?" query ] [ "#" fragment ].
_UNRESERVED_SUB = r"A-Za-z0-9\-._~!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED_SUB}:@]|{_PCT})"
_URI = re.compile(
    rf"[A-Za-z][A-Za-z0-9+\-.]*:"
    rf"(?://(?:(?:[{_UNRESERVED_SUB}:]|{_PCT})*@)?"                  # //userinfo@
    rf"(?P<host>\[[^\]]*\]|(?:[{_UNRESERVED_SUB}]|{_PCT})*)"        # host
    rf"(?::[0-9]*)?(?:/{_PCHAR}*)*"                                  # :port path-abempty
    rf"|/?(?:{_PCHAR}+(?:/{_PCHAR}*)*)?)"                            # or a path without authority
    rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?")


def is_uri(value: object) -> bool:
    """The "uri" format: an RFC 3986 URI (ASCII only; IRIs need percent-encoding)."""
    if not isinstance(value, str):
        return True
    match = _URI.fullmatch(value)
    if match is None:
        return False
    host = match.group("host") or ""
    if host.startswith("["):
        import ipaddress

        inner = host[1:-1]
        if inner[:1] in ("v", "V"):
            return re.fullmatch(rf"[vV][0-9A-Fa-f]+\.[{_UNRESERVED_SUB}:]+", inner) is not None
        if "%" in inner:  # ipaddress accepts a zone id ("%eth0"); RFC 3986 does not
            return False
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            return False
    return True


# --- schema errors in words -------------------------------------------------------------------

def _issues_of(err) -> list[Issue]:
    """Issues for one jsonschema error: one per unexpected or missing field, else one."""
    pointer = _pointer(err.absolute_path)
    keyword = str(err.validator)
    instance, expected = err.instance, err.validator_value
    if keyword == "additionalProperties" and isinstance(instance, dict) and isinstance(err.schema, dict):
        named = err.schema.get("properties", {})
        patterns = err.schema.get("patternProperties", {})
        extra = [k for k in instance if k not in named and not any(re.search(p, k) for p in patterns)]
        if extra:
            allowed = ", ".join(named) if named else "none"
            return [Issue(f"{pointer}/{escape_pointer_token(k)}", keyword,
                          f"unexpected field {k!r}; the schema allows only: {allowed}") for k in extra]
    if keyword == "required" and isinstance(instance, dict) and isinstance(expected, list):
        missing = [k for k in expected if k not in instance]
        if missing:
            return [Issue(pointer, keyword, f"missing required field {k!r}") for k in missing]
    return [Issue(pointer, keyword, _message(err, keyword, instance, expected))]


def _message(err, keyword: str, instance, expected) -> str:
    what = _short(instance)
    if keyword == "type":
        return f"must be {_type_names(expected)}, not {_json_type(instance)}: {what}"
    if keyword == "const":
        return f"must be {_short(expected)}, not {what}"
    if keyword == "enum":
        shown = ", ".join(_short(v) for v in list(expected)[:8]) + (", ..." if len(expected) > 8 else "")
        return f"{what} is not one of the allowed values: {shown}"
    if keyword == "pattern":
        return f"{what} does not match the pattern {expected}{_about(err)}"
    if keyword == "format":
        return f"{what} is not a valid {expected}{_about(err)}"
    if keyword == "minLength" and isinstance(instance, str):
        return "must not be empty" if expected == 1 and not instance else \
            f"must be at least {expected} characters long, is {len(instance)}"
    if keyword == "maxLength" and isinstance(instance, str):
        return f"must be at most {expected} characters long, is {len(instance)}"
    if keyword == "uniqueItems" and isinstance(instance, list):
        seen, repeated = [], []
        for item in instance:
            (repeated if item in seen else seen).append(item)
        return f"items must be unique; repeated: {_short(repeated)}"
    return _shorten(err.message)


def _about(err) -> str:
    """The field's own description (first sentence), which says what a valid value is."""
    text = err.schema.get("description") if isinstance(err.schema, dict) else None
    if not isinstance(text, str):
        return ""
    first_sentence = re.split(r"(?<=\.)\s+(?=[A-Z])", text, maxsplit=1)[0].rstrip(".")
    return f" ({_shorten(first_sentence, 120)})"


def _type_names(expected) -> str:
    names = [expected] if isinstance(expected, str) else list(expected)
    words = [{"null": "null", "integer": "an integer", "array": "an array", "object": "an object"}.get(n, f"a {n}")
             for n in names]
    return " or ".join(words)


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _short(value, limit: int = 80) -> str:
    try:
        text = orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = f"<{type(value).__name__}>" if isinstance(value, (dict, list)) else repr(value)
    return _shorten(text, limit)


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pointer(path: Iterable) -> str:
    return "".join(f"/{escape_pointer_token(str(p))}" for p in path)


def _pointer_sort_key(pointer: str) -> list:
    return [(0, int(t), "") if t.isascii() and t.isdigit() else (1, 0, t) for t in pointer.split("/")[1:]]


# --- checks beyond the schema -----------------------------------------------------------------

def nfc_issues(record: dict, raw: bytes | None = None) -> list[Issue]:
    found = []
    for name in TEXT_FIELDS:
        value = record.get(name)
        # normalize() returns the very same object when its quick check passes: that is
        # cheaper than is_normalized(), and != on the same object is immediate.
        if type(value) is str and _normalize("NFC", value) != value:
            found.append(Issue(f"/{name}", "nfc", _nfc_message(value)))
    return found


_normalize = unicodedata.normalize


def _nfc_message(value: str) -> str:
    nfc = unicodedata.normalize("NFC", value)
    at = next((i for i, (a, b) in enumerate(zip(value, nfc)) if a != b), min(len(value), len(nfc)))
    written = " ".join(f"U+{ord(c):04X}" for c in value[at: at + 2])
    return (f"not in Unicode NFC: at character {at + 1}, {written} ({value[at: at + 2]!r}) is written "
            f"{' '.join(f'U+{ord(c):04X}' for c in nfc[at: at + 1])} ({nfc[at: at + 1]!r}) in NFC; "
            "normalise with unicodedata.normalize('NFC', ...)")


def make_mojibake_check():
    from .encoding import quality_flags
    try:
        from .encoding import passes_screen, utf8_screen
    except ImportError:  # a corpus.encoding without the screen: the full check on every text
        utf8_screen = None

    def mojibake_issues(record: dict, raw: bytes | None = None) -> list[Issue]:
        # One byte-level screen of the record's line serves title and text: clean records cost
        # a few memchr calls and str searches instead of two full checks (utf8_screen explains).
        screened = raw is not None and utf8_screen is not None
        screen = utf8_screen(raw) if screened else None
        found = []
        for name in MOJIBAKE_FIELDS:
            value = record.get(name)
            if type(value) is str:
                if screen is not None and passes_screen(value, screen):
                    continue
                flags = quality_flags(value, screen=screen) if screened else quality_flags(value)
                if not flags:
                    continue
                declared = _declared_flags(record)
                undeclared = [flag for flag in flags if flag not in declared]
                if undeclared:
                    found.append(Issue(f"/{name}", "mojibake", f"shows encoding damage that quality_flags does not "
                                       f"declare: {', '.join(undeclared)}"))
        return found

    return mojibake_issues


def _declared_flags(record: dict) -> set[str]:
    declared = record.get("quality_flags")
    return set(declared) if isinstance(declared, list) and all(isinstance(f, str) for f in declared) else set()


def make_noise_check():
    from .normalise import find_noise

    def noise_issues(record: dict, raw: bytes | None = None) -> list[Issue]:
        text = record.get("text")
        if type(text) is not str:
            return []
        publisher, url = record.get("publisher"), record.get("url")
        removals = find_noise(text, publisher=publisher if isinstance(publisher, str) else None,
                              url=url if isinstance(url, str) else None)
        return [Issue("/text", "noise", f"the cleaner would remove {r.kind} (rule {r.rule}) at characters "
                      f"{r.start}-{r.end}: {_short(getattr(r, 'text', None) or text[r.start: r.end], 60)}")
                for r in removals]

    return noise_issues


# --- files ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Options:
    schema: str = "article"
    disabled: frozenset[str] = frozenset()
    strict: bool = False
    max_errors: int | None = None  # cap on reported errors; counting goes on
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    stdin_filename: str | None = None  # name (and format, by its suffix) of "-"
    # Worker processes for JSON Lines files: None = one per CPU for a file of PARALLEL_BYTES
    # or more (a pool costs more than it saves on small files), else none; 0 = one per CPU.
    jobs: int | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One error, where it is: ``line`` for JSON and JSON Lines, ``row`` for Parquet."""

    file: str
    line: int | None
    row: int | None
    column: int | None
    pointer: str
    keyword: str
    message: str
    usage: bool = False  # a usage or I/O error (exit code 2), not an invalid record

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "row": self.row, "column": self.column,
                "pointer": self.pointer, "keyword": self.keyword, "message": self.message,
                "kind": "usage" if self.usage else "invalid"}


@dataclass
class Summary:
    files: int = 0
    records: int = 0
    invalid_records: int = 0
    errors: int = 0  # invalid-record and damaged-file errors
    usage_errors: int = 0  # usage and I/O errors
    shown: int = 0
    unavailable: dict[str, str] = field(default_factory=dict)  # check -> why it did not run
    schema: str = ""
    engine: str = ""

    @property
    def exit_code(self) -> int:
        if self.usage_errors:
            return EXIT_USAGE
        return EXIT_INVALID if self.errors else EXIT_VALID

    def as_dict(self) -> dict:
        return {"files": self.files, "records": self.records, "invalid_records": self.invalid_records,
                "errors": self.errors, "usage_errors": self.usage_errors, "shown": self.shown,
                "schema": self.schema, "engine": self.engine, "unavailable_checks": dict(self.unavailable),
                "exit_code": self.exit_code}


@dataclass(frozen=True)
class Source:
    name: str  # as shown in findings
    path: Path | None  # None for stdin
    fmt: str | None  # None: sniff (stdin only)


class CorpusValidator:
    """Validate many files in one run; ``summary`` is complete once ``run`` is exhausted."""

    def __init__(self, options: Options = Options()):
        unknown = set(options.disabled) - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown check(s) {', '.join(sorted(unknown))}; known: {', '.join(CHECKS)}")
        self.options = options
        self.validator = validator_for(options.schema)
        self.summary = Summary(schema=options.schema, engine=self.validator.engine)
        self._record_checks = self._load_record_checks()
        self._ids_in_file = "duplicate-id" not in options.disabled
        self._ids_across = "duplicate-id-across-files" not in options.disabled
        self._seen_ids: dict[str, tuple[int, int | None, str]] = {}  # id -> (file, line, record pointer)
        self._file_names: list[str] = []
        self._array_index: ArrayIndex | None = None  # element offsets of the current .json document

    def _enabled(self, name: str) -> bool:
        return name not in self.options.disabled and (name != "noise" or self.options.strict)

    def _load_record_checks(self) -> list[tuple[str, object]]:
        checks = []
        if self._enabled("nfc"):
            checks.append(("nfc", nfc_issues))
        for name, factory in (("mojibake", make_mojibake_check), ("noise", make_noise_check)):
            if self._enabled(name):
                try:
                    checks.append((name, factory()))
                except Exception as exc:  # noqa: BLE001 - another module missing or broken: say so, never crash
                    self.summary.unavailable[name] = f"cannot import it ({type(exc).__name__}: {exc})"
        return checks

    def run(self, paths: Iterable[str]) -> Iterator[Finding]:
        pool = None
        try:
            for source in expand_inputs(paths, self.options.stdin_filename):
                if isinstance(source, Finding):
                    yield from self._report(source)
                elif (jobs := self._workers_for(source)) > 1:
                    if pool is None:
                        pool = _worker_pool(jobs)
                    yield from self._validate_in_parallel(source, pool, jobs)
                else:
                    yield from self._validate_source(source)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)

    def _workers_for(self, source: Source) -> int:
        if source.path is None or source.fmt not in JSONL_FORMATS:
            return 1
        jobs = self.options.jobs
        if jobs is None:
            try:
                jobs = 0 if os.path.getsize(source.path) >= PARALLEL_BYTES else 1
            except OSError:
                return 1  # reported when it is read
        return jobs or _cpu_count()

    # The hot loop: one pass per record, positions computed only for reported errors.
    def _validate_source(self, source: Source) -> Iterator[Finding]:
        self.summary.files += 1
        self._file_names.append(source.name)
        file_index = len(self._file_names) - 1
        summary = self.summary
        fast = self.validator._fast
        is_valid = fast.is_valid if fast is not None else self.validator.is_valid
        checks = self._record_checks
        track_ids = self._ids_in_file or self._ids_across
        seen_ids = self._seen_ids
        by_row = source.fmt == "parquet"
        records = invalid = 0  # added to the summary at the end: cheaper than attributes
        # Readers put a record's non-fatal defects (BOM, repeated key) just before it.
        defective = False
        try:
            for item in self._items(source):
                line, _, value, raw, prefix, verbatim = item  # record items may be plain tuples: see iter_jsonl
                if type(value) is ReadError:
                    if not value.fatal:
                        defective = True
                    elif value.keyword not in _FILE_LEVEL_KEYWORDS:
                        records += 1
                        invalid += 1
                    yield from self._report_read_error(source, item, by_row)
                    continue
                records += 1
                try:
                    valid = is_valid(value)
                except (ValueError, TypeError, OverflowError):  # as RecordValidator.is_valid
                    valid = self.validator.is_valid(value)
                issues = None if valid else self.validator.explain(value)
                if type(value) is dict:
                    if track_ids:
                        rid = value.get("id")
                        if type(rid) is str:
                            first = seen_ids.get(rid)
                            if first is None:
                                seen_ids[rid] = (file_index, line, prefix)
                            elif repeated := self._duplicate_id(rid, first, file_index):
                                issues = (issues or []) + repeated
                    screenable = raw if verbatim else None  # bytes holding every string of the record
                    for name, check in checks:
                        try:
                            found = check(value, screenable)
                        except Exception as exc:  # noqa: BLE001 - a bug elsewhere must not stop the gate
                            self._disable_check(name, source, line, f"{type(exc).__name__}: {exc}")
                            checks = self._record_checks
                            continue
                        if found:
                            issues = (issues or []) + found
                if issues or defective:
                    invalid += 1
                defective = False
                if issues:
                    item = ReadItem(*item)
                    for issue in issues:
                        yield from self._report_issue(source, item, issue, by_row)
        except OSError as exc:
            yield from self._report(Finding(source.name, None, None, None, "", "io",
                                            f"cannot read: {exc.strerror or exc}", usage=True))
        finally:
            summary.records += records
            summary.invalid_records += invalid

    # --jobs: worker processes parse and check runs of lines; this process tracks ids and
    # reports, in file order, so findings are those of _validate_source. A plain file is cut
    # into byte ranges of whole lines that the workers read themselves (this process only
    # counts line breaks); a compressed one is decompressed here and sent as lines.
    def _validate_in_parallel(self, source: Source, pool, jobs: int) -> Iterator[Finding]:
        self.summary.files += 1
        self._file_names.append(source.name)
        file_index = len(self._file_names) - 1
        pending: deque = deque()  # ReadItem, or a future of _check_range / _check_lines, in file order
        state = {"defective": False, "stop": False}
        try:
            with open(source.path, "rb", buffering=1 << 20) as fh:
                if source.fmt == "jsonl":
                    pieces = _line_ranges(fh, _CHUNK_BYTES)
                else:
                    pieces = jsonl_chunks(jsonl_stream(fh, source.fmt), self.options.max_line_bytes, _CHUNK_BYTES)
                for piece in pieces:
                    names = tuple(name for name, _ in self._record_checks)
                    if isinstance(piece, ReadItem):
                        pending.append(piece)
                    elif len(piece) == 3:
                        start, _, first = piece
                        pending.append((pool.submit(_check_range, self.options, names, source.path, *piece),
                                        lambda n, s=start, f=first: _line_at(source.path, s, f, n)))
                    else:
                        first, lines = piece
                        pending.append((pool.submit(_check_lines, self.options, names, lines, first),
                                        lambda n, f=first, ls=lines: ls[n - f]))
                    while len(pending) > 2 * jobs and not state["stop"]:
                        yield from self._merge(source, file_index, pending.popleft(), state)
                    if state["stop"]:
                        break
        except OSError as exc:
            while pending and not state["stop"]:
                yield from self._merge(source, file_index, pending.popleft(), state)
            yield from self._report(Finding(source.name, None, None, None, "", "io",
                                            f"cannot read: {exc.strerror or exc}", usage=True))
        while pending and not state["stop"]:
            yield from self._merge(source, file_index, pending.popleft(), state)
        for entry in pending:
            if not isinstance(entry, ReadItem):
                entry[0].cancel()

    def _merge(self, source: Source, file_index: int, entry, state: dict) -> Iterator[Finding]:
        """What _validate_source does with these items, given the workers' verdicts."""
        summary = self.summary
        if isinstance(entry, ReadItem):
            results, stopped, line_at = [entry], False, None
        else:
            try:
                (results, stopped), line_at = entry[0].result(), entry[1]
            except BrokenProcessPool as exc:  # a worker was killed (out of memory, a signal)
                state["stop"] = True
                yield from self._report(Finding(source.name, None, None, None, "", "io",
                                                f"a worker process died ({exc}); the rest of the file was not "
                                                "checked: run again with --jobs 1", usage=True))
                return
        enabled = {name for name, _ in self._record_checks}
        track_ids = self._ids_in_file or self._ids_across
        seen_ids = self._seen_ids
        for result in results:
            if len(result) == 2:  # a record without issues: (line, id)
                line, rid = result
                if not state["defective"] and (rid is None or not track_ids or rid not in seen_ids):
                    summary.records += 1
                    if rid is not None and track_ids:
                        seen_ids[rid] = (file_index, line, "")
                    continue
                result = (line, rid, None, (), None)
            if isinstance(result, ReadItem):  # a read error
                err = result.value
                if not err.fatal:
                    state["defective"] = True
                elif err.keyword not in _FILE_LEVEL_KEYWORDS:
                    summary.records += 1
                    summary.invalid_records += 1
                yield from self._report_read_error(source, result, False)
                continue
            line, rid, tagged, failures, raw = result
            summary.records += 1
            issues = [issue for name, issue in tagged if name == ""] if tagged else []
            if rid is not None and track_ids:
                seen = seen_ids.get(rid)
                if seen is None:
                    seen_ids[rid] = (file_index, line, "")
                else:
                    issues += self._duplicate_id(rid, seen, file_index)
            if tagged:
                issues += [issue for name, issue in tagged if name in enabled]
            for name, message in failures:
                if name in enabled:
                    self._disable_check(name, source, line, message)
            if issues or state["defective"]:
                summary.invalid_records += 1
            state["defective"] = False
            if issues:
                # A record sent back without its line (no issue in the worker) has one here:
                # a repeated id, rare enough to read the line again.
                item = ReadItem(line, None, None, raw if raw is not None else line_at(line))
                for issue in issues:
                    yield from self._report_issue(source, item, issue, False)
        if stopped:
            state["stop"] = True

    def _items(self, source: Source):
        max_line = self.options.max_line_bytes
        if source.path is not None:
            return read_records(source.path, source.fmt, max_line_bytes=max_line)
        stdin = sys.stdin.buffer
        fmt = source.fmt
        if fmt is None:
            fmt, stdin = sniff_format(stdin)
        return read_stream(stdin, fmt, max_line_bytes=max_line)

    def _duplicate_id(self, rid: str, first: tuple, file_index: int) -> list[Issue]:
        """The issue for an id seen before at ``first`` (file, line, record pointer), if reported."""
        first_file, first_line, first_prefix = first
        same_file = first_file == file_index
        if (same_file and not self._ids_in_file) or (not same_file and not self._ids_across):
            return []
        place = f"line {first_line}" if first_line is not None else f"record {first_prefix}"
        where = place + ("" if same_file else f" of {self._file_names[first_file]}")
        keyword = "duplicate-id" if same_file else "duplicate-id-across-files"
        return [Issue("/id", keyword, f"id {rid!r} was already used ({where})")]

    def _disable_check(self, name: str, source: Source, line: int | None, why: str) -> None:
        self._record_checks = [(n, c) for n, c in self._record_checks if n != name]
        self.summary.unavailable[name] = f"failed on {source.name} line/row {line}: {why}"

    # --- reporting ---

    def _report(self, finding: Finding) -> Iterator[Finding]:
        if finding.usage:
            self.summary.usage_errors += 1
        else:
            self.summary.errors += 1
        if self.options.max_errors is None or self.summary.shown < self.options.max_errors:
            self.summary.shown += 1
            yield finding

    def _room_to_show(self) -> bool:
        return self.options.max_errors is None or self.summary.shown < self.options.max_errors

    def _report_read_error(self, source: Source, item, by_row: bool) -> Iterator[Finding]:
        err: ReadError = item.value
        line, column = item.line, item.column
        if line is None and item.prefix and self._room_to_show():
            line, column = self._position(item, err.pointer)
        yield from self._report(Finding(source.name, None if by_row else line, line if by_row else None,
                                        column, err.pointer, err.keyword, err.message))

    def _report_issue(self, source: Source, item, issue: Issue, by_row: bool) -> Iterator[Finding]:
        if not self._room_to_show():  # count it, skip the position work
            self.summary.errors += 1
            return
        if by_row:
            finding = Finding(source.name, None, item.line, None, issue.pointer, issue.keyword, issue.message)
        else:
            line, column = self._position(item, issue.pointer)
            finding = Finding(source.name, line, None, column, issue.pointer, issue.keyword, issue.message)
        yield from self._report(finding)

    def _position(self, item, pointer: str) -> tuple[int | None, int | None]:
        """(line, column) of a field of a record, from its JSON text."""
        raw = item.raw
        if raw is None:
            return item.line, None
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        start = 0
        if item.prefix:  # an element of a .json array
            if self._array_index is None or self._array_index.text is not text:
                self._array_index = ArrayIndex(text)
            start = self._array_index.offset(int(item.prefix[1:]))
            if start is None:
                return item.line, None
        offset = locate_pointer(text, pointer, start=start)
        if offset is None and pointer:
            offset = start if item.prefix else 0
        if offset is None:
            return item.line, None
        line_in_text, column = line_and_column(text, offset)
        return (item.line if item.line is not None else line_in_text + 1), column


# --- --jobs: the worker side --------------------------------------------------------------------

PARALLEL_BYTES = 8 << 20  # a JSON Lines file this large is checked by one worker per CPU by default
_CHUNK_BYTES = 1 << 20  # lines for a worker at a time: enough to make the call's cost small, few enough to keep every worker busy
_WORKER_STATE: dict = {}  # (options, check names) -> (validator, checks), per worker process


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _worker_pool(jobs: int):
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=jobs)


def _line_ranges(fh, size: int) -> Iterator[tuple[int, int, int]]:
    """(start, end, number of the first line) of runs of whole lines of about ``size`` bytes
    of a plain file (a run ends after a line break, the last one at the end of the file)."""
    start = pos = 0
    first = 1
    while chunk := fh.read(size):
        pos += len(chunk)
        cut = chunk.rfind(b"\n")
        if cut < 0:  # inside a long line
            continue
        end = pos - len(chunk) + cut + 1
        yield start, end, first
        start, first = end, first + chunk.count(b"\n")  # every break of the chunk is at or before cut
    if pos > start:
        yield start, pos, first


def _line_at(path: str, start: int, first: int, n: int) -> bytes:
    """Line ``n`` of a plain file, from the run of lines that starts with line ``first`` at byte ``start``."""
    with open(path, "rb") as fh:
        fh.seek(start)
        for _ in range(n - first):
            while (piece := fh.readline(1 << 20)) and piece[-1] != 10:  # an over-long line, in bounded pieces
                pass
        return fh.readline()


class _Window(io.RawIOBase):
    """``size`` bytes of a file from where it stands."""

    def __init__(self, fh, size: int):
        self._fh, self._left = fh, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._fh.readinto(memoryview(buffer)[: self._left]) if self._left > 0 else 0
        self._left -= n
        return n


def _check_range(options: Options, names: tuple[str, ...], path: str, start: int, end: int, first: int):
    """``_check_lines`` for the lines of a plain file between byte ``start`` and ``end``."""
    with open(path, "rb", buffering=0) as fh:
        fh.seek(start)
        if end - start <= 4 * _CHUNK_BYTES:  # the usual run: read at once
            return _check_stream(options, names, io.BytesIO(fh.read(end - start)), first)
        # A run that holds a very long line: read as it goes, so an over-long line is skipped unread.
        return _check_stream(options, names, io.BufferedReader(_Window(fh, end - start), 1 << 20), first)


def _check_lines(options: Options, names: tuple[str, ...], lines: list[bytes], first: int):
    """Parse and check lines ``first``.. of a JSON Lines file: everything but the ids, which
    need the whole run (see ``_check_stream``)."""
    return _check_stream(options, names, io.BytesIO(b"".join(lines)), first)


def _check_stream(options: Options, names: tuple[str, ...], stream, first: int):
    """([a ReadItem error, (line, id) for a record without issues, or (line, id, [(check or
    "", Issue)], [(check, why it failed)], the line) for one with], whether reading stops
    here) for the lines of ``stream``, the first of which is line ``first``."""
    key = (options, names)
    if key not in _WORKER_STATE:
        run = CorpusValidator(options)
        _WORKER_STATE[key] = (run.validator, [(n, c) for n, c in run._record_checks if n in names])
    validator, checks = _WORKER_STATE[key]
    results, stopped, mended = [], False, None
    for item in iter_jsonl(stream, options.max_line_bytes, first):
        line, _, value, raw, _, verbatim = item
        if type(value) is ReadError:
            results.append(ReadItem(*item))
            stopped = stopped or value.keyword == "encoding"  # a UTF-16/32 file: iter_jsonl stops
            mended = line  # a record read from this line may be read past a defect (a BOM)
            continue
        tagged = None if validator.is_valid(value) else [("", issue) for issue in validator.explain(value)]
        rid, failures = None, []
        if type(value) is dict:
            rid = value.get("id") if type(value.get("id")) is str else None
            for name, check in list(checks):
                try:
                    found = check(value, raw if verbatim else None)
                except Exception as exc:  # noqa: BLE001 - as in _validate_source
                    failures.append((name, f"{type(exc).__name__}: {exc}"))
                    checks = [(n, c) for n, c in checks if n != name]
                    continue
                if found:
                    tagged = (tagged or []) + [(name, issue) for issue in found]
        results.append((line, rid, tagged, failures, raw) if tagged or failures or line == mended else (line, rid))
    return results, stopped


def expand_inputs(paths: Iterable[str], stdin_filename: str | None = None) -> Iterator[Source | Finding]:
    """Sources for files, folders (recursive, hidden entries skipped), globs and '-'.

    A file named twice is validated once, so it cannot collide with its own ids.
    """
    seen: set[str] = set()
    for spec in paths:
        if spec == "-":
            name = stdin_filename or "<stdin>"
            yield Source(name, None, format_of(stdin_filename) if stdin_filename else None)
            continue
        path = Path(spec)
        if path.is_dir():
            files = _files_under(path)
            if not files:
                yield _usage(spec, f"no {'/'.join(FORMATS)} file under this folder")
        elif path.is_file() or path.exists():
            if format_of(path.name) is None:
                yield _usage(spec, f"unsupported file type (expected {', '.join(FORMATS)})")
                continue
            files = [path]
        elif glob.has_magic(spec):
            files = []
            for match in sorted(glob.glob(spec, recursive=True)):
                p = Path(match)
                files += _files_under(p) if p.is_dir() else [p] if format_of(p.name) else []
            if not files:
                yield _usage(spec, "no supported file matches this pattern")
        else:
            yield _usage(spec, "no such file or folder")
            continue
        for file in files:
            key = os.path.realpath(file)
            if key not in seen:
                seen.add(key)
                yield Source(str(file), file, format_of(file.name))


def _files_under(folder: Path) -> list[Path]:
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root, n) for n in sorted(names) if not n.startswith(".") and format_of(n)]
    return found


def _usage(spec: str, message: str) -> Finding:
    return Finding(spec, None, None, None, "", "io", message, usage=True)


def validate_paths(paths: Iterable[str], options: Options = Options()) -> tuple[list[Finding], Summary]:
    """Convenience: every reported finding and the summary, in one call."""
    run = CorpusValidator(options)
    findings = list(run.run(paths))
    return findings, run.summary


# --- output -----------------------------------------------------------------------------------

def render_finding(finding: Finding, fmt: str = "text") -> str:
    if fmt == "json":
        return orjson.dumps(finding.as_dict()).decode()
    if fmt == "github":
        return _github_annotation(finding)
    where = finding.file
    if finding.row is not None:
        where += f": row {finding.row}"
    elif finding.line is not None:
        where += f":{finding.line}" + (f":{finding.column}" if finding.column else "")
    field_part = f"{finding.pointer}: " if finding.pointer else ""
    return f"{where}: {field_part}{finding.message} [{finding.keyword}]"


def _github_annotation(finding: Finding) -> str:
    props = [f"file={_gh_property(finding.file)}"]
    if finding.line is not None:
        props.append(f"line={finding.line}")
        if finding.column:
            props.append(f"col={finding.column}")
    props.append(f"title={_gh_property('corpus validate: ' + finding.keyword)}")
    where = f"row {finding.row}: " if finding.row is not None else ""
    field_part = f"{finding.pointer}: " if finding.pointer else ""
    return f"::error {','.join(props)}::{_gh_data(where + field_part + finding.message)}"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def render_summary(summary: Summary, fmt: str = "text") -> str:
    if fmt == "json":
        return orjson.dumps({"summary": summary.as_dict()}).decode()
    parts = [f"{_count(summary.files, 'file')}, {_count(summary.records, 'record')}"]
    if summary.errors:
        parts.append(f"{_count(summary.errors, 'error')} in {_count(summary.invalid_records, 'invalid record')}")
    if summary.usage_errors:
        parts.append(_count(summary.usage_errors, "usage or I/O error"))
    if not summary.errors and not summary.usage_errors:
        parts.append("all valid")
    hidden = summary.errors + summary.usage_errors - summary.shown
    if hidden > 0:
        parts.append(f"{hidden:,} not shown (--max-errors)")
    for name, why in summary.unavailable.items():
        parts.append(f"check {name} unavailable: {why}")
    return f"corpus validate ({summary.schema}, exit {summary.exit_code}): " + "; ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def help_epilog() -> str:
    """The checks and exit codes, for ``corpus validate --help`` (and the README)."""
    import textwrap

    width = max(map(len, CHECKS))
    checks = "\n".join(textwrap.fill(what, 78, initial_indent=f"  {name:<{width}}  ",
                                      subsequent_indent=" " * (width + 4)) for name, what in CHECKS.items())
    return f"""\
inputs: .jsonl, .jsonl.gz, .jsonl.zst, .json (one record or an array of them),
.parquet; folders (searched recursively, hidden entries skipped), globs, and -
for stdin (format from --stdin-filename, else sniffed from the first bytes).

always checked: the JSON Schema (--schema; formats included), and that each
file can be read: UTF-8 without BOM, complete compressed streams, one JSON
value per line, no NaN/Infinity, no repeated keys, no unpaired surrogates, at
most 1024 levels of nesting, no line over --max-line-bytes. A $ref outside the
schema is never fetched: it is a usage error.

checks beyond the schema (switch off with --disable NAME):
{checks}

each error names the file, line (row for Parquet), column where known, the
JSON pointer of the field, and the schema keyword or check. The last line is
a summary.

exit codes:
  0  every record is valid
  1  invalid records or damaged files
  2  usage or I/O error (bad option, unknown or unusable schema, missing or
     unreadable file); takes precedence over 1
"""
