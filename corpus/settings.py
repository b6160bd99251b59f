"""Corpus settings: one immutable object read from a TOML file."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .resources import sample_dir


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Author:
    family_names: str
    given_names: str = ""
    orcid: str | None = None
    affiliation: str | None = None


@dataclass(frozen=True)
class CorpusSettings:
    name: str
    version: str
    license: str
    description: str
    authors: tuple[Author, ...]
    inputs: tuple[Path, ...]
    input_root: Path
    pretty_name: str = ""
    language: str = "vi"
    repository_url: str | None = None
    doi: str | None = None
    date_released: str | None = None
    splits: tuple[tuple[str, float], ...] = (("train", 0.8), ("validation", 0.1), ("test", 0.1))
    dedup: bool = True
    near_duplicate_threshold: float = 0.8
    max_quality_flags: int | None = None
    shard_bytes: int = 256 * 1024 * 1024
    profile_dirs: tuple[Path, ...] = ()  # folders of the user's own noise profiles (*.toml)
    extra: dict = field(default_factory=dict)


def default_settings_path() -> Path:
    return sample_dir() / "corpus.toml"


def _profile_dirs(path: Path, base: Path, entries) -> tuple[Path, ...]:
    if isinstance(entries, str):
        entries = [entries]
    dirs = tuple(base / p for p in entries)
    for d in dirs:
        if not d.is_dir():
            raise SettingsError(f"{path}: [corpus] profiles: {d} is not a folder")
    return dirs


def load_settings(path: str | Path | None = None) -> CorpusSettings:
    """Read corpus settings; input paths are relative to the TOML file's folder."""
    path = Path(path) if path else default_settings_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: settings file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    corpus = raw.get("corpus", raw)
    base = path.resolve().parent

    def need(key: str):
        if key not in corpus or corpus[key] in ("", None):
            raise SettingsError(f"{path}: [corpus] needs '{key}'")
        return corpus[key]

    inputs = corpus.get("inputs") or []
    if not inputs:
        raise SettingsError(f"{path}: [corpus] needs 'inputs' (a list of files or folders)")
    authors = tuple(
        Author(
            family_names=a.get("family-names") or a.get("family_names") or a.get("name", ""),
            given_names=a.get("given-names") or a.get("given_names", ""),
            orcid=a.get("orcid"),
            affiliation=a.get("affiliation"),
        )
        for a in corpus.get("authors", [])
    )
    if not authors:
        raise SettingsError(f"{path}: [corpus] needs at least one entry in 'authors'")
    splits = corpus.get("splits") or {"train": 0.8, "validation": 0.1, "test": 0.1}
    if abs(sum(splits.values()) - 1.0) > 1e-9:
        raise SettingsError(f"{path}: split fractions must add up to 1, got {splits}")
    return CorpusSettings(
        name=need("name"),
        version=str(need("version")),
        license=need("license"),
        description=need("description"),
        authors=authors,
        inputs=tuple((base / p) for p in inputs),
        input_root=(base / corpus.get("input_root", ".")).resolve(),
        pretty_name=corpus.get("pretty_name", corpus["name"]),
        language=corpus.get("language", "vi"),
        repository_url=corpus.get("repository_url"),
        doi=corpus.get("doi"),
        date_released=corpus.get("date_released"),
        splits=tuple(splits.items()),
        dedup=corpus.get("dedup", True),
        near_duplicate_threshold=float(corpus.get("near_duplicate_threshold", 0.8)),
        max_quality_flags=corpus.get("max_quality_flags"),
        shard_bytes=int(corpus.get("shard_bytes", 256 * 1024 * 1024)),
        profile_dirs=_profile_dirs(path, base, corpus.get("profiles", [])),
        extra={k: v for k, v in raw.items() if k != "corpus"},
    )
