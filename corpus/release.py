"""Work on published releases: diff two versions, verify one, push one to the Hub.

Nothing here holds a release in memory: records are streamed shard by shard, and the diff
partitions (id, digests) rows into bucket files on disk and compares one bucket at a time.
"""
from __future__ import annotations

import gzip
import re
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from . import card
from .publish import (
    SHARD_NAME,
    ReleaseExistsError,
    assign_split,
    sha256_file,
    version_key,
)

REQUIRED_FILES = ("README.md", "CITATION.cff", "SHA256SUMS", "CHANGELOG.md", "stats.json", "schema.json")
DIFF_BUCKETS = 64
MAX_RECORD_PROBLEMS = 20
# fields whose change is not a change of the article: reported as schema changes instead,
# or (the builder's name and version) expected to change with every build
NOT_COMPARED = {"id", "schema_version"}
BUMP_RANK = {"none": 0, "patch": 1, "minor": 2, "major": 3}


class ReleaseVerificationError(ValueError):
    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"{path}: release does not verify:\n" + "\n".join(problems))


# --- reading a release ------------------------------------------------------------------

def release_shards(path: Path, folder: str) -> dict[str, list[Path]]:
    """Shards of one folder (data, jsonl, audit) per split, in shard order."""
    out: dict[str, list[tuple[int, Path]]] = {}
    for file in sorted((path / folder).glob("*")):
        m = SHARD_NAME.match(file.name)
        if m:
            out.setdefault(m["split"], []).append((int(m["index"]), file))
    return {split: [f for _, f in sorted(files)] for split, files in sorted(out.items())}


def read_json(path: Path):
    return orjson.loads(path.read_bytes())


def iter_jsonl(path: Path) -> Iterator[tuple[int, bytes]]:
    with gzip.open(path, "rb") as fh:
        yield from enumerate(fh, 1)


def iter_records(path: Path) -> Iterator[tuple[str, dict]]:
    """(split, record) for every record of a release, shard by shard, in file order."""
    for split, shards in release_shards(path, "jsonl").items():
        for shard in shards:
            for _, line in iter_jsonl(shard):
                yield split, orjson.loads(line)


# --- diff -----------------------------------------------------------------------------------

def _value_hash(value) -> int:
    if isinstance(value, dict):
        return hash(tuple(sorted((k, _value_hash(v)) for k, v in value.items())))
    if isinstance(value, list):
        return hash(tuple(_value_hash(v) for v in value))
    return hash(value)


def _field_digests(record: dict) -> str:
    """name=hash per compared field. Python's hash() is salted per process, which is fine:
    both indexes of a diff are written and read by the same process, and it is ~5x cheaper
    than serialising and hashing every field."""
    parts = []
    for name, value in record.items():
        if name in NOT_COMPARED:
            continue
        if name == "provenance" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "builder"}  # a new builder is not a new article
        parts.append(f"{name}={_value_hash(value) & 0xFFFFFFFFFFFFFFFF:x}")
    return ";".join(sorted(parts))


def _write_index(release: Path, folder: Path) -> None:
    folder.mkdir()
    buckets = [open(folder / f"{i:02x}", "w", encoding="utf-8") for i in range(DIFF_BUCKETS)]
    try:
        for split, record in iter_records(release):
            rid = record["id"]
            buckets[zlib.crc32(rid.encode("utf-8")) % DIFF_BUCKETS].write(f"{rid}\t{split}\t{_field_digests(record)}\n")
    finally:
        for fh in buckets:
            fh.close()


def _read_bucket(path: Path) -> dict[str, tuple[str, str]]:
    rows = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rid, split, digests = line.rstrip("\n").split("\t")
            rows[rid] = (split, digests)
    return rows


def _changed_fields(old: str, new: str) -> list[str]:
    a = dict(p.split("=") for p in old.split(";") if p)
    b = dict(p.split("=") for p in new.split(";") if p)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def schema_changes(old: dict, new: dict) -> list[str]:
    """Differences in fields and constraints; descriptions do not count."""
    def flatten(schema: dict, prefix: str = "") -> dict[str, dict]:
        out = {}
        for name, prop in schema.get("properties", {}).items():
            out[prefix + name] = {k: v for k, v in prop.items() if k not in ("description", "properties")}
            out.update(flatten(prop, prefix + name + "."))
        return out

    changes = []
    if old.get("$id") != new.get("$id"):
        changes.append(f"schema id {old.get('$id')} -> {new.get('$id')}")
    for key in ("required", "additionalProperties"):
        if old.get(key) != new.get(key):
            changes.append(f"record `{key}`: {old.get(key)!r} -> {new.get(key)!r}")
    a, b = flatten(old), flatten(new)
    changes += [f"added field `{f}`" for f in sorted(b.keys() - a.keys())]
    changes += [f"removed field `{f}`" for f in sorted(a.keys() - b.keys())]
    for field in sorted(a.keys() & b.keys()):
        for key in sorted(a[field].keys() | b[field].keys()):
            if a[field].get(key) != b[field].get(key):
                changes.append(f"changed field `{field}`: {key} {a[field].get(key)!r} -> {b[field].get(key)!r}")
    return changes


def _bump(old: str, new: str) -> str:
    a, b = version_key(old), version_key(new)
    if b <= a:
        return "none"
    return "major" if b[0] != a[0] else "minor" if b[1] != a[1] else "patch"


def diff_releases(old: Path, new: Path) -> dict:
    """Ids added, removed, changed (with the fields that changed) and moved between splits;
    counts; schema changes; and whether the version bump follows the policy."""
    old, new = Path(old), Path(new)
    added, removed, changed, moved = [], [], [], []
    unchanged = 0
    with tempfile.TemporaryDirectory(prefix="corpus-diff-") as scratch:
        _write_index(old, Path(scratch) / "old")
        _write_index(new, Path(scratch) / "new")
        for i in range(DIFF_BUCKETS):
            before = _read_bucket(Path(scratch) / "old" / f"{i:02x}")
            after = _read_bucket(Path(scratch) / "new" / f"{i:02x}")
            removed += [rid for rid in before if rid not in after]
            for rid, (split, digests) in after.items():
                if rid not in before:
                    added.append(rid)
                    continue
                old_split, old_digests = before[rid]
                if old_split != split:
                    moved.append({"id": rid, "from": old_split, "to": split})
                if old_digests != digests:
                    changed.append({"id": rid, "fields": _changed_fields(old_digests, digests)})
                elif old_split == split:
                    unchanged += 1
    old_stats, new_stats = read_json(old / "stats.json"), read_json(new / "stats.json")
    schema = schema_changes(read_json(old / "schema.json"), read_json(new / "schema.json"))
    required = ("major" if schema or moved else "minor" if added or removed else "patch" if changed else "none")
    actual = _bump(old_stats["version"], new_stats["version"])
    warnings = []
    if BUMP_RANK[actual] < BUMP_RANK[required]:
        warnings.append(f"these changes need a {required} version bump, but {old_stats['version']} -> "
                        f"{new_stats['version']} is {'a ' + actual if actual != 'none' else 'no'} bump")
    return {
        "old": {"version": old_stats["version"], "records": old_stats["release"]["records"]},
        "new": {"version": new_stats["version"], "records": new_stats["release"]["records"]},
        "added": sorted(added),
        "removed": sorted(removed),
        "changed": sorted(changed, key=lambda c: c["id"]),
        "moved": sorted(moved, key=lambda m: m["id"]),
        "counts": {"added": len(added), "removed": len(removed), "changed": len(changed),
                   "moved": len(moved), "unchanged": unchanged},
        "schema_changes": schema,
        "required_bump": required,
        "actual_bump": actual,
        "policy_warnings": warnings,
    }


def render_changelog(version: str, date: str, diff: dict | None, stats: dict) -> str:
    lines = ["# Changelog", "", f"## {version} ({date})", ""]
    counts = stats["release"]["per_split"]
    per_split = ", ".join(f"{s} {counts[s]:,}" for s, _ in stats["splits"] if s in counts)
    if diff is None:
        lines += [f"First release: {stats['release']['records']:,} articles ({per_split}).", ""]
        return "\n".join(lines)
    c = diff["counts"]
    lines += [(f"Compared with {diff['old']['version']} ({diff['old']['records']:,} articles): "
               f"{diff['new']['records']:,} articles ({per_split})."), "",
              "| change | articles |", "|---|---|",
              *(f"| {k} | {c[k]:,} |" for k in ("added", "removed", "changed", "moved", "unchanged")), "",
              f"Version bump: {diff['actual_bump']} (the changes need at least: {diff['required_bump']}).", ""]
    lines += [f"> Warning: {w}" for w in diff["policy_warnings"]] + ([""] if diff["policy_warnings"] else [])
    lines += ["### Schema changes", ""] + ([f"- {s}" for s in diff["schema_changes"]] or ["None."]) + [""]
    lines += [f"### Added ({c['added']:,})", ""] + [f"- `{rid}`" for rid in diff["added"]] + [""]
    lines += [f"### Removed ({c['removed']:,})", ""] + [f"- `{rid}`" for rid in diff["removed"]] + [""]
    lines += [f"### Changed ({c['changed']:,})", ""]
    lines += [f"- `{ch['id']}`: {', '.join(ch['fields'])}" for ch in diff["changed"]] + [""]
    if diff["moved"]:
        lines += [f"### Moved between splits ({c['moved']:,})", ""]
        lines += [f"- `{m['id']}`: {m['from']} -> {m['to']}" for m in diff["moved"]] + [""]
    lines += [f"Earlier changes: see `CHANGELOG.md` of version {diff['old']['version']}.", ""]
    return "\n".join(lines)


# --- verify ---------------------------------------------------------------------------------

def verify_release(path: Path) -> list[str]:
    """Every problem found, each naming the file (and line or row) and what is wrong; [] = OK."""
    path = Path(path)
    if not path.is_dir():
        return [f"{path}: not a release folder"]
    problems = [f"{name}: missing" for name in REQUIRED_FILES if not (path / name).is_file()]
    if (path / "SHA256SUMS").is_file():
        problems += _check_checksums(path)
    try:
        meta = card.read_front_matter(path / "README.md")
        stats, schema = read_json(path / "stats.json"), read_json(path / "schema.json")
    except (OSError, ValueError, yaml.YAMLError) as exc:
        return problems + [f"cannot read the card, stats.json or schema.json: {exc}"]
    card_counts, card_problems = _check_card(path, meta, schema, stats)
    problems += card_problems
    problems += _check_records(path, schema, stats, card_counts)
    if (path / "CITATION.cff").is_file():
        problems += _check_citation(path, stats)
    return problems


def _check_checksums(path: Path) -> list[str]:
    problems, listed = [], set()
    for number, line in enumerate((path / "SHA256SUMS").read_text(encoding="utf-8").splitlines(), 1):
        m = re.fullmatch(r"([0-9a-f]{64})  (\S.*)", line)
        if not m or m[2].startswith("/") or ".." in m[2].split("/"):
            problems.append(f"SHA256SUMS:{number}: not '<sha256>  <relative path>': {line!r}")
            continue
        expected, rel = m.groups()
        listed.add(rel)
        file = path / rel
        if not file.is_file():
            problems.append(f"{rel}: listed in SHA256SUMS but missing")
        elif (actual := sha256_file(file)) != expected:
            problems.append(f"{rel}: SHA-256 is {actual}, SHA256SUMS says {expected} (file changed)")
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel.startswith("."):  # .gitattributes, .cache/ of a Hub download are not the release's
            continue
        if rel != "SHA256SUMS" and rel not in listed:
            problems.append(f"{rel}: not listed in SHA256SUMS")
    return problems


def _check_card(path: Path, meta: dict, schema: dict, stats: dict) -> tuple[dict[str, int], list[str]]:
    """Card vs files: data_files, shard names, features, Arrow schema, counts. Returns the card's counts."""
    problems = []
    configs = {c.get("config_name"): c for c in meta.get("configs") or []}
    if "default" not in configs:
        return {}, ["README.md: configs has no 'default' config"]
    listed: dict[str, list[str]] = {}
    for entry in configs["default"].get("data_files") or []:
        paths = entry.get("path")
        paths = [paths] if isinstance(paths, str) else list(paths or [])
        listed[entry.get("split")] = paths
        for p in paths:
            if any(ch in p for ch in "*?["):
                problems.append(f"README.md: data_files path {p!r} of split {entry.get('split')} is a glob; list exact files")
    data = {split: [f"data/{f.name}" for f in files] for split, files in release_shards(path, "data").items()}
    for split in sorted(listed.keys() | data.keys()):
        for p in listed.get(split, []):
            if p not in data.get(split, []):
                problems.append(f"README.md: configs lists {p} for split {split}, but no such file")
        for p in data.get(split, []):
            if p not in listed.get(split, []):
                problems.append(f"{p}: not listed in the card's configs for split {split}")
        problems += _check_shard_sequence(path, split, data.get(split, []))
    info = meta.get("dataset_info") or {}
    expected_features = card.card_features(schema)
    if info.get("features") != expected_features:
        bad = [f.get("name") for f in info.get("features") or [] if f not in expected_features]
        missing = [f["name"] for f in expected_features if f not in (info.get("features") or [])]
        problems.append(f"README.md: dataset_info.features do not match schema.json (differ: {sorted(set(bad + missing))})")
    card_counts = {s.get("name"): s.get("num_examples") for s in info.get("splits") or []}
    if set(card_counts) != set(listed):
        problems.append(f"README.md: dataset_info.splits {sorted(card_counts)} != configs splits {sorted(listed)}")
    expected_arrow = {f.name: card.arrow_shape(f.type) for f in card.arrow_schema(schema)}
    for split, files in data.items():
        rows = 0
        for rel in files:
            try:
                parquet = pq.ParquetFile(path / rel)
            except (OSError, pa.ArrowException) as exc:  # an unreadable file is a problem to report
                problems.append(f"{rel}: not a readable Parquet file: {exc}")
                continue
            rows += parquet.metadata.num_rows
            actual = {f.name: card.arrow_shape(f.type) for f in parquet.schema_arrow}
            if actual != expected_arrow:
                differing = sorted(k for k in actual.keys() | expected_arrow.keys() if actual.get(k) != expected_arrow.get(k))
                problems.append(f"{rel}: Arrow columns {differing} do not match schema.json")
        if split in card_counts and card_counts[split] != rows:
            problems.append(f"README.md: dataset_info says split {split} has {card_counts[split]} examples, data/ has {rows}")
        if stats["release"]["per_split"].get(split) != rows:
            problems.append(f"stats.json: per_split says {split} has {stats['release']['per_split'].get(split)}, data/ has {rows}")
    for split, count in stats["release"]["per_split"].items():
        if count and split not in data:
            problems.append(f"stats.json: per_split says {split} has {count}, but data/ has no {split} shard")
    return card_counts, problems


def _check_shard_sequence(path: Path, split: str, data_files: list[str]) -> list[str]:
    problems = []
    names = [Path(p).name for p in data_files]
    count = len(names)
    expected = [f"{split}-{i:05d}-of-{count:05d}.parquet" for i in range(count)]
    if names != expected:
        problems.append(f"data/: shards of split {split} are {names}, expected {expected}")
    for folder in ("jsonl", "audit"):
        for name in expected:
            twin = name.replace(".parquet", ".jsonl.gz")
            if not (path / folder / twin).is_file():
                problems.append(f"{folder}/{twin}: missing (twin of data/{name})")
    return problems


def _record_checker(schema: dict):
    """The project's validator for the packaged schema; a plain one for a release's older schema."""
    from .resources import load_schema

    if schema == load_schema("article"):
        from .validate import load_validator

        validator = load_validator()
        return lambda record: [str(issue) for issue in validator.issues(record)]
    from jsonschema import Draft202012Validator

    plain = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return lambda record: [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in plain.iter_errors(record)]


def _check_records(path: Path, schema: dict, stats: dict, card_counts: dict[str, int]) -> list[str]:
    """Each JSONL record: valid, in the split its id hashes to, equal to its Parquet row."""
    problems: list[str] = []
    hidden = 0
    check = _record_checker(schema)
    splits = tuple((name, fraction) for name, fraction in stats["splits"])

    def report(message: str) -> None:
        nonlocal hidden
        if len(problems) < MAX_RECORD_PROBLEMS:
            problems.append(message)
        else:
            hidden += 1

    with tempfile.TemporaryDirectory(prefix="corpus-verify-") as scratch:
        ids = _IdBuckets(Path(scratch))
        for split, shards in release_shards(path, "jsonl").items():
            lines = 0
            for shard in shards:
                lines += _check_shard(path, shard, split, splits, check, report, ids)
            if split in card_counts and card_counts[split] != lines:
                report(f"README.md: dataset_info says split {split} has {card_counts[split]} examples, jsonl/ has {lines}")
        for rid, first, again in ids.duplicates():
            report(f"{again}: duplicate id {rid} (first at {first})")
    if hidden:
        problems.append(f"... and {hidden} more record problems")
    return problems


_END = object()


class _IdBuckets:
    """Ids with where they occur, partitioned on disk, to find duplicates in bounded memory."""

    def __init__(self, folder: Path):
        self.paths = [folder / f"{i:02x}" for i in range(DIFF_BUCKETS)]
        self.files = [open(p, "w", encoding="utf-8") for p in self.paths]

    def add(self, rid: str, where: str) -> None:
        self.files[zlib.crc32(rid.encode("utf-8")) % DIFF_BUCKETS].write(f"{rid}\t{where}\n")

    def duplicates(self) -> Iterator[tuple[str, str, str]]:
        for fh in self.files:
            fh.close()
        for path in self.paths:
            seen: dict[str, str] = {}
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    rid, where = line.rstrip("\n").split("\t")
                    if rid in seen:
                        yield rid, seen[rid], where
                    else:
                        seen[rid] = where


def _check_shard(path: Path, shard: Path, split: str, splits: tuple, check, report, ids: _IdBuckets) -> int:
    """Check one JSONL shard record by record against its Parquet twin; returns its line count."""
    rel = f"jsonl/{shard.name}"
    parquet_path = path / "data" / shard.name.replace(".jsonl.gz", ".parquet")
    twin = f"data/{parquet_path.name}"
    rows = _parquet_rows(parquet_path) if parquet_path.is_file() else None
    lines = 0
    try:
        for number, line in iter_jsonl(shard):
            lines = number
            row = next(rows, _END) if rows is not None else None
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                report(f"{rel}:{number}: not JSON: {exc}")
                continue
            rid = record.get("id") if isinstance(record, dict) else None
            for issue in check(record):
                report(f"{rel}:{number}: record {rid}: {issue}")
            if isinstance(rid, str):
                ids.add(rid, f"{rel}:{number}")
            if isinstance(rid, str) and assign_split(rid, splits) != split:
                report(f"{rel}:{number}: record {rid} belongs to split {assign_split(rid, splits)}, not {split}")
            if row is _END:
                report(f"{twin}: has fewer rows than {rel} (no row for line {number})")
                rows = None
            elif row is not None and row != record and isinstance(record, dict):
                differing = sorted(k for k in row.keys() | record.keys() if row.get(k) != record.get(k))
                report(f"{twin} row {number - 1}: differs from {rel}:{number} in {differing}")
    except (OSError, EOFError, zlib.error) as exc:
        report(f"{rel}: cannot be read: {exc}")
    if rows is not None and next(rows, _END) is not _END:
        report(f"{twin}: has more rows than {rel} ({lines} lines)")
    return lines


def _parquet_rows(path: Path) -> Iterator[dict]:
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1000):
            yield from batch.to_pylist()
    except (OSError, pa.ArrowException):  # reported by the card check; here it only ends the rows
        return


def _check_citation(path: Path, stats: dict) -> list[str]:
    try:
        cff = yaml.safe_load((path / "CITATION.cff").read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return [f"CITATION.cff: not YAML: {exc}"]
    problems = []
    for key, expected in (("version", stats["version"]), ("date-released", stats["date_released"])):
        if cff.get(key) != expected:
            problems.append(f"CITATION.cff: {key} is {cff.get(key)!r}, the release says {expected!r}")
    return problems


# --- push -----------------------------------------------------------------------------------

def push_release(path: Path, repo_id: str, *, api=None, dry_run: bool = False, token: str | None = None) -> list[str]:
    """Upload a verified release to a Hub dataset repo and tag the commit v<version>.

    The repo's files become exactly the release's (remote files not in it are deleted), so
    `load_dataset(repo_id, revision="v<version>")` gives this version. Refuses an existing tag.
    """
    path = Path(path)
    problems = verify_release(path)
    if problems:
        raise ReleaseVerificationError(path, problems)
    version = read_json(path / "stats.json")["version"]
    tag = f"v{version}"
    files = sum(1 for p in path.rglob("*") if p.is_file())
    plan = [f"create_repo {repo_id} (dataset, exist_ok)",
            f"check that {repo_id} has no tag {tag}",
            f"upload_folder {path.name}/ -> {repo_id} ({files} files; delete remote files not in the release)",
            f"create_tag {tag} on the uploaded commit"]
    if dry_run:
        return plan
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    done = []
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True, token=token)
    done.append(plan[0])
    refs = api.list_repo_refs(repo_id, repo_type="dataset", token=token)
    if any(t.name == tag for t in refs.tags):
        raise ReleaseExistsError(f"{repo_id}: tag {tag} already exists; a published version is never replaced")
    done.append(plan[1])
    commit = api.upload_folder(repo_id=repo_id, folder_path=str(path), repo_type="dataset", token=token,
                               commit_message=f"Release {tag}", delete_patterns=["*"])
    revision = getattr(commit, "oid", None)
    done.append(plan[2] + (f": commit {revision}" if revision else ""))
    api.create_tag(repo_id, tag=tag, revision=revision, repo_type="dataset", token=token,
                   tag_message=f"{read_json(path / 'stats.json')['name']} {version}")
    done.append(f"create_tag {tag} on {revision or 'the uploaded commit'}")
    return done
