"""The `corpus` command end to end: normalise, explain, build, on the bundled sample and on
bad inputs. Runs the console entry point in-process (``corpus.cli.main``)."""
import gzip
import json
import os
from pathlib import Path

import pytest

from conftest import REPO, read_jsonl
from corpus.cli import main
from corpus.validate import load_validator

SAMPLE = REPO / "corpus" / "sample"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_normalise_sample_gives_valid_records_and_reasoned_rejects(tmp_path, capsys):
    out, rej, audit = tmp_path / "out.jsonl", tmp_path / "rej.jsonl", tmp_path / "audit.jsonl"
    code, _, err = run(capsys, "normalise", SAMPLE / "pages", SAMPLE / "articles.jsonl", "-o", out,
                       "--rejects", rej, "--audit", audit, "--quiet")
    assert code == 0, err
    records = read_jsonl(out)
    validator = load_validator()
    assert records and all(validator.issues(r) == [] for r in records)
    by_input = {r["provenance"]["input"]: r for r in records}
    # provenance.input_id carries the JSONL record's own id, verbatim
    src = [json.loads(l) for l in (SAMPLE / "articles.jsonl").read_text(encoding="utf-8").splitlines()
           if l.strip().startswith("{") and l.strip().endswith("}")]
    ids = {str(o["id"]) for o in src if o.get("id") is not None and (o.get("text") or o.get("maintext"))}
    assert ids <= {r["provenance"]["input_id"] for r in records}
    rejects = read_jsonl(rej)
    reasons = {r["input"]: r for r in rejects}
    assert reasons["bad-empty.txt"]["code"] == "empty-input"
    assert reasons["bad-binary.txt"]["code"] == "undecodable"
    assert reasons["articles.jsonl#4"]["code"] == "invalid-json"
    assert "articles.jsonl:4" in reasons["articles.jsonl#4"]["reason"]
    assert reasons["articles.jsonl#6"]["code"] == "missing-text" and reasons["articles.jsonl#6"]["field"] == "text"
    # lines after the broken one were still processed
    assert any(k.startswith("articles.jsonl#") and int(k.split("#")[1]) > 6 for k in by_input)
    # the audit trail has one line per record, with the rule and kind of each removal
    trail = read_jsonl(audit)
    assert [t["id"] for t in trail] == [r["id"] for r in records]
    assert any(rm["rule"] and rm["kind"] for t in trail for rm in t["removals"])


def test_normalise_never_overwrites_without_force(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    out.write_text("keep me\n", encoding="utf-8")
    code, _, err = run(capsys, "normalise", SAMPLE / "articles.jsonl", "-o", out, "--quiet")
    assert code == 2 and "already exists" in err
    assert out.read_text(encoding="utf-8") == "keep me\n"
    code, _, _ = run(capsys, "normalise", SAMPLE / "articles.jsonl", "-o", out, "--quiet", "--force")
    assert code == 0 and read_jsonl(out)


def test_empty_input_is_a_clear_error(tmp_path, capsys):
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    code, _, err = run(capsys, "normalise", empty_dir, "-o", tmp_path / "o.jsonl", "--quiet")
    assert code == 2 and "no article" in err
    code, _, err = run(capsys, "normalise", tmp_path / "missing.jsonl", "-o", tmp_path / "o2.jsonl", "--quiet")
    assert code == 2 and "missing.jsonl" in err and "Traceback" not in err


def test_invalid_utf8_is_repaired_or_rejected_never_a_traceback(tmp_path, capsys):
    bad = tmp_path / "in.jsonl"
    good_line = json.dumps({"id": "a1", "title": "Tin", "text": "Giá lúa tăng mạnh trong tuần qua."}, ensure_ascii=False)
    cp1252_line = '{"id": "a2", "text": "Caf\xe9 m\xf4 h\xecnh m\u1edbi"}'.encode("cp1258", errors="replace")
    bad.write_bytes(good_line.encode() + b"\n" + cp1252_line + b"\n" + b'{"id": "a3", "text": "\xff\xfe\x00broken\n')
    out, rej = tmp_path / "o.jsonl", tmp_path / "r.jsonl"
    code, _, err = run(capsys, "normalise", bad, "-o", out, "--rejects", rej, "--quiet")
    assert code == 0 and "Traceback" not in err
    ids = {r["provenance"]["input_id"] for r in read_jsonl(out)}
    rejected = {r["input"] for r in read_jsonl(rej)}
    assert "a1" in ids
    assert ("a2" in ids) or ("in.jsonl#2" in rejected)
    assert "in.jsonl#3" in rejected


def test_truncated_gzip_keeps_what_was_read(tmp_path, capsys):
    lines = [json.dumps({"id": f"r{i}", "text": f"Bài báo số {i} nói về giá lúa tăng."}, ensure_ascii=False) for i in range(200)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    src = tmp_path / "cut.jsonl.gz"
    src.write_bytes(data[: len(data) // 2])
    out, rej = tmp_path / "o.jsonl", tmp_path / "r.jsonl"
    code, _, err = run(capsys, "normalise", src, "-o", out, "--rejects", rej, "--quiet")
    assert "Traceback" not in err
    assert read_jsonl(out), "records before the cut are kept"
    assert any(r["code"] == "read-error" for r in read_jsonl(rej))


def test_explain_marks_removed_spans_and_counts_rules(tmp_path, capsys):
    page = SAMPLE / "pages" / "001-thong-xe-cau-phu-lam.txt"
    code, out, _ = run(capsys, "explain", page, "--color", "never")
    assert code == 0
    assert "[-TPO - -]{generic/dateline-outlet}" in out
    assert "by rule:" in out and "generic/dateline-outlet" in out
    code, out, _ = run(capsys, "explain", page, "--color", "always")
    assert "\x1b[31;9m" in out
    code, _, err = run(capsys, "explain", page, "--id", "no-such-id")
    assert code == 1


def test_build_twice_refuses_and_leaves_release_untouched(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "build", "--dist", tmp_path / "dist", "--quiet")
    assert code == 0, err
    release = Path(out.strip())
    assert release == tmp_path / "dist" / "vi-news-sample" / "1.0.0"
    before = {p: p.read_bytes() for p in release.rglob("*") if p.is_file()}
    code, _, err = run(capsys, "build", "--dist", tmp_path / "dist", "--quiet")
    assert code == 1 and "already published" in err
    assert {p: p.read_bytes() for p in release.rglob("*") if p.is_file()} == before
    rejects = read_jsonl(tmp_path / "build" / "vi-news-sample-1.0.0.rejects.jsonl")
    codes = sorted(r["code"] for r in rejects)
    assert codes.count("duplicate") == 3, rejects
    assert {"empty-input", "undecodable", "invalid-json", "missing-text"} <= set(codes)


# --- a user's own publisher profile --------------------------------------------------------

USER_PROFILE = '''
[profile]
id = "vidu"
description = "An invented outlet: a promotion line after the body."
publishers = ["báo ví dụ"]
domains = ["vidu.example"]
outlets = ["VDO"]

[[rules]]
id = "promo-line"
kind = "advert"
scope = "tail"
pattern = \'\'\'KHUYẾN MÃI:.{0,120}\'\'\'
'''


def _user_site(tmp_path, profile_text=USER_PROFILE):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "vidu.toml").write_text(profile_text, encoding="utf-8")
    article = {"url": "https://vidu.example/kinh-te/bai-1.html", "title": "Giá xăng giảm",
               "maintext": "VDO - Giá xăng giảm nhẹ từ chiều nay.\nMỗi lít giảm 300 đồng.\n"
                           "KHUYẾN MÃI: giảm 50% phí giao hàng cho bạn đọc"}
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(article, ensure_ascii=False) + "\n", encoding="utf-8")
    return profiles, src


def test_a_user_profile_folder_adds_a_site_without_code(tmp_path, capsys):
    profiles, src = _user_site(tmp_path)
    code, _, err = run(capsys, "normalise", src, "-o", tmp_path / "plain.jsonl", "--quiet")
    assert code == 0, err
    plain = read_jsonl(tmp_path / "plain.jsonl")[0]
    assert "KHUYẾN MÃI" in plain["text"] and plain["dateline"] is None

    code, _, err = run(capsys, "normalise", src, "-o", tmp_path / "out.jsonl", "--audit", tmp_path / "audit.jsonl",
                       "--profiles", profiles, "--quiet")
    assert code == 0, err
    record = read_jsonl(tmp_path / "out.jsonl")[0]
    assert "KHUYẾN MÃI" not in record["text"] and "Mỗi lít giảm 300 đồng." in record["text"]
    assert record["dateline"] == "VDO"  # the profile's outlet joins the dateline allowlist
    rules = {r["rule"] for r in read_jsonl(tmp_path / "audit.jsonl")[0]["removals"]}
    assert "vidu/promo-line" in rules

    code, out, _ = run(capsys, "explain", src, "--profiles", profiles, "--color", "never")
    assert code == 0 and "{vidu/promo-line}" in out


def test_a_broken_user_profile_is_a_clear_error_naming_the_file(tmp_path, capsys):
    profiles, src = _user_site(tmp_path, USER_PROFILE.replace('scope = "tail"', 'scope = "everywhere"'))
    code, _, err = run(capsys, "normalise", src, "-o", tmp_path / "out.jsonl", "--profiles", profiles, "--quiet")
    assert code == 2
    assert "vidu.toml" in err and "scope" in err
    assert not (tmp_path / "out.jsonl").exists()
    code, _, err = run(capsys, "normalise", src, "-o", tmp_path / "out.jsonl", "--profiles", tmp_path / "nope")
    assert code == 2 and "nope" in err


def test_build_reads_profile_folders_from_the_settings(tmp_path, capsys, monkeypatch):
    profiles, src = _user_site(tmp_path)
    (tmp_path / "corpus.toml").write_text(
        '[corpus]\nname = "vi-du"\nversion = "1.0.0"\nlicense = "CC-BY-4.0"\ndescription = "Test."\n'
        'inputs = ["in.jsonl"]\nprofiles = ["profiles"]\n[[corpus.authors]]\nfamily-names = "Nguyễn"\n',
        encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "build", tmp_path / "corpus.toml", "--dist", tmp_path / "dist", "--quiet")
    assert code == 0, err
    lines = [json.loads(line) for line in gzip.open(next((tmp_path / "dist" / "vi-du" / "1.0.0" / "jsonl").glob("*.jsonl.gz")))]
    assert len(lines) == 1 and "KHUYẾN MÃI" not in lines[0]["text"]
