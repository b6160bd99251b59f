"""Publish: stream clean records into an immutable, versioned release folder.

Layout of ``dist/<name>/<version>/``::

    README.md            dataset card (YAML front matter for `datasets` and the Hub)
    CITATION.cff  CHANGELOG.md  stats.json  schema.json  SHA256SUMS
    images/*.png         plots shown in the card
    data/<split>-NNNNN-of-NNNNN.parquet     what `load_dataset` reads
    jsonl/<split>-NNNNN-of-NNNNN.jsonl.gz   the same records, same shards, same order
    audit/<split>-NNNNN-of-NNNNN.jsonl.gz   {"id", "removals"} for records the cleaner changed

Everything is byte-reproducible: records keep arrival order within a split, gzip has
mtime 0 and a fixed level, Parquet writer options are fixed, and the only date written
is the release date (settings.date_released, else SOURCE_DATE_EPOCH, else today in UTC).
The card, citation and diff/verify/push halves live in ``card.py`` and ``release.py``.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from . import card
from .resources import load_schema
from .settings import CorpusSettings

# Level 1: bench_publish.py measures level 6 at ~10x the time of level 1 for files only
# ~13 % smaller (perf notes §1 agree); the JSONL copy is secondary (Parquet is what loaders
# read). stdlib zlib only: an optional faster gzip (isal) would write different bytes.
JSONL_GZIP_LEVEL = 1
# Same options as `datasets`' push_to_hub (content-defined chunking, page index), but zstd:
# CDC lets the Hub de-duplicate unchanged pages between versions.
PARQUET_OPTIONS = dict(
    compression="zstd",
    compression_level=3,
    use_dictionary=True,
    write_statistics=True,
    version="2.6",
    data_page_version="1.0",
    write_page_index=True,
    use_content_defined_chunking={"min_chunk_size": 256 * 1024, "max_chunk_size": 1024 * 1024, "norm_level": 0},
)
ROW_GROUP_ROWS = 1000  # as datasets' DEFAULT_MAX_BATCH_SIZE
ROW_GROUP_BYTES = 64 * 1024 * 1024
SHARD_NAME = re.compile(r"^(?P<split>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.(?P<ext>parquet|jsonl\.gz)$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
TMP_PREFIX = ".tmp-"


class ReleaseExistsError(FileExistsError):
    """The version folder (or tag) already exists; releases are never modified."""


# --- versions and dates ---------------------------------------------------------------

def version_key(version: str) -> tuple:
    """Sort key for semantic versions; a pre-release sorts before its release."""
    m = SEMVER.match(version)
    if not m:
        raise ValueError(f"version {version!r} is not a semantic version MAJOR.MINOR.PATCH")
    major, minor, patch, pre = m.groups()
    return (int(major), int(minor), int(patch), pre is None, pre or "")


def list_versions(name_dir: Path) -> list[str]:
    """Published versions in a dist/<name> folder, oldest first (temp folders ignored)."""
    if not name_dir.is_dir():
        return []
    found = [p.name for p in name_dir.iterdir() if p.is_dir() and SEMVER.match(p.name)]
    return sorted(found, key=version_key)


def release_date(settings: CorpusSettings) -> str:
    """The one date a release contains: settings, else SOURCE_DATE_EPOCH, else today (UTC)."""
    if settings.date_released:
        return str(settings.date_released)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return moment.date().isoformat()


# --- splits ---------------------------------------------------------------------------

def assign_split(record_id: str, splits: tuple[tuple[str, float], ...]) -> str:
    """Split for an id: SHA-256 of the id read as a number in [0, 1) against cumulative fractions.

    Depends only on the id and the fractions, so a record never moves between versions
    (changing the fractions does move records: that is a major version).
    """
    digest = hashlib.sha256(record_id.encode("utf-8")).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    upper = 0.0
    for name, fraction in splits:
        upper += fraction
        if point < upper:
            return name
    return splits[-1][0]  # fractions summing to 0.999... by rounding


def shard_name(split: str, index: int, count: int, ext: str) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.{ext}"


# --- records --------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldOrder:
    names: tuple[str, ...]
    nested: dict  # name -> FieldOrder, for object fields


def field_order(schema: dict) -> FieldOrder:
    """Property names in schema order, recursively for objects."""
    props = schema["properties"]
    return FieldOrder(tuple(props), {n: field_order(p) for n, p in props.items()
                                     if p.get("type") == "object" and "properties" in p})


def in_schema_order(record: dict, order: FieldOrder) -> dict:
    """The record with keys in schema order, so JSONL bytes do not depend on how the dict was built.
    Returns the record itself when it is already in order (the usual case: no copy)."""
    if tuple(record) != order.names:
        if record.keys() != set(order.names):
            missing = [n for n in order.names if n not in record]
            extra = sorted(set(record) - set(order.names))
            raise ValueError(f"record {record.get('id')!r} does not match the schema fields: missing {missing}, extra {extra}")
        record = {name: record[name] for name in order.names}
    for name, sub in order.nested.items():
        value = record[name]
        if value is not None:
            ordered = in_schema_order(value, sub)
            if ordered is not value:
                record = {**record, name: ordered}  # never mutate the caller's dict
    return record


def dumps_line(obj: dict, *, sort_keys: bool = False) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS if sort_keys else 0) + b"\n"


def open_gzip(path: Path):
    # filename="" keeps the temp file's name out of the gzip header
    return gzip.GzipFile(filename="", mode="wb", fileobj=open(path, "wb"), compresslevel=JSONL_GZIP_LEVEL, mtime=0)


def close_gzip(fh) -> None:
    raw = fh.fileobj
    fh.close()
    raw.close()


# --- statistics: bounded counters, never per-record lists ------------------------------

LENGTH_BIN = 250  # characters
LENGTH_BINS = 80  # 0 .. 20,000 characters, then one overflow bin
MONTH = re.compile(r"^\d{4}-\d{2}")
UNKNOWN = "(unknown)"


class ReleaseStats:
    def __init__(self, nullable_fields: list[str]):
        self.records = 0
        self.per_split: Counter = Counter()
        self.per_publisher: Counter = Counter()
        self.per_month: Counter = Counter()
        self.per_lang: Counter = Counter()
        self.quality_flags: Counter = Counter()
        self.nulls: Counter = Counter({name: 0 for name in nullable_fields})
        self.length_hist = [0] * (LENGTH_BINS + 1)
        self.length_min: int | None = None
        self.length_max = 0
        self.length_total = 0
        self.removals_per_kind: Counter = Counter()
        self.removals_per_rule: Counter = Counter()
        self.removed_chars = 0
        self.records_with_removals = 0

    def add(self, record: dict, split: str, removals: list[dict]) -> None:
        self.records += 1
        self.per_split[split] += 1
        self.per_publisher[record.get("publisher") or UNKNOWN] += 1
        published = record.get("published") or ""
        self.per_month[published[:7] if MONTH.match(published) else UNKNOWN] += 1
        self.per_lang[record.get("lang") or UNKNOWN] += 1
        self.quality_flags.update(record.get("quality_flags") or ())
        for name in self.nulls:
            if record.get(name) is None:
                self.nulls[name] += 1
        length = len(record["text"])
        self.length_hist[min(length // LENGTH_BIN, LENGTH_BINS)] += 1
        self.length_min = length if self.length_min is None else min(self.length_min, length)
        self.length_max = max(self.length_max, length)
        self.length_total += length
        if removals:
            self.records_with_removals += 1
            for removal in removals:
                self.removals_per_kind[str(removal.get("kind"))] += 1
                self.removals_per_rule[str(removal.get("rule"))] += 1
                self.removed_chars += max(0, int(removal.get("end", 0)) - int(removal.get("start", 0)))

    def to_dict(self) -> dict:
        return {
            "records": self.records,
            "per_split": dict(self.per_split),
            "per_publisher": dict(self.per_publisher),
            "per_month": dict(self.per_month),
            "per_lang": dict(self.per_lang),
            "quality_flags": dict(self.quality_flags),
            "null_fields": dict(self.nulls),
            "text_length": {
                "unit": "characters",
                "bin_width": LENGTH_BIN,
                "histogram": self.length_hist,  # last bin: >= bin_width * (len - 1)
                "min": self.length_min or 0,
                "max": self.length_max,
                "mean": round(self.length_total / self.records, 1) if self.records else 0,
            },
            "removals": {
                "per_kind": dict(self.removals_per_kind),
                "per_rule": dict(self.removals_per_rule),
                "records_with_removals": self.records_with_removals,
                "removed_chars": self.removed_chars,
            },
        }


# --- shards ---------------------------------------------------------------------------

class SplitShards:
    """One split's Parquet, JSONL and audit shards; they roll over together by JSONL size,
    so shard k of each holds the same records in the same order."""

    def __init__(self, root: Path, split: str, arrow_schema: pa.Schema, shard_bytes: int):
        self.root, self.split, self.arrow_schema, self.shard_bytes = root, split, arrow_schema, shard_bytes
        self.rows_per_shard: list[int] = []
        self._parquet = self._jsonl = self._audit = None
        self._rows = self._bytes = 0
        self._batch: list[dict] = []
        self._batch_bytes = 0

    def _partial(self, folder: str, index: int, ext: str) -> Path:
        return self.root / folder / f"{self.split}-{index:05d}.{ext}.partial"

    def _start_shard(self) -> None:
        index = len(self.rows_per_shard)
        self._parquet = pq.ParquetWriter(self._partial("data", index, "parquet"), self.arrow_schema, **PARQUET_OPTIONS)
        self._jsonl = open_gzip(self._partial("jsonl", index, "jsonl.gz"))
        self._audit = open_gzip(self._partial("audit", index, "jsonl.gz"))

    def _flush_batch(self) -> None:
        if self._batch:
            self._parquet.write_table(pa.Table.from_pylist(self._batch, schema=self.arrow_schema))
            self._batch, self._batch_bytes = [], 0

    def _finish_shard(self) -> None:
        self._flush_batch()
        self._parquet.close()
        close_gzip(self._jsonl)
        close_gzip(self._audit)
        self._parquet = self._jsonl = self._audit = None
        self.rows_per_shard.append(self._rows)
        self._rows = self._bytes = 0

    def add(self, record: dict, line: bytes, audit_line: bytes | None) -> None:
        if self._rows and self._bytes + len(line) > self.shard_bytes:
            self._finish_shard()
        if self._parquet is None:
            self._start_shard()
        self._batch.append(record)
        self._batch_bytes += len(line)
        self._jsonl.write(line)
        if audit_line:
            self._audit.write(audit_line)
        self._rows += 1
        self._bytes += len(line)
        if len(self._batch) >= ROW_GROUP_ROWS or self._batch_bytes >= ROW_GROUP_BYTES:
            self._flush_batch()

    def close(self) -> dict[str, list[str]]:
        """Finish the last shard and give every shard its final NNNNN-of-NNNNN name."""
        if self._parquet is not None:
            self._finish_shard()
        count = len(self.rows_per_shard)
        names: dict[str, list[str]] = {"data": [], "jsonl": [], "audit": []}
        for folder, ext in (("data", "parquet"), ("jsonl", "jsonl.gz"), ("audit", "jsonl.gz")):
            for index in range(count):
                final = f"{folder}/{shard_name(self.split, index, count, ext)}"
                os.rename(self._partial(folder, index, ext), self.root / final)
                names[folder].append(final)
        return names

    def discard(self) -> None:
        for fh in (self._jsonl, self._audit):
            if fh is not None:
                close_gzip(fh)
        if self._parquet is not None:
            self._parquet.close()
        self._parquet = self._jsonl = self._audit = None


# --- the writer -----------------------------------------------------------------------

def write_sha256sums(root: Path) -> None:
    """`sha256sum -c SHA256SUMS` compatible list of every other file, sorted by path."""
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != "SHA256SUMS"):
        lines.append(f"{sha256_file(path)}  {path.relative_to(root).as_posix()}\n")
    (root / "SHA256SUMS").write_text("".join(lines), encoding="utf-8")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_json(path: Path, obj, *, sort_keys: bool = True) -> None:
    option = orjson.OPT_INDENT_2 | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    path.write_bytes(orjson.dumps(obj, option=option) + b"\n")


def remove_stale_builds(name_dir: Path) -> list[Path]:
    """Delete build folders (.tmp-<version>-<pid>) left by a build that was killed: those
    whose process is gone. A folder whose pid is alive is left alone, even if the pid was
    reused, because it may be another build running now."""
    removed = []
    for folder in sorted(Path(name_dir).glob(f"{TMP_PREFIX}*")):
        pid = folder.name.rpartition("-")[2]
        if not (folder.is_dir() and pid.isdigit()) or _process_alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but is not ours, or we cannot tell: keep its folder
    return True


class ReleaseWriter:
    """Streams records into a new release folder built in dist/<name>/.tmp-<version>-<pid> and renamed into place on close()."""

    def __init__(self, settings: CorpusSettings, dist_root: Path):
        version_key(settings.version)  # refuse a non-semantic version before touching disk
        self.settings = settings
        self.name_dir = Path(dist_root) / settings.name
        self.path = self.name_dir / settings.version
        if self.path.exists():
            raise ReleaseExistsError(
                f"{self.path}: version {settings.version} is already published; releases are never modified, bump the version"
            )
        self.schema = load_schema("article")
        self.arrow_schema = card.arrow_schema(self.schema)
        self._order = field_order(self.schema)
        nullable = [name for name, prop in self.schema["properties"].items() if "null" in card.json_types(prop)]
        self.stats = ReleaseStats(nullable)
        self._splits = tuple((name, float(fraction)) for name, fraction in settings.splits)
        self._shards: dict[str, SplitShards] = {}
        self._closed = False
        self.tmp = self.name_dir / f"{TMP_PREFIX}{settings.version}-{os.getpid()}"
        remove_stale_builds(self.name_dir)
        if self.tmp.exists():  # left by a crashed build that had our pid
            shutil.rmtree(self.tmp)
        for folder in ("data", "jsonl", "audit", "images"):
            (self.tmp / folder).mkdir(parents=True)

    def __enter__(self) -> ReleaseWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._closed:  # an exception, or a block that never called close(): publish nothing
            self.abort()

    def add(self, record: dict, removals: list[dict]) -> None:
        if self._closed:
            raise RuntimeError("release already closed or aborted")
        record = in_schema_order(record, self._order)
        split = assign_split(record["id"], self._splits)
        shards = self._shards.get(split)
        if shards is None:
            shards = self._shards[split] = SplitShards(self.tmp, split, self.arrow_schema, self.settings.shard_bytes)
        audit_line = dumps_line({"id": record["id"], "removals": removals}, sort_keys=True) if removals else None
        shards.add(record, dumps_line(record), audit_line)
        self.stats.add(record, split, removals)

    def close(self, build_stats: dict) -> Path:
        if self._closed:
            raise RuntimeError("release already closed")
        try:
            self._finish(build_stats)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        self._write_parent_card()
        return self.path

    def abort(self) -> None:
        for shards in self._shards.values():
            shards.discard()
        self._shards.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self._closed = True

    def _finish(self, build_stats: dict) -> None:
        settings, tmp = self.settings, self.tmp
        if not self.stats.records:
            raise ValueError(f"{settings.name} {settings.version}: no records; an empty release is not published")
        files = {split: self._shards[split].close() for split, _ in self._splits if split in self._shards}
        date = release_date(settings)
        stats = {
            "name": settings.name,
            "version": settings.version,
            "date_released": date,
            "splits": [[name, fraction] for name, fraction in self._splits],  # a list: order matters
            "release": self.stats.to_dict(),
            "build": build_stats,
        }
        write_json(tmp / "stats.json", stats)
        write_json(tmp / "schema.json", self.schema, sort_keys=False)  # field order is column order
        previous = self._previous_version()
        from .release import (  # release.py imports this module
            diff_releases,
            render_changelog,
        )

        diff = diff_releases(self.name_dir / previous, tmp) if previous else None
        (tmp / "CHANGELOG.md").write_text(render_changelog(settings.version, date, diff, stats), encoding="utf-8")
        images = card.write_plots(stats["release"], tmp / "images")
        card_text = card.render_card(
            settings, date, self.schema, stats, {split: names["data"] for split, names in files.items()}, images, diff, tmp
        )
        (tmp / "README.md").write_text(card_text, encoding="utf-8")
        (tmp / "CITATION.cff").write_text(card.render_citation(settings, date), encoding="utf-8")
        write_sha256sums(tmp)
        race = f"{self.path}: version {settings.version} was published by another build meanwhile"
        if self.path.exists():
            raise ReleaseExistsError(race)
        try:
            os.rename(tmp, self.path)  # atomic: same filesystem, and fails onto a non-empty folder
        except OSError as exc:
            if self.path.exists():
                raise ReleaseExistsError(race) from exc
            raise

    def _previous_version(self) -> str | None:
        mine = version_key(self.settings.version)
        older = [v for v in list_versions(self.name_dir) if version_key(v) < mine]
        return older[-1] if older else None

    def _write_parent_card(self) -> None:
        text = card.render_parent_card(self.name_dir, self.settings)
        partial = self.name_dir / f"{TMP_PREFIX}README-{os.getpid()}.md"
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, self.name_dir / "README.md")


def __getattr__(name: str):
    # diff/verify/push live in release.py, which imports this module: resolve them lazily
    if name in {"diff_releases", "verify_release", "push_release", "render_changelog"}:
        from . import release

        return getattr(release, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
