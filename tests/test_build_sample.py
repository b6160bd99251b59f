"""Build the bundled sample into a temporary dist, load it with datasets offline, and
compare every field of every record with the release's JSONL."""
import gzip
import json
import os
from pathlib import Path

import pytest

from corpus.pipeline import build_release


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    path, stats, rejects = build_release(None, root / "dist", rejects_dir=root / "build")
    return path, stats


def jsonl_records(release: Path) -> dict[str, list[dict]]:
    out = {}
    for shard in sorted((release / "jsonl").glob("*.jsonl.gz")):
        split = shard.name.split("-")[0]
        with gzip.open(shard, "rt", encoding="utf-8") as fh:
            out.setdefault(split, []).extend(json.loads(line) for line in fh)
    return out


def test_sample_release_loads_offline_and_equals_the_jsonl(release, tmp_path, monkeypatch):
    path, stats = release
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    from datasets import load_dataset

    expected = jsonl_records(path)
    ds = load_dataset(str(path))
    assert set(ds.keys()) == set(expected) and {"train", "validation", "test"} >= set(ds.keys())
    total = 0
    for split, records in expected.items():
        loaded = list(ds[split])
        assert len(loaded) == len(records)
        for got, want in zip(loaded, records):
            assert got == want  # every field, nested provenance, nulls and lists included
        total += len(records)
    assert total == stats.records > 20


def test_sample_release_validates(release):
    from corpus.cli import main

    path, _ = release
    files = sorted(str(p) for p in (path / "jsonl").glob("*.jsonl.gz"))
    assert main(["validate", *files]) == 0
