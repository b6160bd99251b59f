"""`corpus validate` as a CI gate: exact errors, robust readers, checks, output, schemas.

The checks that call other developers' modules (corpus.encoding, corpus.normalise) run
here against small stand-ins, so these tests state this module's contract only.
"""
from __future__ import annotations

import copy
import gzip
import io
import json
import os
import sys
import types
import unicodedata
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import corpus.encoding as real_encoding  # imported before the stand-ins replace it, for the screen tests
from corpus.cli import build_parser, main
from corpus.readers import ReadError, iter_jsonl, locate_pointer, read_records
from corpus.resources import load_schema
from corpus.validate import (CHECKS, EXIT_INVALID, EXIT_USAGE, EXIT_VALID, CorpusValidator, Issue, Options,
                             RecordValidator, SchemaError, external_refs, is_uri, load_validator, render_finding,
                             render_summary, shipped_schemas, validate_paths)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synth import valid_record  # noqa: E402  (the record skeleton the validate bench uses too)

# --- helpers ----------------------------------------------------------------------------------


def record(i: int = 0, **changes) -> dict:
    rec = valid_record(i, f"Thông xe cầu mới bắc qua sông Hậu {i}",
                       "Cây cầu dài 1,2 km được thông xe lúc 8:30 sáng nay.\nNgười dân bày tỏ niềm vui.")
    rec.update(changes)
    return rec


def line(rec) -> bytes:
    return orjson.dumps(rec) + b"\n"


def write_jsonl(path: Path, *lines) -> Path:
    path.write_bytes(b"".join(x if isinstance(x, bytes) else line(x) for x in lines))
    return path


def run(paths, **options):
    findings, summary = validate_paths([str(p) for p in paths], Options(**options))
    return findings, summary


def where(findings) -> list[tuple]:
    return [(f.line, f.pointer, f.keyword) for f in findings]


@pytest.fixture(autouse=True)
def stand_in_modules(monkeypatch):
    """corpus.encoding / corpus.normalise stand-ins: 'Ã' is mojibake, 'Bình luận (0)' noise."""
    encoding = types.ModuleType("corpus.encoding")
    encoding.quality_flags = lambda text: (["residual-mojibake"] if "Ã" in text else []) + (
        ["replacement-character"] if "\ufffd" in text else [])
    normalise = types.ModuleType("corpus.normalise")

    def find_noise(text, publisher=None, url=None):
        at = text.find("Bình luận (0)")
        return [] if at < 0 else [types.SimpleNamespace(start=at, end=at + 13, rule="comments-count",
                                                        kind="widget", text=text[at: at + 13])]

    normalise.find_noise = find_noise
    monkeypatch.setitem(sys.modules, "corpus.encoding", encoding)
    monkeypatch.setitem(sys.modules, "corpus.normalise", normalise)


# --- the record API the normaliser uses --------------------------------------------------------

def test_load_validator_keeps_its_meaning():
    v = load_validator()
    assert v.issues(record()) == []
    issues = v.issues(record(lang="Vietnamese", extra=1))
    assert [(i.pointer, i.keyword) for i in issues] == [("/extra", "additionalProperties"), ("/lang", "pattern")]
    assert all(isinstance(i, Issue) for i in issues)
    assert str(issues[1]).startswith("/lang: ") and str(issues[1]).endswith("[pattern]")


def test_every_missing_field_is_named_once():
    rec = record()
    del rec["title"], rec["url"]
    issues = load_validator().issues(rec)
    assert [(i.pointer, i.keyword, i.message) for i in issues] == [
        ("", "required", "missing required field 'title'"), ("", "required", "missing required field 'url'")]


def test_messages_are_words_and_short():
    issues = load_validator().issues(record(title=5, text="", quality_flags=["x", "x"], id="X" * 5000))
    by_pointer = {i.pointer: i.message for i in issues}
    assert by_pointer["/title"] == "must be a string or null, not a number: 5"
    assert by_pointer["/text"] == "must not be empty"
    assert "repeated" in by_pointer["/quality_flags"]
    assert by_pointer["/quality_flags/0"].startswith('"x" is not one of the allowed values: "replacement-character"')
    assert len(by_pointer["/id"]) < 300  # the 5000-character value is cut short


# --- files: every error, where it is ------------------------------------------------------------

def test_valid_file_passes(tmp_path):
    findings, summary = run([write_jsonl(tmp_path / "a.jsonl", record(1), record(2))])
    assert findings == [] and summary.exit_code == EXIT_VALID
    assert (summary.files, summary.records, summary.errors) == (1, 2, 0)
    assert render_summary(summary).endswith("1 file, 2 records; all valid")


def test_every_error_has_file_line_column_pointer_keyword(tmp_path):
    lines = [line(record(1)), line(record(2, lang="Vietnamese")), line(record(3, title=7, extra=True))]
    path = write_jsonl(tmp_path / "a.jsonl", *lines)
    findings, summary = run([path])
    assert where(findings) == [(2, "/lang", "pattern"), (3, "/extra", "additionalProperties"),
                               (3, "/title", "type")]
    for f in findings:
        text = lines[f.line - 1].decode()
        value_at = text[f.column - 1:]
        key = f.pointer.rsplit("/", 1)[1]
        expected = json.dumps(json.loads(text)[key], ensure_ascii=False, separators=(",", ":"))
        assert value_at.startswith(expected), (f, value_at[:30])
        assert f.file == str(path)
    assert (summary.records, summary.invalid_records, summary.errors, summary.exit_code) == (3, 2, 3, EXIT_INVALID)


def test_max_errors_caps_the_report_not_the_count(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", *[record(i, lang="?") for i in range(10)])
    findings, summary = run([path], max_errors=3)
    assert len(findings) == 3 and summary.errors == 10 and summary.invalid_records == 10
    assert "7 not shown (--max-errors)" in render_summary(summary)


def test_nested_error_column_in_pretty_printed_json(tmp_path):
    rec = record(1)
    rec["provenance"]["input_sha256"] = "nope"
    path = tmp_path / "one.json"
    path.write_text(json.dumps(rec, ensure_ascii=False, indent=2), encoding="utf-8")
    (finding,) = run([path])[0]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert finding.pointer == "/provenance/input_sha256"
    assert lines[finding.line - 1][finding.column - 1:].startswith('"nope"')


def test_same_verdicts_in_every_format(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import zstandard

    recs = [record(1), record(2, lang="Vietnamese"), record(3, text="")]
    body = b"".join(line(r) for r in recs)
    (tmp_path / "a.jsonl").write_bytes(body)
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(body))
    (tmp_path / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(body))
    (tmp_path / "a.json").write_text(json.dumps(recs, ensure_ascii=False, indent=1), encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(recs), tmp_path / "a.parquet")
    expected = [("/lang", "pattern"), ("/text", "minLength")]
    for name in ("a.jsonl", "a.jsonl.gz", "a.jsonl.zst", "a.json", "a.parquet"):
        findings, summary = run([tmp_path / name], disabled=frozenset({"duplicate-id-across-files"}))
        assert [(f.pointer, f.keyword) for f in findings] == expected, name
        assert summary.records == 3
    assert [f.line for f in run([tmp_path / "a.jsonl.gz"])[0]] == [2, 3]
    assert [f.row for f in run([tmp_path / "a.parquet"])[0]] == [2, 3]
    json_lines = (tmp_path / "a.json").read_text(encoding="utf-8").splitlines()
    lang, text = run([tmp_path / "a.json"])[0]
    assert json_lines[lang.line - 1][lang.column - 1:] == '"Vietnamese",'
    assert json_lines[text.line - 1][text.column - 1:] == '"",'


def test_json_object_file_is_one_record(tmp_path):
    path = tmp_path / "r.json"
    path.write_bytes(orjson.dumps(record(1, lang="x")))
    findings, summary = run([path])
    assert where(findings) == [(1, "/lang", "pattern")] and summary.records == 1


def test_folders_globs_and_missing_paths(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / ".hidden").mkdir()
    write_jsonl(tmp_path / "d" / "a.jsonl", record(1))
    write_jsonl(tmp_path / "d" / "sub" / "b.jsonl", record(2, lang="?"))
    write_jsonl(tmp_path / "d" / ".hidden" / "c.jsonl", b"not json\n")
    (tmp_path / "d" / "notes.txt").write_text("ignored")
    findings, summary = run([tmp_path / "d"])
    assert summary.files == 2 and [Path(f.file).name for f in findings] == ["b.jsonl"]
    findings, summary = run([f"{tmp_path}/d/**/*.jsonl", tmp_path / "d" / "a.jsonl"])
    assert summary.files == 2  # a.jsonl named twice, validated once
    findings, summary = run([tmp_path / "missing.jsonl", f"{tmp_path}/*.nothing", tmp_path / "d" / "notes.txt"])
    assert [f.keyword for f in findings] == ["io", "io", "io"] and summary.exit_code == EXIT_USAGE
    assert "no such file" in findings[0].message and "unsupported" in findings[2].message


def test_usage_error_outranks_invalid_records(tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", record(1, lang="?"))
    assert run([bad])[1].exit_code == EXIT_INVALID
    assert run([bad, tmp_path / "missing.jsonl"])[1].exit_code == EXIT_USAGE


# --- never crash on a bad file ---------------------------------------------------------------------

def test_each_defect_is_an_error_of_its_own_record(tmp_path):
    deep = b"[" * 10_000 + b"]" * 10_000
    lines = [
        line(record(1)),
        b'{"title": "caf\xe9"}\n',                                     # 2 invalid UTF-8
        b'{"a": NaN}\n', b'{"a": Infinity}\n', b'{"a": -Infinity}\n',  # 3-5
        deep + b"\n",                                                   # 6
        b"\xef\xbb\xbf" + line(record(7)),                              # 7 BOM, record still read
        line(record(8))[:-1].replace(b'"lang":"vi"', b'"lang":"vi","lang":"en"') + b"\n",  # 8 repeated key
        b'{"text": "\\ud800 lone"}\n',                                  # 9 unpaired surrogate
        b"\n",                                                          # 10 empty line
        b'{"a": 1} {"b": 2}\n',                                         # 11 two values
        line(record(12, lang="?")),                                     # 12 still validated
    ]
    findings, summary = run([write_jsonl(tmp_path / "bad.jsonl", *lines)])
    got = {(f.line, f.keyword) for f in findings}
    for expected in [(2, "utf-8"), (3, "json"), (4, "json"), (5, "json"), (6, "depth"), (7, "bom"),
                     (8, "duplicate-key"), (9, "unicode"), (10, "json"), (11, "json"), (12, "pattern")]:
        assert expected in got, expected
    by_line = {f.line: f for f in findings}
    assert by_line[2].column == 15 and "0xE9" in by_line[2].message
    assert "NaN is not a JSON number" in by_line[3].message and by_line[3].column == 7
    assert "-Infinity" in by_line[5].message
    assert by_line[6].column == 1026
    dup = [f for f in findings if f.keyword == "duplicate-key"][0]
    assert dup.pointer == "/lang" and lines[7].decode()[dup.column - 1:].startswith('"lang":"en"')
    assert [f.pointer for f in findings if f.keyword == "unicode"] == ["/text"]
    assert summary.records == 12 and summary.exit_code == EXIT_INVALID
    assert not any(f.line in (1,) for f in findings)


def test_repeated_keys_in_nested_objects_and_json_arrays(tmp_path):
    text = '[{"a": {"b": 1, "b": 2}}, {"x": 1}, {"c": [{"d": 0, "d": 1}]}]'
    path = tmp_path / "a.json"
    path.write_text(text)
    findings, _ = run([path], disabled=frozenset(CHECKS))
    dups = [(f.pointer, f.column) for f in findings if f.keyword == "duplicate-key"]
    assert dups == [("/a/b", text.index('"b": 2') + 1), ("/c/0/d", text.index('"d": 1') + 1)]


def test_fifty_megabyte_line_is_skipped_not_loaded(tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as fh:
        fh.write(line(record(1)))
        fh.write(b'{"text": "' + b"a" * (50 * 1024 * 1024) + b'"}\n')
        fh.write(line(record(3, lang="?")))
    findings, summary = run([path])
    assert where(findings) == [(2, "", "line-too-long"), (3, "/lang", "pattern")]
    assert "50.0 MiB" in findings[0].message and summary.records == 3


def test_truncated_gzip_and_zstd(tmp_path):
    import zstandard

    body = b"".join(line(record(i)) for i in range(200))
    gz = gzip.compress(body)
    (tmp_path / "cut.jsonl.gz").write_bytes(gz[: len(gz) // 2])
    zst = zstandard.ZstdCompressor().compress(body)
    (tmp_path / "cut.jsonl.zst").write_bytes(zst[: len(zst) // 2])
    (tmp_path / "notgz.jsonl.gz").write_bytes(b"plain text, not gzip")
    for name in ("cut.jsonl.gz", "cut.jsonl.zst", "notgz.jsonl.gz"):
        findings, summary = run([tmp_path / name])
        assert findings[-1].keyword == "compression", name
        assert summary.exit_code == EXIT_INVALID
    assert "truncated" in run([tmp_path / "cut.jsonl.gz"])[0][-1].message


def test_zstd_cut_at_a_frame_boundary_inside_the_stream(tmp_path):
    import zstandard

    compressor = zstandard.ZstdCompressor()
    whole = compressor.compress(line(record(1))) + compressor.compress(line(record(2)))
    (tmp_path / "two.jsonl.zst").write_bytes(whole)
    assert run([tmp_path / "two.jsonl.zst"])[1].records == 2
    cut = whole[:-3]  # the second frame loses its end
    (tmp_path / "cut.jsonl.zst").write_bytes(cut)
    assert run([tmp_path / "cut.jsonl.zst"])[0][-1].keyword == "compression"


def test_utf16_file_is_one_clear_error(tmp_path):
    path = tmp_path / "u16.jsonl"
    path.write_bytes(line(record(1)).decode().encode("utf-16"))
    findings, summary = run([path])
    assert [(f.keyword, f.line) for f in findings] == [("encoding", 1)] and "UTF-16" in findings[0].message


def test_bad_parquet_files(tmp_path):
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    findings, summary = run([tmp_path / "junk.parquet"])
    assert [f.keyword for f in findings] == ["parquet"] and summary.exit_code == EXIT_INVALID
    rows = [record(1, when=datetime.datetime(2024, 1, 1), score=1.0), record(2, when=None, score=float("nan"))]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "types.parquet")
    findings, _ = run([tmp_path / "types.parquet"])
    got = {(f.row, f.pointer, f.keyword) for f in findings}
    assert {(1, "/when", "json-type"), (2, "/score", "json-type"), (1, "/when", "additionalProperties")} <= got


# --- checks beyond the schema ----------------------------------------------------------------------

def test_duplicate_ids_within_and_across_files(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", record(1), record(2), record(1))
    b = write_jsonl(tmp_path / "b.jsonl", record(2))
    findings, _ = run([a, b])
    assert [(Path(f.file).name, f.line, f.keyword) for f in findings] == [
        ("a.jsonl", 3, "duplicate-id"), ("b.jsonl", 1, "duplicate-id-across-files")]
    assert "line 1" in findings[0].message and f"line 2 of {a}" in findings[1].message
    assert where(run([a, b], disabled=frozenset({"duplicate-id"}))[0]) == [(1, "/id", "duplicate-id-across-files")]
    assert where(run([a, b], disabled=frozenset({"duplicate-id-across-files"}))[0]) == [(3, "/id", "duplicate-id")]


def test_nfc_check(tmp_path):
    nfd = unicodedata.normalize("NFD", "Người dân")
    path = write_jsonl(tmp_path / "a.jsonl", record(1, text=nfd, title=nfd))
    findings, _ = run([path])
    assert where(findings) == [(1, "/title", "nfc"), (1, "/text", "nfc")]
    assert "at character 3, U+0075 U+031B" in findings[1].message  # 'ư' written as u + horn
    assert run([path], disabled=frozenset({"nfc"}))[0] == []


def test_mojibake_check_reports_only_undeclared_damage(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", record(1, text="ViÃªt Nam"),
                       record(2, text="ViÃªt Nam", quality_flags=["residual-mojibake"]))
    findings, _ = run([path])
    assert where(findings) == [(1, "/text", "mojibake")] and "residual-mojibake" in findings[0].message
    assert run([path], disabled=frozenset({"mojibake"}))[0] == []


def test_reader_says_which_lines_hold_their_strings_verbatim(tmp_path):
    rec = record(1, text="Cây cầu “mới” dài 1,2 km?\nNgười dân vui.")
    plain = json.dumps(rec, ensure_ascii=False).encode()
    escaped = json.dumps(rec).encode()  # ensure_ascii: every non-ASCII letter as \uXXXX
    items = list(iter_jsonl(io.BytesIO(line(rec) + plain + b"\n" + escaped + b"\n" + b'{"a": 1, "a": 2}\n')))
    records = [item for item in items if not isinstance(item[2], ReadError)]
    assert [item[2] == rec for item in records[:3]] == [True, True, True]
    assert [item[5] for item in records] == [True, True, False, False]  # the careful path never claims it


def mojibake_findings(tmp_path, recs, dump) -> set[tuple]:
    path = tmp_path / "m.jsonl"
    path.write_bytes(b"".join(dump(rec) + b"\n" for rec in recs))
    findings, _ = run([path], disabled=frozenset({"nfc", "duplicate-id"}))
    return {(f.line, f.pointer, f.message) for f in findings if f.keyword == "mojibake"}


def expected_mojibake(recs) -> set[tuple]:
    found = set()
    for n, rec in enumerate(recs, 1):
        for name in ("title", "text"):
            flags = real_encoding._full_quality_flags(rec[name], rec[name].encode("utf-8", "surrogatepass"))
            if flags:
                found.add((n, f"/{name}", f"shows encoding damage that quality_flags does not declare: "
                                          f"{', '.join(flags)}"))
    return found


SCREEN_TEXTS = ["Tin tức hôm nay? Có.", "Ná»™i dung", "đư\ufffdng phố", "Th?i s? h?m nay", "Tỷ ʟệ sιɴн ở мức тнấᴘ",
                "Từ khoá b̼.̼o̼.̼m̼ bị chặn", "Ñ hôm nay Ë† nữa", "ᴠiệt ᴀnh và ᴍẹ", "NGÃ BA Ông Ấn", "«giá» cả"]


@pytest.mark.parametrize("dump", [orjson.dumps, lambda rec: json.dumps(rec).encode()], ids=["utf-8", "u-escapes"])
def test_mojibake_check_screens_lines_to_the_full_verdict(tmp_path, monkeypatch, dump):
    """The real corpus.encoding: a screened JSON line (or an escaped one, which is not
    screened) gets the same findings as the full check on every title and text."""
    monkeypatch.setitem(sys.modules, "corpus.encoding", real_encoding)
    recs = [record(i, title=title, text=text) for i, title in enumerate(SCREEN_TEXTS) for text in SCREEN_TEXTS]
    expected = expected_mojibake(recs)
    assert len({n for n, _, _ in expected}) > len(recs) / 2  # most records have damage somewhere
    assert mojibake_findings(tmp_path, recs, dump) == expected


def test_mojibake_check_screens_realdata_to_the_full_verdict(tmp_path, monkeypatch, shared_dir):
    monkeypatch.setitem(sys.modules, "corpus.encoding", real_encoding)
    articles = [json.loads(x) for x in (shared_dir / "realdata" / "articles.jsonl").read_text("utf-8").splitlines()
                if x.strip()]
    recs = [record(i, title=a.get("title") or "Tin", text=a["text"]) for i, a in enumerate(articles)]
    expected = expected_mojibake(recs)
    assert expected  # the real data holds homoglyphs and combining marks
    for dump in (orjson.dumps, lambda rec: json.dumps(rec).encode()):
        assert mojibake_findings(tmp_path, recs, dump) == expected


def test_noise_check_only_with_strict(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", record(1, text="Tin chính.\nBình luận (0)"))
    assert run([path])[0] == []
    findings, _ = run([path], strict=True)
    assert where(findings) == [(1, "/text", "noise")] and "comments-count" in findings[0].message


def test_missing_or_broken_helper_module_makes_a_check_unavailable(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "corpus.normalise", None)  # import fails
    broken = types.ModuleType("corpus.encoding")
    broken.quality_flags = lambda text: 1 / 0
    monkeypatch.setitem(sys.modules, "corpus.encoding", broken)
    path = write_jsonl(tmp_path / "a.jsonl", record(1), record(2, lang="?"))
    findings, summary = run([path], strict=True)
    assert where(findings) == [(2, "/lang", "pattern")]  # the gate goes on
    assert set(summary.unavailable) == {"noise", "mojibake"}
    assert "ZeroDivisionError" in summary.unavailable["mojibake"]
    assert "check noise unavailable" in render_summary(summary)


def test_unknown_check_name_is_refused():
    with pytest.raises(ValueError, match="unknown check"):
        CorpusValidator(Options(disabled=frozenset({"nfc", "spelling"})))


# --- schemas and the network ------------------------------------------------------------------------

def test_shipped_schema_versions():
    current = load_schema("article")
    version = current["properties"]["schema_version"]["const"]
    assert f"article-{version}" in shipped_schemas()

    def strip_descriptions(node):
        if isinstance(node, dict):
            return {k: strip_descriptions(v) for k, v in node.items() if k != "description"}
        return [strip_descriptions(v) for v in node] if isinstance(node, list) else node

    # Bumping the schema means freezing the new version too; editing words does not.
    assert strip_descriptions(load_schema(f"article-{version}")) == strip_descriptions(current)


def test_schema_by_name_or_path(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", record(1))
    assert run([path], schema="article-1.0.0")[1].exit_code == EXIT_VALID
    custom = tmp_path / "s.json"
    custom.write_text(json.dumps({"type": "object", "required": ["nope"]}))
    findings, _ = run([path], schema=str(custom))
    assert where(findings) == [(1, "", "required")]
    with pytest.raises(SchemaError, match="unknown schema 'article-9'.*article-1.0.0"):
        run([path], schema="article-9")
    custom.write_text(json.dumps({"type": "objekt"}))
    with pytest.raises(SchemaError, match="not a valid JSON Schema"):
        run([path], schema=str(custom))


@pytest.fixture()
def no_network(monkeypatch):
    import socket
    import urllib.request

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("network use")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return attempts


def test_remote_ref_is_a_clear_error_never_a_fetch(tmp_path, no_network, capsys):
    schema = {"type": "object", "properties": {"a": {"$ref": "http://example.com/a.schema.json"}}}
    with pytest.raises(SchemaError, match="never fetches .*'http://example.com/a.schema.json'|"
                                          "'http://example.com/a.schema.json'.*never fetches"):
        RecordValidator(schema)
    path = tmp_path / "s.json"
    path.write_text(json.dumps(schema))
    data = write_jsonl(tmp_path / "a.jsonl", {"a": 1})
    assert main(["validate", "--schema", str(path), str(data)]) == EXIT_USAGE
    assert "http://example.com/a.schema.json" in capsys.readouterr().err
    assert no_network == []


def test_reference_validator_alone_does_not_fetch(no_network):
    from referencing.exceptions import Unresolvable

    from corpus.validate import _reference_validator

    reference = _reference_validator({"$ref": "https://example.com/x.json"})
    with pytest.raises(Unresolvable):
        reference.is_valid(1)
    assert no_network == []


def test_local_refs_are_fine_and_data_is_not_a_ref():
    schema = {"$id": "https://x.invalid/s", "$defs": {"n": {"type": "integer"}},
              "properties": {"a": {"$ref": "#/$defs/n"}, "b": {"$ref": "https://x.invalid/s#/$defs/n"},
                             "c": {"const": {"$ref": "http://not-a-ref"}},
                             "d": {"$id": "inner", "$ref": "#/$defs/none"}}}
    assert [ref for _, ref in external_refs(schema)] == []
    assert external_refs({"$ref": "other.json"}) == [("/$ref", "other.json")]
    v = RecordValidator({k: v for k, v in schema.items() if k != "properties"} |
                        {"properties": {"a": {"$ref": "#/$defs/n"}}})
    assert v.is_valid({"a": 1}) and not v.is_valid({"a": "1"})


# --- jsonschema and jsonschema-rs agree ---------------------------------------------------------------

URLS = ["https://exa mple.com/", "http://[::1]/", "http://[::zz]/", "https://ex%zzample.com", "https://ví-dụ.vn/",
        "https://example.com:99999/", "https://example.com/%E1%BB%87", "http://", "https://example.com/a\\b",
        "https://example.com/a|b", "https://example.com/{x}", "https://example.com/a#b#c", "https://u@h:80/p?q#f",
        "https://exa<mple.com", "https://example.com/a^b", "https://e.com/`", "https://[v1.x]/", "https://a/%2",
        "http://::", "http://[::1%2]/"]
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                      max_size=3), max_leaves=6)


@st.composite
def mutated_records(draw):
    rec = record(draw(st.integers(0, 50)))
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["set", "delete", "add", "url"]))
        field = draw(st.sampled_from(sorted(rec)))
        if action == "set":
            rec[field] = draw(JSON_VALUES | st.sampled_from(["", "vi", "1.0.0", "2024-01-01", "a" * 16]))
        elif action == "delete":
            rec.pop(field, None)
        elif action == "add":
            rec[draw(st.text(max_size=6))] = draw(JSON_VALUES)
        else:
            rec["url"] = draw(st.sampled_from(URLS) | st.from_regex(r"\Ahttps?://[ -~]{0,20}\Z"))
    return rec


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_records())
@example(record(0) | {"²": None})  # not an array index, though str.isdigit() says so
def test_jsonschema_and_jsonschema_rs_give_the_same_verdict(rec):
    fast, reference = load_validator(), RecordValidator(load_schema("article"), use_fast=False)
    assert fast.engine == "jsonschema-rs"
    verdict = reference.is_valid(rec)
    assert fast.is_valid(rec) == verdict
    assert bool(fast.issues(rec)) == (not verdict)  # an invalid record is always explained


def test_uri_format_matches_jsonschema_rs_on_edge_cases():
    import jsonschema_rs

    rs = jsonschema_rs.validator_for({"format": "uri"}, validate_formats=True)
    for url in URLS:
        assert is_uri(url) == rs.is_valid(url), url


# --- the reader on any input --------------------------------------------------------------------------

JSON_LINE = st.builds(lambda v: orjson.dumps(v), JSON_VALUES)


@st.composite
def damaged_lines(draw):
    data = bytearray(draw(JSON_LINE | st.binary(max_size=40)))
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.sampled_from([b'"', b",", b"\\u", b"\\ud800", b"NaN", b"\xff", b"\xc3", b"}",
                                            b"[", b" ", b'"k":1,', b"\xef\xbb\xbf"]))
    return bytes(data).replace(b"\n", b" ")


@settings(max_examples=400, deadline=None)
@given(st.lists(damaged_lines(), min_size=1, max_size=4))
def test_reader_never_crashes_and_agrees_with_orjson(lines):
    items = list(iter_jsonl(io.BytesIO(b"\n".join(lines) + b"\n")))
    if lines[0][:2] in (b"\xff\xfe", b"\xfe\xff") and b"\x00" in lines[0][2:6]:
        assert [item[2].keyword for item in items] == ["encoding"]  # a UTF-16/32 file: one error
        return
    for n, raw in enumerate(lines, 1):
        mine = [item for item in items if item[0] == n]
        records = [item[2] for item in mine if not isinstance(item[2], ReadError)]
        fatal = [item[2] for item in mine if isinstance(item[2], ReadError) and item[2].fatal]
        assert len(records) + len(fatal) == 1, (raw, mine)
        try:
            expected = orjson.loads(raw)
        except orjson.JSONDecodeError:
            if records:  # only what orjson rejects for its own reasons, reported otherwise
                reported = {item[2].keyword for item in mine if isinstance(item[2], ReadError)}
                assert raw.startswith(b"\xef\xbb\xbf") or "unicode" in reported, raw
            continue
        assert records == [expected], raw


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=4), JSON_VALUES, min_size=1, max_size=4), st.data())
def test_repeated_keys_are_found_exactly(obj, data):
    key = data.draw(st.sampled_from(sorted(obj)))
    first = data.draw(JSON_VALUES)
    pairs = [json.dumps(key) + ":" + json.dumps(first)] + [json.dumps(k) + ":" + json.dumps(v) for k, v in obj.items()]
    raw = ("{" + ", ".join(pairs) + "}").encode()
    items = list(iter_jsonl(io.BytesIO(raw + b"\n")))
    dups = [item[2] for item in items if isinstance(item[2], ReadError)]
    pointer = "/" + key.replace("~", "~0").replace("/", "~1")
    assert [(e.keyword, e.pointer) for e in dups] == [("duplicate-key", pointer)]
    assert items[-1][2] == obj  # the last value wins, as in orjson
    clean = list(iter_jsonl(io.BytesIO(orjson.dumps(obj) + b"\n")))
    assert len(clean) == 1 and clean[0][2] == obj


def leaves(value, pointer=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, f"{pointer}/{k.replace('~', '~0').replace('/', '~1')}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, f"{pointer}/{i}")
    yield pointer, value


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES, st.sampled_from([None, 1, 3]), st.booleans())
def test_locate_pointer_finds_every_value(value, indent, ascii_only):
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    decoder = json.JSONDecoder()
    for pointer, expected in leaves(value):
        offset = locate_pointer(text, pointer)
        assert decoder.raw_decode(text, offset)[0] == expected, (text, pointer)


# --- stdin and the CLI ---------------------------------------------------------------------------------

class _Stdin:
    def __init__(self, data: bytes):
        self.buffer = io.BytesIO(data)


@pytest.mark.parametrize("compress", [False, True])
def test_stdin(monkeypatch, capsys, compress):
    body = line(record(1)) + line(record(2, lang="?"))
    monkeypatch.setattr(sys, "stdin", _Stdin(gzip.compress(body) if compress else body))
    assert main(["validate", "-"]) == EXIT_INVALID
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("<stdin>:2:") and "[pattern]" in out[0]
    monkeypatch.setattr(sys, "stdin", _Stdin(json.dumps([record(1)]).encode()))
    assert main(["validate", "-", "--stdin-filename", "data/x.json"]) == EXIT_VALID


def test_cli_formats(tmp_path, capsys):
    path = write_jsonl(tmp_path / "a, b%.jsonl", record(1), record(2, title=None, lang="?"))
    assert main(["validate", str(path)]) == EXIT_INVALID
    text = capsys.readouterr().out.splitlines()
    assert text[0].startswith(f"{path}:2:") and text[0].endswith("[pattern]")
    assert text[-1].startswith("corpus validate (article, exit 1): 1 file, 2 records; 1 error in 1 invalid record")

    assert main(["validate", "--format", "json", str(path)]) == EXIT_INVALID
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rows[0] | {"message": ""} == {"file": str(path), "line": 2, "row": None, "column": rows[0]["column"],
                                          "pointer": "/lang", "keyword": "pattern", "message": "", "kind": "invalid"}
    assert rows[-1]["summary"]["exit_code"] == 1 and rows[-1]["summary"]["errors"] == 1

    assert main(["validate", "--format", "github", str(path)]) == EXIT_INVALID
    annotation = capsys.readouterr().out.splitlines()[0]
    assert annotation.startswith("::error file=") and "a%2C b%25.jsonl,line=2,col=" in annotation
    assert ",title=corpus validate%3A pattern::/lang: " in annotation


def test_github_annotation_escapes_newlines():
    from corpus.validate import Finding

    finding = Finding("x.jsonl", 3, None, 4, "/a", "json", "two\nlines 100%")
    assert render_finding(finding, "github") == \
        "::error file=x.jsonl,line=3,col=4,title=corpus validate%3A json::/a: two%0Alines 100%25"
    assert render_finding(finding) == "x.jsonl:3:4: /a: two\nlines 100% [json]"


def test_cli_usage_errors(tmp_path, capsys):
    path = write_jsonl(tmp_path / "a.jsonl", record(1))
    assert main(["validate", "--schema", "nope", str(path)]) == EXIT_USAGE
    assert "unknown schema 'nope'" in capsys.readouterr().err
    assert main(["validate", "--disable", "nfc,bogus", str(path)]) == EXIT_USAGE
    assert main(["validate", "--max-errors", "0", str(path)]) == EXIT_USAGE
    assert main(["validate", "--disable", "nfc", "--disable", "mojibake", str(path)]) == EXIT_VALID


def test_help_documents_checks_and_exit_codes(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["validate", "--help"])
    out = capsys.readouterr().out
    assert "exit codes:" in out and "0  every record is valid" in out and "2  usage or I/O error" in out
    for name in CHECKS:
        assert name in out


def test_readers_public_entry_point(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", record(1), b"oops\n")
    items = list(read_records(path))
    assert items[0][2] == record(1) and isinstance(items[1][2], ReadError) and items[1][0] == 2
    with pytest.raises(ValueError, match="unsupported"):
        list(read_records(tmp_path / "a.txt"))


def test_validating_does_not_change_records(tmp_path):
    rec = record(1)
    before = copy.deepcopy(rec)
    load_validator().issues(rec)
    assert rec == before


# --- --jobs: worker processes give the findings of one process ----------------------------------

def jobs_corpus(tmp_path) -> list[Path]:
    """Files with every kind of finding: schema errors, bad lines, repeated keys, a BOM, ids
    repeated within and across files, a cut gzip stream, an over-long line, a UTF-16 file."""
    dup_key = b'{"id": "rk", "id": "rk2"}\n'
    a = write_jsonl(tmp_path / "a.jsonl", record(1), record(2, lang="?"), b"not json\n", record(1),
                    dup_key, b"\xef\xbb\xbf" + line(record(4)), record(5, text="Vi\u00c3\u00aat Nam"),
                    record(6, text=unicodedata.normalize("NFD", "Người dân")), b"\n", record(7, title=7),
                    *[record(i, lang="x" if i % 7 == 0 else "vi") for i in range(10, 40)], record(2))
    gz_body = b"".join(line(record(i, lang="?" if i % 5 == 0 else "vi")) for i in (3, 41, 1, 42, *range(100, 140)))
    gz = gzip.compress(gz_body)
    (tmp_path / "b.jsonl.gz").write_bytes(gz[: len(gz) * 9 // 10])
    c = write_jsonl(tmp_path / "c.jsonl", record(50), b"x" * 3000 + b"\n", record(51, lang="?"), record(50))
    (tmp_path / "d.jsonl").write_bytes(line(record(60)).decode().encode("utf-16"))
    (tmp_path / "e.json").write_text(json.dumps([record(61), record(1)]))
    return [a, tmp_path / "b.jsonl.gz", c, tmp_path / "d.jsonl", tmp_path / "e.json"]


@pytest.mark.parametrize("options", [{}, {"max_errors": 7}, {"strict": True, "max_line_bytes": 2000},
                                     {"disabled": frozenset({"duplicate-id"})}])
def test_jobs_give_the_same_findings_in_the_same_order(tmp_path, monkeypatch, options):
    import corpus.validate as validate_module

    monkeypatch.setattr(validate_module, "_CHUNK_BYTES", 2000)  # a few lines per worker call
    paths = jobs_corpus(tmp_path)
    serial, serial_summary = run(paths, **options)
    if not options:
        assert {f.keyword for f in serial} >= {"pattern", "json", "duplicate-id", "duplicate-id-across-files",
                                               "duplicate-key", "bom", "nfc", "mojibake", "compression", "encoding"}
    for jobs in (2, 3):
        parallel, summary = run(paths, jobs=jobs, **options)
        assert parallel == serial
        assert summary.as_dict() == serial_summary.as_dict()


def test_jobs_drop_a_failing_check_where_one_process_does(tmp_path, monkeypatch):
    """A check that raises is switched off from that record on, though workers ran it further."""
    import corpus.validate as validate_module

    def flags(text):
        if "boom" in text:
            raise RuntimeError("boom")
        return ["residual-mojibake"] if "Ã" in text else []

    sys.modules["corpus.encoding"].quality_flags = flags
    monkeypatch.setattr(validate_module, "_CHUNK_BYTES", 1500)
    recs = [record(i, text="Ã" if i % 3 else "Tin") for i in range(30)]
    recs[12]["text"] = "boom"
    path = write_jsonl(tmp_path / "a.jsonl", *recs)
    serial, serial_summary = run([path])
    assert "mojibake" in serial_summary.unavailable and max(f.line for f in serial) < 13
    parallel, summary = run([path], jobs=2)
    assert parallel == serial and summary.as_dict() == serial_summary.as_dict()


def test_cli_jobs(tmp_path, capsys):
    path = write_jsonl(tmp_path / "a.jsonl", record(1), record(2, lang="?"), record(1))
    assert main(["validate", str(path)]) == EXIT_INVALID
    one = capsys.readouterr().out
    assert main(["validate", "--jobs", "0", str(path)]) == EXIT_INVALID
    assert capsys.readouterr().out == one
    assert main(["validate", "--jobs", "-1", str(path)]) == EXIT_USAGE


def test_large_files_get_workers_by_default(tmp_path, monkeypatch):
    """Without --jobs a JSON Lines file of PARALLEL_BYTES or more is checked by one worker
    per CPU, a smaller one and a .json file in this process; the findings are the same."""
    import corpus.validate as validate_module

    pools = []
    real_pool = validate_module._worker_pool
    monkeypatch.setattr(validate_module, "_worker_pool", lambda jobs: pools.append(jobs) or real_pool(jobs))
    monkeypatch.setattr(validate_module, "_cpu_count", lambda: 2)
    paths = jobs_corpus(tmp_path)
    serial, serial_summary = run(paths, jobs=1)
    findings, summary = run(paths)
    assert findings == serial and summary.as_dict() == serial_summary.as_dict() and pools == []  # all small
    monkeypatch.setattr(validate_module, "PARALLEL_BYTES", 1000)
    monkeypatch.setattr(validate_module, "_CHUNK_BYTES", 2000)
    findings, summary = run(paths)
    assert pools == [2] and findings == serial and summary.as_dict() == serial_summary.as_dict()


def test_a_broken_screen_is_caught(tmp_path, monkeypatch):
    """The differential test above fails when the screen misses a character it must stop."""
    monkeypatch.setitem(sys.modules, "corpus.encoding", real_encoding)
    monkeypatch.setattr(real_encoding, "_SCREEN_ON_STR", real_encoding._SCREEN_ON_STR.replace("Ñ", ""))
    recs = [record(i, title=title, text=text) for i, title in enumerate(SCREEN_TEXTS) for text in SCREEN_TEXTS]
    assert mojibake_findings(tmp_path, recs, orjson.dumps) != expected_mojibake(recs)


def test_jobs_with_the_real_screen(tmp_path, monkeypatch):
    import corpus.validate as validate_module

    monkeypatch.setitem(sys.modules, "corpus.encoding", real_encoding)
    monkeypatch.setattr(validate_module, "_CHUNK_BYTES", 3000)
    recs = [record(i, title=title, text=text) for i, title in enumerate(SCREEN_TEXTS) for text in SCREEN_TEXTS]
    path = tmp_path / "m.jsonl"
    path.write_bytes(b"".join(line(rec) if i % 2 else json.dumps(rec).encode() + b"\n" for i, rec in enumerate(recs)))
    serial, serial_summary = run([path, *jobs_corpus(tmp_path)])
    assert any(f.keyword == "mojibake" for f in serial)
    parallel, summary = run([path, *jobs_corpus(tmp_path)], jobs=2)
    assert parallel == serial and summary.as_dict() == serial_summary.as_dict()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"\n")), st.integers(1, 16))
@example(b"", 4)
@example(b"\n\n\n", 1)
@example(b"a long line without a break", 3)
def test_line_ranges_cut_a_file_into_whole_lines(data, size):
    """--jobs cuts a plain file into byte ranges: together they are the file, each ends after
    a line break (the last may end at the end of the file) and knows its first line's number."""
    from corpus.validate import _line_ranges

    ranges = list(_line_ranges(io.BytesIO(data), size))
    assert b"".join(data[s:e] for s, e, _ in ranges) == data
    assert all(data[e - 1: e] == b"\n" for _, e, _ in ranges[:-1])
    assert [first for _, _, first in ranges] == [data[:s].count(b"\n") + 1 for s, _, _ in ranges]


def _die(*args):
    os._exit(9)  # a worker killed mid-run (out of memory, a signal)


def test_a_dead_worker_is_a_usage_error_not_a_crash(tmp_path, monkeypatch):
    import corpus.validate as validate_module

    monkeypatch.setattr(validate_module, "_check_range", _die)
    path = write_jsonl(tmp_path / "a.jsonl", *[record(i) for i in range(5)])
    findings, summary = run([path], jobs=2)
    assert [(f.keyword, f.usage) for f in findings] == [("io", True)]
    assert "worker process died" in findings[0].message and summary.exit_code == EXIT_USAGE
