"""`load_dataset` on a release returns exactly the published records (offline, private cache).

The trap this guards against: datasets 5.2.0 rewrites date-like strings when it reads
gzipped JSONL, so the card points at Parquet; every field of every record must survive.
"""
from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import orjson
import pytest

from corpus import card
from corpus.publish import ReleaseWriter, assign_split
from corpus.release import release_shards
from corpus.settings import Author, CorpusSettings

SPLITS = (("train", 0.6), ("validation", 0.2), ("test", 0.2))
# strings a type-guessing reader would turn into dates, numbers, booleans or nulls
TRICKY = ["2024-04-05T14:15:00+07:00", "2024-04-05T14:15:00Z", "2024-04-05T14:15:00.123+05:30",
          "2024-04-05", "1.10", "00123", "true", "null", "NaN", "Hà Nội, 05/04/2024"]


def settings(version: str, shard_bytes: int = 2500) -> CorpusSettings:
    return CorpusSettings(
        name="bao-chi", version=version, license="CC-BY-SA-4.0", description="Bài báo tiếng Việt thử nghiệm.",
        authors=(Author("Trần", "Thị Bình"),), inputs=(), input_root=Path("."), pretty_name="Báo chí thử",
        date_released="2024-06-01", splits=SPLITS, shard_bytes=shard_bytes,
    )


def record(i: int) -> dict:
    tricky = TRICKY[i % len(TRICKY)]
    return {
        "id": hashlib.sha256(f"tin-{i}".encode()).hexdigest()[:16],
        "schema_version": "1.0.0",
        "title": None if i % 4 == 0 else tricky,
        "text": f"Ngày {tricky}, phóng viên ghi nhận tại chợ Bến Thành.\nGiá rau tăng {i} nghìn đồng. 🥬",
        "lang": "vi" if i % 5 else "en",
        "url": None if i % 3 == 0 else f"https://bao.example.vn/tin-{i}",
        "publisher": None if i % 6 == 0 else ["Nhân Dân", "Lao Động", "1.10"][i % 3],
        "published": [None, "2024-04-05T14:15:00+07:00", "2024-04-05", "2023-01-31T23:59:59.250-03:00",
                      "2024-02-29T00:00:00Z"][i % 5],
        "dateline": None if i % 2 else "TPO",
        "attribution": None if i % 3 else tricky,
        "quality_flags": [] if i % 4 else ["homoglyphs", "replacement-character"],
        "provenance": {"input": f"raw/{i}.txt", "input_id": None if i % 2 else tricky,
                       "input_sha256": hashlib.sha256(str(i).encode()).hexdigest(),
                       "builder": {"name": "newscorpus", "version": "0.1.0"}},
    }


def build(dist: Path, version: str, records: list[dict]) -> Path:
    with ReleaseWriter(settings(version), dist) as writer:
        for rec in records:
            writer.add(rec, [])
        return writer.close({})


def jsonl_records(release: Path) -> dict[str, list[dict]]:
    return {split: [orjson.loads(line) for shard in shards for line in gzip.decompress(shard.read_bytes()).splitlines()]
            for split, shards in release_shards(release, "jsonl").items()}


def differences(loaded: dict[str, list[dict]], published: dict[str, list[dict]]) -> list[str]:
    """Every (split, row, field) where the loaded value differs from the JSONL, type included."""
    out = [f"splits {sorted(loaded)} != {sorted(published)}"] if loaded.keys() != published.keys() else []
    for split in published.keys() & loaded.keys():
        if len(loaded[split]) != len(published[split]):
            out.append(f"{split}: {len(loaded[split])} rows loaded, {len(published[split])} published")
        for n, (got, want) in enumerate(zip(loaded[split], published[split])):
            for field in want.keys() | got.keys():
                if orjson.dumps(got.get(field), option=orjson.OPT_SORT_KEYS) != \
                        orjson.dumps(want.get(field), option=orjson.OPT_SORT_KEYS):
                    out.append(f"{split} row {n} {field}: {got.get(field)!r} != {want.get(field)!r}")
    return out


@pytest.fixture(scope="module")
def hf(tmp_path_factory):
    """datasets, offline, with every cache in a temp folder (set before datasets is imported)."""
    cache = tmp_path_factory.mktemp("hf")
    saved = {k: os.environ.get(k) for k in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE", "HF_HOME", "HF_DATASETS_CACHE")}
    os.environ.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_HOME=str(cache), HF_DATASETS_CACHE=str(cache / "ds"))
    import datasets

    datasets.disable_progress_bars()
    yield datasets, str(cache / "ds")
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("dist")
    v1 = build(root, "1.0.0", [record(i) for i in range(40)])
    v2 = build(root, "1.1.0", [record(i) for i in range(55) if i != 7])
    return {"root": root, "v1": v1, "v2": v2}


def load_all(hf, path: Path, name: str | None = None) -> dict[str, list[dict]]:
    datasets, cache = hf
    loaded = datasets.load_dataset(str(path), name, cache_dir=cache)
    return {split: loaded[split].to_list() for split in loaded}


def test_load_dataset_returns_every_field_of_every_record_unchanged(hf, dist):
    published = jsonl_records(dist["v1"])
    assert set(published) == {"train", "validation", "test"}
    assert any(len(shards) > 1 for shards in release_shards(dist["v1"], "data").values())
    assert sum(r["published"] is None for recs in published.values() for r in recs) > 0
    assert any(r["published"] == "2024-04-05T14:15:00+07:00" for recs in published.values() for r in recs)
    assert differences(load_all(hf, dist["v1"]), published) == []


def test_card_features_match_the_parquet_and_the_loaded_dataset(hf, dist):
    datasets, cache = hf
    meta = card.read_front_matter(dist["v1"] / "README.md")
    from_card = datasets.Features._from_yaml_list(meta["dataset_info"]["features"])
    import pyarrow.parquet as pq

    shard = release_shards(dist["v1"], "data")["train"][0]
    assert from_card == datasets.Features.from_arrow_schema(pq.read_schema(shard))
    assert datasets.load_dataset(str(dist["v1"]), split="validation", cache_dir=cache).features == from_card


def test_parent_folder_loads_each_version_by_config_and_never_merges(hf, dist):
    parent = dist["root"] / "bao-chi"
    assert differences(load_all(hf, parent, "v1.0.0"), jsonl_records(dist["v1"])) == []
    assert differences(load_all(hf, parent, "v1.1.0"), jsonl_records(dist["v2"])) == []
    datasets, cache = hf
    with pytest.raises(ValueError, match="v1.0.0"):
        datasets.load_dataset(str(parent), cache_dir=cache)  # which version? it must ask


def test_an_empty_split_is_left_out_and_the_release_still_loads(hf, tmp_path):
    only_train = [r for r in map(record, range(200)) if assign_split(r["id"], SPLITS) == "train"][:12]
    release = build(tmp_path, "1.0.0", only_train)
    meta = card.read_front_matter(release / "README.md")
    assert [f["split"] for f in meta["configs"][0]["data_files"]] == ["train"]
    assert differences(load_all(hf, release), {"train": only_train}) == []
