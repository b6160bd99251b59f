"""Run the stages end to end: ingest -> normalise -> validate -> (dedup) -> write.

``Pipeline.run`` streams: one article in memory at a time (the dedup index and the set of
seen ids are the only state that grows). Counting of outcomes happens here, in one place,
the way a datatrove step counts kept and dropped documents and each drop reason.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from . import BUILDER_NAME, SCHEMA_VERSION, __version__
from .ingest import RawArticle, Reject, read_inputs
from .normalise import DEFAULT_CHAIN, Doc, normalise

_TRACKING = re.compile(r"^(?:utm_\w+|fbclid|gclid|zarsrc|gidzl|ref|cmpid|_ga)$", re.I)


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no fragment, no tracking parameters, no trailing slash."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)))
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https" if parts.scheme in ("http", "https") else parts.scheme, host, path, query, ""))


def _id_key_text(s: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", s or "").casefold().split())


def article_id(url: str | None, title: str | None, raw_text: str) -> str:
    """Stable id: from the canonical URL when there is one, else from the normalised title
    and the raw input text (not the cleaned text, so a better cleaner never changes ids)."""
    if url:
        key = "url:" + canonical_url(url)
    else:
        key = "text:" + _id_key_text(title) + "\n" + _id_key_text(raw_text)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


@dataclass
class Outcome:
    """What became of one input: a record with its audit trail, or a reject."""

    record: dict | None = None
    audit: dict | None = None
    reject: Reject | None = None


@dataclass
class BuildStats:
    inputs: int = 0
    records: int = 0
    rejects: Counter = field(default_factory=Counter)
    duplicates: Counter = field(default_factory=Counter)
    removals_by_rule: Counter = field(default_factory=Counter)
    removals_by_kind: Counter = field(default_factory=Counter)
    removals_by_publisher: Counter = field(default_factory=Counter)
    fixes: Counter = field(default_factory=Counter)
    quality_flags: Counter = field(default_factory=Counter)
    warnings: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "inputs": self.inputs,
            "records": self.records,
            "rejects": dict(sorted(self.rejects.items())),
            "duplicates": dict(sorted(self.duplicates.items())),
            "removals_by_rule": dict(sorted(self.removals_by_rule.items())),
            "removals_by_kind": dict(sorted(self.removals_by_kind.items())),
            "removals_by_publisher": dict(sorted(self.removals_by_publisher.items())),
            "fixes": dict(sorted(self.fixes.items())),
            "quality_flags": dict(sorted(self.quality_flags.items())),
            "warnings": self.warnings[:1000],
        }


def chain_with_profiles(profile_dirs=(), chain: tuple = DEFAULT_CHAIN) -> tuple:
    """The normaliser chain with the user's profile folders added to its noise step, so a
    new site's rules are a TOML file, not code. Profiles are checked here, so a bad one
    fails before any input is read."""
    from dataclasses import replace as _replace

    from . import noise
    from .normalise import StripNoise

    dirs = tuple(Path(d) for d in profile_dirs)
    if not dirs:
        return chain
    for d in dirs:
        if not d.is_dir():
            raise noise.ProfileError(f"{d}: profile folder not found")
    noise.load_profiles(dirs)
    return tuple(_replace(step, profile_dirs=dirs) if isinstance(step, StripNoise) else step for step in chain)


@dataclass
class Pipeline:
    lang: str = "vi"
    chain: tuple = DEFAULT_CHAIN
    dedup: bool = False
    near_duplicate_threshold: float = 0.8
    max_quality_flags: int | None = None
    encoding: str | None = None
    stats: BuildStats = field(default_factory=BuildStats)

    def __post_init__(self):
        from .validate import load_validator

        self._validator = load_validator()
        self._seen_ids: set[str] = set()
        self._dedup = None
        if self.dedup:
            from .dedup import Deduplicator

            self._dedup = Deduplicator(near_threshold=self.near_duplicate_threshold)

    def run(self, paths, root: Path | None = None) -> Iterator[Outcome]:
        for item in read_inputs(paths, root, encoding=self.encoding):
            self.stats.inputs += 1
            outcome = self.reject(item) if isinstance(item, Reject) else self.process(item)
            if outcome.record is not None:
                self.stats.records += 1
            yield outcome

    def reject(self, rej: Reject) -> Outcome:
        self.stats.rejects[rej.code] += 1
        return Outcome(reject=rej)

    def process(self, raw: RawArticle) -> Outcome:
        self.stats.warnings.extend(raw.warnings)
        doc = normalise(
            Doc(text=raw.text, title=raw.title, title_in_text=raw.title_in_text,
                publisher=raw.publisher, url=raw.url, published=raw.published,
                fixes=raw.decode_fixes),
            self.chain,
        )
        if not doc.text.strip():
            return self.reject(Reject(raw.source, f"{raw.source}: field 'text': nothing left after cleaning "
                                      f"({len(doc.removals)} removals)", "empty-after-cleaning", "text", raw.text[:300]))
        record = {
            "id": article_id(raw.url, raw.title, raw.text),
            "schema_version": SCHEMA_VERSION,
            "title": doc.title or None,
            "text": doc.text,
            "lang": raw.lang or self.lang,
            "url": raw.url,
            "publisher": raw.publisher or doc.dateline,
            "published": raw.published or doc.published,
            "dateline": doc.dateline,
            "attribution": doc.attribution,
            "quality_flags": list(doc.quality_flags),
            "provenance": {
                "input": raw.source,
                "input_id": raw.input_id,
                "input_sha256": raw.sha256,
                "builder": {"name": BUILDER_NAME, "version": __version__},
            },
        }
        issues = self._validator.issues(record)
        if issues:
            detail = "; ".join(str(i) for i in issues[:5])
            return self.reject(Reject(raw.source, f"{raw.source}: schema: {detail}", "schema", issues[0].pointer, raw.text[:300]))
        if self.max_quality_flags is not None and len(doc.quality_flags) > self.max_quality_flags:
            return self.reject(Reject(raw.source, f"{raw.source}: field 'text': quality flags {list(doc.quality_flags)} "
                                      f"exceed the limit of {self.max_quality_flags}", "quality", "text"))
        if record["id"] in self._seen_ids:
            self.stats.duplicates["same-id"] += 1
            return self.reject(Reject(raw.source, f"{raw.source}: duplicate: same id {record['id']} as an earlier record", "duplicate", "id"))
        if self._dedup is not None:
            dup = self._dedup.check(record["id"], doc.text)
            if dup is not None:
                self.stats.duplicates[dup.kind] += 1
                return self.reject(Reject(raw.source, f"{raw.source}: {dup.kind} duplicate of {dup.of} "
                                          f"(similarity {dup.similarity:.2f})", "duplicate", "text"))
        self._seen_ids.add(record["id"])
        publisher = record["publisher"] or "unknown"
        for r in doc.removals:
            self.stats.removals_by_rule[r.rule] += 1
            self.stats.removals_by_kind[r.kind] += 1
            self.stats.removals_by_publisher[publisher] += 1
        for step, _ in doc.fixes:
            self.stats.fixes[step] += 1
        for flag in doc.quality_flags:
            self.stats.quality_flags[flag] += 1
        audit = {"id": record["id"], "input": raw.source, "noise_input": doc.noise_input,
                 "removals": [r.as_dict() for r in doc.removals],
                 "fixes": [{"step": s, "detail": d} for s, d in doc.fixes]}
        return Outcome(record=record, audit=audit)


def dumps(obj) -> bytes:
    return orjson.dumps(obj) + b"\n"


@contextmanager
def atomic_output(path: Path, *, force: bool = False):
    """Write to a temporary file beside ``path``; rename into place only on success."""
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path}: already exists (use --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_outcomes(outcomes, out, rejects=None, audit=None) -> None:
    """Stream outcomes into open binary files (records, rejects, audit)."""
    for o in outcomes:
        if o.record is not None:
            out.write(dumps(o.record))
            if audit is not None:
                audit.write(dumps(o.audit))
        elif rejects is not None:
            rejects.write(dumps(o.reject.as_dict()))


def build_release(settings_path=None, dist_root: Path = Path("dist"), *, progress=None,
                  rejects_dir: Path = Path("build")) -> tuple[Path, BuildStats, Path]:
    """Build the corpus described by a settings file into ``dist_root/<name>/<version>/``.

    Returns (release path, statistics, rejects file). Refuses before doing any work if the
    version already exists."""
    from .publish import ReleaseWriter
    from .settings import load_settings

    settings = load_settings(settings_path)
    pipeline = Pipeline(lang=settings.language, dedup=settings.dedup,
                        chain=chain_with_profiles(settings.profile_dirs),
                        near_duplicate_threshold=settings.near_duplicate_threshold,
                        max_quality_flags=settings.max_quality_flags)
    rejects_path = Path(rejects_dir) / f"{settings.name}-{settings.version}.rejects.jsonl"
    with ReleaseWriter(settings, Path(dist_root)) as writer:
        with atomic_output(rejects_path, force=True) as rejects:
            outcomes = pipeline.run(settings.inputs, settings.input_root)
            if progress is not None:
                outcomes = progress(outcomes)
            for o in outcomes:
                if o.record is not None:
                    writer.add(o.record, o.audit["removals"])
                else:
                    rejects.write(dumps(o.reject.as_dict()))
        if pipeline.stats.records == 0:
            raise EmptyCorpusError(f"no article survived: {pipeline.stats.inputs} inputs, rejects {dict(pipeline.stats.rejects)} (see {rejects_path})")
        release = writer.close(pipeline.stats.as_dict())
    return release, pipeline.stats, rejects_path


class EmptyCorpusError(ValueError):
    pass
