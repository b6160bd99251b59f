"""Publishing: release layout, immutability, reproducibility, diff, citation, verify, push.

The load_dataset round trip is in test_release_load.py. Records are small synthetic
Vietnamese articles written here.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
import yaml

from corpus import card
from corpus.cli import main as cli_main
from corpus.publish import (
    ReleaseExistsError,
    ReleaseWriter,
    assign_split,
    dumps_line,
    field_order,
    in_schema_order,
    release_date,
)
from corpus.release import (
    ReleaseVerificationError,
    diff_releases,
    push_release,
    release_shards,
    schema_changes,
    verify_release,
)
from corpus.resources import load_schema
from corpus.settings import Author, CorpusSettings

SPLITS = (("train", 0.8), ("validation", 0.1), ("test", 0.1))
PUBLISHERS = ["VnExpress", "Tuổi Trẻ", "Thanh Niên", None]
DATES = ["2024-04-05T14:15:00+07:00", "2023-12-31", "2024-01-02T08:00:00Z", None, "2024-04-30T23:59:59.5-05:00"]
SENTENCES = ["Giá lúa ở đồng bằng sông Cửu Long tăng nhẹ trong tuần.",
             "Hà Nội mở thêm ba tuyến xe buýt điện nối các khu đô thị mới.",
             "Đội bóng chủ nhà thắng 2-1 nhờ bàn thắng ở phút cuối."]


def make_settings(version: str = "1.0.0", **changes) -> CorpusSettings:
    base = CorpusSettings(
        name="tin-tuc", version=version, license="CC-BY-4.0",
        description="Tin tức tiếng Việt tổng hợp, đã làm sạch.",
        authors=(Author("Nguyễn", "Văn An", orcid="0000-0002-1825-0097", affiliation="Viện Ngôn ngữ"),),
        inputs=(), input_root=Path("."), pretty_name="Tin tức Việt Nam",
        repository_url="https://github.com/example/newscorpus", doi="10.5281/zenodo.1234567",
        date_released="2024-05-01", splits=SPLITS, shard_bytes=3000,
    )
    return replace(base, **changes)


def record_id(i: int) -> str:
    return hashlib.sha256(f"bai-{i}".encode()).hexdigest()[:16]


def make_record(i: int, *, text_suffix: str = "", publisher: str | None | bool = False) -> dict:
    return {
        "id": record_id(i),
        "schema_version": "1.0.0",
        "title": None if i % 6 == 0 else f"Bản tin số {i}: {SENTENCES[i % 3][:30]}",
        "text": "\n".join(SENTENCES[(i + k) % 3] for k in range(1 + i % 4)) + f"\nSố hiệu {i}." + text_suffix,
        "lang": "vi",
        "url": None if i % 7 == 0 else f"https://tin.example.vn/bai-{i}.html",
        "publisher": PUBLISHERS[i % 4] if publisher is False else publisher,
        "published": DATES[i % 5],
        "dateline": "TPO" if i % 5 == 1 else None,
        "attribution": "TTXVN" if i % 4 == 2 else None,
        "quality_flags": ["homoglyphs", "residual-mojibake"] if i % 9 == 0 else [],
        "provenance": {"input": f"raw/bao.jsonl#{i + 1}", "input_id": None if i % 8 == 0 else str(i),
                       "input_sha256": hashlib.sha256(str(i).encode()).hexdigest(),
                       "builder": {"name": "newscorpus", "version": "0.1.0"}},
    }


def removals_for(i: int) -> list[dict]:
    if i % 3:
        return []
    return [{"start": 0, "end": 11, "rule": "video-player", "kind": "player", "text": "0:00 / 0:00"},
            {"start": 40, "end": 48, "rule": "share-bar", "kind": "share", "text": "Chia sẻ"}]


def build(dist: Path, version: str, records: list[dict], removals=None, build_stats=None, **changes) -> Path:
    with ReleaseWriter(make_settings(version, **changes), dist) as writer:
        for n, rec in enumerate(records):
            writer.add(rec, removals[n] if removals else [])
        return writer.close(build_stats or {"inputs": len(records) + 2, "rejects": {"empty-text": 2}})


V1 = list(range(60))
REMOVED = {3, 17}
TEXT_CHANGED, META_CHANGED = 10, 11
ADDED = list(range(60, 90))


def v2_records() -> list[dict]:
    out = []
    for i in V1 + ADDED:
        if i in REMOVED:
            continue
        if i == TEXT_CHANGED:
            out.append(make_record(i, text_suffix=" Cập nhật."))
        elif i == META_CHANGED:
            out.append(make_record(i, publisher="Dân Trí"))
        else:
            out.append(make_record(i))
    return out


@pytest.fixture(scope="module")
def releases(tmp_path_factory) -> dict:
    """v1.0.0 (60 articles) and v1.1.0 (grown by 30, 2 removed, 2 changed) in one dist root."""
    dist = tmp_path_factory.mktemp("dist")
    v1 = build(dist, "1.0.0", [make_record(i) for i in V1], [removals_for(i) for i in V1])
    v2 = build(dist, "1.1.0", v2_records())
    return {"dist": dist, "v1": v1, "v2": v2}


def gz_lines(path: Path) -> list[bytes]:
    return gzip.decompress(path.read_bytes()).splitlines(keepends=True)


def read_split_records(release: Path) -> dict[str, list[dict]]:
    out = {}
    for split, shards in release_shards(release, "jsonl").items():
        out[split] = [orjson.loads(line) for shard in shards for line in gz_lines(shard)]
    return out


def tree_hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def copy_release(release: Path, tmp_path: Path) -> Path:
    target = tmp_path / release.name
    shutil.copytree(release, target)
    return target


# --- splits --------------------------------------------------------------------------------

def test_assign_split_is_a_fixed_function_of_the_id():
    # golden values: if these change, every published record would move between splits
    ids = ["0000000000000000", "00000000000000ff", "a3f1c2d4e5b60718", "5e5e5e5e5e5e5e5e", record_id(49)]
    assert [assign_split(i, SPLITS) for i in ids] == ["test", "train", "train", "validation", "test"]
    counts = {name: 0 for name, _ in SPLITS}
    for i in range(20_000):
        counts[assign_split(f"{i:016x}", SPLITS)] += 1
    assert abs(counts["train"] / 20_000 - 0.8) < 0.02
    assert abs(counts["test"] / 20_000 - 0.1) < 0.01


def test_records_never_move_between_splits_as_the_corpus_grows(releases):
    before = {r["id"]: split for split, recs in read_split_records(releases["v1"]).items() for r in recs}
    after = {r["id"]: split for split, recs in read_split_records(releases["v2"]).items() for r in recs}
    kept = before.keys() & after.keys()
    assert len(kept) == len(V1) - len(REMOVED)
    assert {i: before[i] for i in kept} == {i: after[i] for i in kept}
    assert all(after[i] == assign_split(i, SPLITS) for i in after)
    assert set(after.values()) == {"train", "validation", "test"}


def test_each_split_keeps_arrival_order_and_shards_by_size(releases):
    by_split = read_split_records(releases["v1"])
    for split, recs in by_split.items():
        expected = [make_record(i) for i in V1 if assign_split(record_id(i), SPLITS) == split]
        assert recs == expected
    train = release_shards(releases["v1"], "jsonl")["train"]
    assert len(train) > 3, "3000-byte shards must give many train shards"
    assert [p.name for p in train] == [f"train-{k:05d}-of-{len(train):05d}.jsonl.gz" for k in range(len(train))]
    for shard in train:
        lines = gz_lines(shard)
        assert len(lines) == 1 or sum(map(len, lines)) <= 3000


# --- immutability and atomic builds --------------------------------------------------------

def test_second_build_of_a_version_refuses_and_changes_nothing(releases):
    before = tree_hashes(releases["dist"])
    with pytest.raises(ReleaseExistsError, match="1.0.0"):
        ReleaseWriter(make_settings("1.0.0"), releases["dist"])
    assert tree_hashes(releases["dist"]) == before
    assert not list((releases["dist"] / "tin-tuc").glob(".tmp-*"))


def test_failure_while_adding_leaves_no_release_and_no_temp_folder(tmp_path):
    with pytest.raises(RuntimeError, match="ingest failed"):
        with ReleaseWriter(make_settings(), tmp_path) as writer:
            for i in range(20):
                writer.add(make_record(i), removals_for(i))
            raise RuntimeError("ingest failed")
    assert os.listdir(tmp_path / "tin-tuc") == []


def test_killed_build_folder_is_removed_by_the_next_build_but_a_live_one_is_kept(tmp_path):
    # A build killed with SIGKILL cannot clean up; the next build removes its folder.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / "tin-tuc" / f".tmp-0.9.0-{dead.pid}"
    live = tmp_path / "tin-tuc" / f".tmp-0.9.1-{os.getppid()}"
    for folder in (stale, live):
        (folder / "data").mkdir(parents=True)
        (folder / "data" / "part.parquet").write_bytes(b"half-written")
    with ReleaseWriter(make_settings(), tmp_path) as writer:
        writer.add(make_record(1), [])
        writer.close({})
    assert not stale.exists()
    assert (live / "data" / "part.parquet").read_bytes() == b"half-written"


def test_failure_while_closing_leaves_no_release_and_no_temp_folder(tmp_path, monkeypatch):
    def broken_card(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(card, "render_card", broken_card)
    with pytest.raises(OSError, match="disk full"):
        with ReleaseWriter(make_settings(), tmp_path) as writer:
            writer.add(make_record(1), [])
            writer.close({})
    assert os.listdir(tmp_path / "tin-tuc") == []


def test_a_record_that_does_not_match_the_schema_fields_aborts_the_build(tmp_path):
    bad = make_record(1)
    del bad["dateline"]
    with pytest.raises(ValueError, match="missing \\['dateline'\\]"):
        with ReleaseWriter(make_settings(), tmp_path) as writer:
            writer.add(bad, [])
    assert os.listdir(tmp_path / "tin-tuc") == []


def test_an_empty_release_is_refused(tmp_path):
    writer = ReleaseWriter(make_settings(), tmp_path)
    with pytest.raises(ValueError, match="no records"):
        writer.close({})
    assert os.listdir(tmp_path / "tin-tuc") == []


def test_version_must_be_semantic(tmp_path):
    with pytest.raises(ValueError, match="semantic"):
        ReleaseWriter(make_settings("1.10"), tmp_path)
    assert not (tmp_path / "tin-tuc").exists()


def test_two_builds_of_the_same_inputs_are_byte_identical(tmp_path):
    records = [make_record(i) for i in V1]
    for root in ("a", "b"):
        build(tmp_path / root, "1.0.0", records, [removals_for(i) for i in V1])
    a, b = tree_hashes(tmp_path / "a"), tree_hashes(tmp_path / "b")
    assert a == b
    assert any(p.endswith(".png") for p in a) and any(p.endswith(".parquet") for p in a)
    header = release_shards(tmp_path / "a/tin-tuc/1.0.0", "jsonl")["train"][0].read_bytes()[:10]
    assert header[3] == 0 and header[4:8] == b"\0\0\0\0", "gzip header: no file name, mtime 0"


def test_key_order_of_the_input_dicts_does_not_change_the_bytes():
    record = make_record(5)
    shuffled = dict(reversed(list(record.items())))
    shuffled["provenance"] = dict(reversed(list(record["provenance"].items())))
    ordered = in_schema_order(shuffled, field_order(load_schema("article")))
    assert dumps_line(ordered) == dumps_line(record)
    assert list(shuffled)[0] == "provenance" and list(shuffled["provenance"])[0] == "builder"  # input untouched


def test_release_date_falls_back_to_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1714521600")
    assert release_date(make_settings(date_released=None)) == "2024-05-01"
    assert release_date(make_settings(date_released="2020-01-31")) == "2020-01-31"


# --- contents: card, stats, audit, changelog ---------------------------------------------------

def test_card_front_matter_lists_exact_files_features_and_counts(releases):
    release = releases["v1"]
    meta = card.read_front_matter(release / "README.md")
    assert meta["license"] == "cc-by-4.0" and meta["language"] == ["vi"]
    assert meta["pretty_name"] == "Tin tức Việt Nam" and meta["size_categories"] == ["n<1K"]
    assert meta["task_categories"]
    (config,) = meta["configs"]
    files = {f["split"]: f["path"] for f in config["data_files"]}
    on_disk = {s: [f"data/{p.name}" for p in ps] for s, ps in release_shards(release, "data").items()}
    assert files == on_disk
    assert not any(ch in p for paths in files.values() for p in paths for ch in "*?[")
    stats = orjson.loads((release / "stats.json").read_bytes())
    assert {s["name"]: s["num_examples"] for s in meta["dataset_info"]["splits"]} == stats["release"]["per_split"]
    assert meta["dataset_info"]["features"] == card.card_features(load_schema("article"))


def test_card_body_has_fields_statistics_plots_loading_and_citation(releases):
    text = (releases["v1"] / "README.md").read_text(encoding="utf-8")
    for row in ("| `published` | string | yes |", "| `quality_flags` | list of string | no |",
                "| `provenance.builder.version` | string | no |"):
        assert row in text
    assert "| Tuổi Trẻ | 15 | 25.0% |" in text  # per publisher
    assert "| 2024-04 | 24 | 40.0% |" in text  # per month: the +07:00 and -05:00 dates of April
    assert "| player | 20 | 50.0% |" in text  # removals per noise kind
    assert "![Histogram of text length](images/text_length.png)" in text
    assert (releases["v1"] / "images/text_length.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'revision="v1.0.0"' in text and 'load_dataset("path/to/tin-tuc", "v1.0.0")' in text
    assert "doi = {10.5281/zenodo.1234567}" in text
    assert "major" in text and "minor" in text and "patch" in text


def test_stats_json_merges_build_stats_with_sorted_keys(releases):
    raw = (releases["v1"] / "stats.json").read_bytes()
    stats = orjson.loads(raw)
    assert stats["build"] == {"inputs": 62, "rejects": {"empty-text": 2}}
    assert stats["release"]["records"] == 60
    assert stats["release"]["removals"]["per_kind"] == {"player": 20, "share": 20}
    assert sum(stats["release"]["text_length"]["histogram"]) == 60
    assert raw == orjson.dumps(stats, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def test_audit_holds_the_removals_of_each_record_id(releases):
    audit = {}
    for shards in release_shards(releases["v1"], "audit").values():
        for shard in shards:
            for line in gz_lines(shard):
                entry = orjson.loads(line)
                audit[entry["id"]] = entry["removals"]
    assert audit == {record_id(i): removals_for(i) for i in V1 if removals_for(i)}


def test_diff_lists_added_removed_and_changed_ids(releases):
    diff = diff_releases(releases["v1"], releases["v2"])
    assert diff["added"] == sorted(record_id(i) for i in ADDED)
    assert diff["removed"] == sorted(record_id(i) for i in REMOVED)
    assert diff["changed"] == sorted([{"id": record_id(TEXT_CHANGED), "fields": ["text"]},
                                      {"id": record_id(META_CHANGED), "fields": ["publisher"]}], key=lambda c: c["id"])
    assert diff["counts"] == {"added": 30, "removed": 2, "changed": 2, "moved": 0, "unchanged": 56}
    assert diff["schema_changes"] == [] and diff["required_bump"] == "minor" and diff["policy_warnings"] == []


def test_changelog_written_at_build_time_matches_the_diff(releases):
    text = (releases["v2"] / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## 1.1.0 (2024-05-01)" in text and "Compared with 1.0.0 (60 articles)" in text
    assert "| added | 30 |" in text and "| removed | 2 |" in text and "| changed | 2 |" in text
    for i in ADDED + sorted(REMOVED):
        assert f"- `{record_id(i)}`" in text
    assert f"- `{record_id(TEXT_CHANGED)}`: text" in text
    assert f"- `{record_id(META_CHANGED)}`: publisher" in text
    assert "First release: 60 articles" in (releases["v1"] / "CHANGELOG.md").read_text(encoding="utf-8")


def test_diff_reports_schema_changes_and_a_too_small_version_bump(releases, tmp_path):
    new = copy_release(releases["v2"], tmp_path)
    schema = orjson.loads((new / "schema.json").read_bytes())
    schema["properties"]["section"] = {"type": ["string", "null"]}
    schema["properties"]["lang"]["pattern"] = "^[a-z]{2}$"
    (new / "schema.json").write_bytes(orjson.dumps(schema))
    diff = diff_releases(releases["v1"], new)
    assert diff["schema_changes"] == ["added field `section`",
                                      "changed field `lang`: pattern '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$' -> '^[a-z]{2}$'"]
    assert diff["required_bump"] == "major"
    assert diff["policy_warnings"] == ["these changes need a major version bump, but 1.0.0 -> 1.1.0 is a minor bump"]
    assert schema_changes(schema, schema) == []


def test_cli_diff_prints_json(releases, capsys):
    assert cli_main(["diff", str(releases["v1"]), str(releases["v2"]), "--json"]) == 0
    out = orjson.loads(capsys.readouterr().out)
    assert out["counts"]["added"] == 30 and out["removed"] == sorted(record_id(i) for i in REMOVED)


def test_parent_card_lists_every_version_as_its_own_config(releases):
    meta = card.read_front_matter(releases["dist"] / "tin-tuc" / "README.md")
    assert [c["config_name"] for c in meta["configs"]] == ["v1.0.0", "v1.1.0"]
    assert not any(c.get("default") for c in meta["configs"])
    v1_paths = [p for f in meta["configs"][0]["data_files"] for p in f["path"]]
    assert v1_paths and all(p.startswith("1.0.0/data/") for p in v1_paths)
    assert [i["config_name"] for i in meta["dataset_info"]] == ["v1.0.0", "v1.1.0"]


# --- citation --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def cffconvert(tmp_path_factory) -> str:
    """cffconvert from $CFFCONVERT, PATH or the dev tools venv; else installed once into a temp venv
    (it pins jsonschema<4, so it cannot live in the project's venv)."""
    for candidate in (os.environ.get("CFFCONVERT"), shutil.which("cffconvert"), "/work/tools-venv/bin/cffconvert"):
        if candidate and Path(candidate).is_file():
            return candidate
    target = tmp_path_factory.mktemp("cffconvert-venv")
    venv.create(target, with_pip=True)
    pip = subprocess.run([str(target / "bin/python"), "-m", "pip", "install", "-q", "cffconvert"],
                         capture_output=True, text=True, timeout=300)
    if pip.returncode != 0:
        pytest.skip(f"cffconvert unavailable and could not be installed: {pip.stderr[-500:]}")
    return str(target / "bin/cffconvert")


def validate_cff(cffconvert: str, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([cffconvert, "--validate", "-i", str(path)], capture_output=True, text=True, timeout=60)


def test_citation_cff_is_valid_and_carries_version_date_and_identifiers(releases, cffconvert):
    path = releases["v1"] / "CITATION.cff"
    result = validate_cff(cffconvert, path)
    assert result.returncode == 0, result.stdout + result.stderr
    cff = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert cff["version"] == "1.0.0" and cff["date-released"] == "2024-05-01"
    assert cff["doi"] == "10.5281/zenodo.1234567" and cff["license"] == "CC-BY-4.0"
    assert {i["type"]: i["value"] for i in cff["identifiers"]} == {
        "doi": "10.5281/zenodo.1234567", "url": "https://github.com/example/newscorpus"}
    assert cff["authors"][0]["orcid"] == "https://orcid.org/0000-0002-1825-0097"


def test_citation_version_stays_a_string(tmp_path, cffconvert):
    path = tmp_path / "CITATION.cff"
    path.write_text(card.render_citation(make_settings("1.10"), "2024-05-01"), encoding="utf-8")
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["version"] == "1.10"
    result = validate_cff(cffconvert, path)
    assert result.returncode == 0, result.stdout + result.stderr


# --- verify ----------------------------------------------------------------------------------

def test_verify_accepts_a_fresh_release_and_the_cli_exits_zero(releases, capsys):
    assert verify_release(releases["v1"]) == []
    assert cli_main(["verify", str(releases["v2"])]) == 0
    assert capsys.readouterr().out.strip().endswith("OK")


def test_verify_catches_a_tampered_file(releases, tmp_path, capsys):
    release = copy_release(releases["v1"], tmp_path)
    shard = release_shards(release, "data")["train"][0]
    data = bytearray(shard.read_bytes())
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    rel = f"data/{shard.name}"
    problems = verify_release(release)
    assert any(p.startswith(f"{rel}: SHA-256 is ") for p in problems), problems
    assert cli_main(["verify", str(release)]) == 1
    assert f"{rel}: SHA-256" in capsys.readouterr().err


def test_verify_catches_a_wrong_count_in_the_card(releases, tmp_path):
    release = copy_release(releases["v1"], tmp_path)
    readme = release / "README.md"
    meta = card.read_front_matter(readme)
    train = next(s for s in meta["dataset_info"]["splits"] if s["name"] == "train")["num_examples"]
    text = readme.read_text(encoding="utf-8").replace(
        f"  - name: train\n    num_examples: {train}\n", f"  - name: train\n    num_examples: {train + 1}\n")
    readme.write_text(text, encoding="utf-8")
    problems = verify_release(release)
    assert f"README.md: dataset_info says split train has {train + 1} examples, data/ has {train}" in problems
    assert any(p.startswith("README.md: SHA-256 is ") for p in problems)


def test_verify_catches_a_missing_file(releases, tmp_path):
    release = copy_release(releases["v1"], tmp_path)
    (release / "data/test-00000-of-00001.parquet").unlink()
    problems = verify_release(release)
    assert "data/test-00000-of-00001.parquet: listed in SHA256SUMS but missing" in problems
    assert "README.md: configs lists data/test-00000-of-00001.parquet for split test, but no such file" in problems


def test_verify_catches_an_invalid_record(releases, tmp_path):
    release = copy_release(releases["v1"], tmp_path)
    shard = next(p for p in release_shards(release, "jsonl")["train"] if len(gz_lines(p)) >= 2)
    lines = gz_lines(shard)
    bad = orjson.loads(lines[1])
    bad["lang"] = "Tiếng Việt"
    lines[1] = orjson.dumps(bad) + b"\n"
    shard.write_bytes(gzip.compress(b"".join(lines), mtime=0))
    problems = verify_release(release)
    jsonl, data = f"jsonl/{shard.name}", "data/" + shard.name.replace(".jsonl.gz", ".parquet")
    assert any(p.startswith(f"{jsonl}:2: record {bad['id']}: /lang:") for p in problems), problems
    assert f"{data} row 1: differs from {jsonl}:2 in ['lang']" in problems


def test_verify_catches_a_duplicate_id_and_ignores_hub_dotfiles(releases, tmp_path):
    release = copy_release(releases["v1"], tmp_path)
    (release / ".gitattributes").write_text("*.parquet filter=lfs\n", encoding="utf-8")
    assert verify_release(release) == []
    shards = release_shards(release, "jsonl")["train"]
    first = gz_lines(shards[0])[0]
    last = shards[-1]
    lines = gz_lines(last)
    last.write_bytes(gzip.compress(b"".join(lines) + first, mtime=0))
    n = len(lines) + 1
    problems = verify_release(release)
    rid = orjson.loads(first)["id"]
    assert f"jsonl/{last.name}:{n}: duplicate id {rid} (first at jsonl/{shards[0].name}:1)" in problems, problems


# --- push --------------------------------------------------------------------------------------

class FakeHubApi:
    """Records calls the way tests need them; never touches the network."""

    def __init__(self, tags=()):
        self.calls = []
        self.tags = list(tags)

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def list_repo_refs(self, repo_id, **kwargs):
        self.calls.append(("list_repo_refs", repo_id, kwargs))
        return type("Refs", (), {"tags": [type("Ref", (), {"name": t}) for t in self.tags]})

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs["repo_id"], kwargs))
        return type("CommitInfo", (), {"oid": "c0ffee"})

    def create_tag(self, repo_id, **kwargs):
        self.calls.append(("create_tag", repo_id, kwargs))


def test_push_dry_run_lists_operations_and_calls_nothing(releases):
    api = FakeHubApi()
    plan = push_release(releases["v1"], "org/tin-tuc", api=api, dry_run=True)
    assert api.calls == []
    assert plan[0] == "create_repo org/tin-tuc (dataset, exist_ok)"
    assert plan[2].startswith("upload_folder 1.0.0/ -> org/tin-tuc (")
    assert plan[3] == "create_tag v1.0.0 on the uploaded commit"


def test_push_uploads_the_folder_and_tags_the_commit(releases):
    api = FakeHubApi(tags=["v0.9.0"])
    done = push_release(releases["v1"], "org/tin-tuc", api=api, token="hf_x")
    assert [c[0] for c in api.calls] == ["create_repo", "list_repo_refs", "upload_folder", "create_tag"]
    upload = api.calls[2][2]
    assert upload["folder_path"] == str(releases["v1"]) and upload["repo_type"] == "dataset"
    assert upload["delete_patterns"] == ["*"] and upload["token"] == "hf_x"
    assert api.calls[3][2]["tag"] == "v1.0.0" and api.calls[3][2]["revision"] == "c0ffee"
    assert done[-1] == "create_tag v1.0.0 on c0ffee"


def test_push_refuses_an_existing_tag_and_an_unverified_release(releases, tmp_path):
    api = FakeHubApi(tags=["v1.0.0"])
    with pytest.raises(ReleaseExistsError, match="v1.0.0"):
        push_release(releases["v1"], "org/tin-tuc", api=api)
    assert "upload_folder" not in [c[0] for c in api.calls]
    release = copy_release(releases["v1"], tmp_path)
    (release / "CHANGELOG.md").write_text("edited", encoding="utf-8")
    api = FakeHubApi()
    with pytest.raises(ReleaseVerificationError, match="CHANGELOG.md: SHA-256"):
        push_release(release, "org/tin-tuc", api=api)
    assert api.calls == []


def test_cli_push_dry_run(releases, capsys):
    assert cli_main(["push", str(releases["v1"]), "--repo-id", "org/tin-tuc", "--dry-run"]) == 0
    assert "would create_tag v1.0.0" in capsys.readouterr().out
