"""Dataset card, parent card, CITATION.cff and plots of a release, all generated.

The Arrow schema of the Parquet files and the card's ``dataset_info.features`` are both
derived here from the record JSON Schema, so the two cannot drift apart.
"""
from __future__ import annotations

import io
import json
from itertools import pairwise
from pathlib import Path

import orjson
import pyarrow as pa
import yaml

from .settings import CorpusSettings

VERSION_POLICY = (
    "Versions are [semantic](https://semver.org): **major** for a schema change (or a change of the "
    "split fractions, which moves records between splits), **minor** when records are added or "
    "removed, **patch** for fixes to existing records. A published version folder is never "
    "modified; a record keeps its id, and its split, in every version."
)
JSONL_TRAP = (
    "Read `jsonl/` with `gzip` and a JSON parser, not with `load_dataset(\"json\")`: `datasets` "
    "rewrites date-like strings there (e.g. `2024-04-05T14:15:00+07:00` becomes "
    "`2024-04-05 07:15:00`). The card's configs point at the Parquet files, which are exact."
)
SIZE_CATEGORIES = [
    (1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
]
# Hub card ids (lower case) to SPDX ids for CITATION.cff
SPDX = {
    "cc-by-4.0": "CC-BY-4.0", "cc-by-sa-4.0": "CC-BY-SA-4.0", "cc-by-nc-4.0": "CC-BY-NC-4.0",
    "cc-by-nc-sa-4.0": "CC-BY-NC-SA-4.0", "cc-by-nd-4.0": "CC-BY-ND-4.0", "cc-by-nc-nd-4.0": "CC-BY-NC-ND-4.0",
    "cc0-1.0": "CC0-1.0", "apache-2.0": "Apache-2.0", "mit": "MIT", "odc-by": "ODC-By-1.0",
    "odbl": "ODbL-1.0", "pddl": "PDDL-1.0", "cdla-permissive-2.0": "CDLA-Permissive-2.0",
}
HUB_LICENSE = {"odc-by-1.0": "odc-by", "odbl-1.0": "odbl", "pddl-1.0": "pddl"}
TOP_PUBLISHERS = 30


# --- JSON Schema -> Arrow schema and card features --------------------------------------

def json_types(prop: dict) -> list[str]:
    if "const" in prop:
        return ["null" if prop["const"] is None else _PY_TO_JSON[type(prop["const"])]]
    types = prop.get("type", [])
    return [types] if isinstance(types, str) else list(types)


_PY_TO_JSON = {str: "string", int: "integer", float: "number", bool: "boolean"}
_SCALARS = {"string": (pa.string(), "string"), "integer": (pa.int64(), "int64"),
            "number": (pa.float64(), "float64"), "boolean": (pa.bool_(), "bool")}


def _kind(prop: dict) -> str:
    kinds = [t for t in json_types(prop) if t != "null"]
    if len(kinds) != 1:
        raise ValueError(f"cannot map JSON Schema types {json_types(prop)} to one column type")
    return kinds[0]


def arrow_type(prop: dict) -> pa.DataType:
    kind = _kind(prop)
    if kind == "array":
        return pa.list_(arrow_type(prop["items"]))
    if kind == "object":
        return pa.struct([pa.field(n, arrow_type(p)) for n, p in prop["properties"].items()])
    return _SCALARS[kind][0]


def arrow_schema(schema: dict) -> pa.Schema:
    """Every column nullable, as `datasets` expects; fixed even when a split's column is all null."""
    return pa.schema([pa.field(name, arrow_type(prop)) for name, prop in schema["properties"].items()])


def _feature_type(prop: dict):
    kind = _kind(prop)
    if kind == "array":
        return "list", _feature_type(prop["items"])[1]
    if kind == "object":
        return "struct", card_features(prop)
    return "dtype", _SCALARS[kind][1]


def card_features(schema: dict) -> list[dict]:
    """`dataset_info.features` in the card's YAML form (name + dtype / list / struct)."""
    out = []
    for name, prop in schema["properties"].items():
        key, value = _feature_type(prop)
        out.append({"name": name, key: value})
    return out


def arrow_shape(arrow_type: pa.DataType):
    """A comparable shape of an Arrow type that ignores list item names (`item` vs `element`)."""
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return ("list", arrow_shape(arrow_type.value_type))
    if pa.types.is_struct(arrow_type):
        return ("struct", tuple((f.name, arrow_shape(f.type)) for f in arrow_type))
    return str(arrow_type)


def _type_label(prop: dict) -> str:
    kind = _kind(prop)
    if kind == "array":
        return f"list of {_type_label(prop['items'])}"
    return "struct" if kind == "object" else kind


def field_rows(schema: dict, prefix: str = "") -> list[tuple[str, str, bool, str]]:
    """(dotted name, type, nullable, description) for the fields table, nested fields included."""
    rows = []
    for name, prop in schema["properties"].items():
        desc = prop.get("description", "")
        items = prop.get("items", {})
        if "enum" in items:
            desc += " Values: " + ", ".join(f"`{v}`" for v in items["enum"]) + "."
        if "const" in prop:
            desc += f" Always `{prop['const']}`."
        rows.append((prefix + name, _type_label(prop), "null" in json_types(prop), desc))
        if _kind(prop) == "object":
            rows.extend(field_rows(prop, prefix + name + "."))
    return rows


# --- small helpers ------------------------------------------------------------------------

def size_category(n: int) -> str:
    for upper, label in SIZE_CATEGORIES:
        if n < upper:
            return label
    return "n>1B"


def hub_license(license_id: str) -> str:
    lower = license_id.lower()
    return HUB_LICENSE.get(lower, lower)


def languages(settings: CorpusSettings, per_lang: dict) -> list[str]:
    """Settings' language(s) first, then every other language seen in the records."""
    declared = settings.language if isinstance(settings.language, (list, tuple)) else [settings.language]
    seen = sorted(lang for lang in per_lang if not lang.startswith("("))
    return list(dict.fromkeys([*declared, *seen]))


def hub_repo_id(settings: CorpusSettings) -> str:
    return (settings.extra.get("hub") or {}).get("repo_id") or f"<org>/{settings.name}"


def front_matter(data: dict) -> str:
    return "---\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000) + "---\n"


def read_front_matter(card_path: Path) -> dict:
    text = card_path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ValueError(f"{card_path.name}: no YAML front matter")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ValueError(f"{card_path.name}: YAML front matter is not closed")
    return yaml.safe_load(text[4:end]) or {}


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _counts(counter: dict, *, top: int | None = None, by_key: bool = False) -> list[tuple]:
    total = sum(counter.values()) or 1
    items = sorted(counter.items()) if by_key else sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [(k, v, f"{100 * v / total:.1f}%") for k, v in items[:top]]
    rest = items[top:] if top else []
    if rest:
        n = sum(v for _, v in rest)
        rows.append((f"other ({len(rest)})", n, f"{100 * n / total:.1f}%"))
    return rows


# --- plots --------------------------------------------------------------------------------

def write_plots(release_stats: dict, images_dir: Path) -> list[tuple[str, str]]:
    """PNG plots for the card, byte-reproducible (no Software/date metadata); (alt text, path)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images_dir.mkdir(parents=True, exist_ok=True)
    out = []
    lengths = release_stats["text_length"]
    width, hist = lengths["bin_width"], lengths["histogram"]
    last = max((i for i, n in enumerate(hist) if n), default=0)
    fig, ax = plt.subplots(figsize=(8, 3.5), dpi=100)
    ax.bar([i * width / 1000 for i in range(last + 1)], hist[: last + 1], width=width / 1000, align="edge")
    overflow = f" ({width * (len(hist) - 1):,}+ counted in the last bar)" if hist[-1] else ""
    ax.set_xlabel(f"text length, thousand characters{overflow}")
    ax.set_ylabel("articles")
    ax.set_title("Text length")
    fig.tight_layout()
    out.append(("Histogram of text length", _save(fig, plt, images_dir / "text_length.png")))

    months = sorted(m for m in release_stats["per_month"] if not m.startswith("("))
    fig, ax = plt.subplots(figsize=(8, 3.5), dpi=100)
    ax.bar(range(len(months)), [release_stats["per_month"][m] for m in months])
    step = max(1, len(months) // 12)
    ax.set_xticks(range(0, len(months), step), months[::step], rotation=45, ha="right")
    ax.set_ylabel("articles")
    ax.set_title("Articles per month (dated articles only)")
    fig.tight_layout()
    out.append(("Articles per month", _save(fig, plt, images_dir / "articles_per_month.png")))
    return out


def _save(fig, plt, path: Path) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    path.write_bytes(buffer.getvalue())
    return f"{path.parent.name}/{path.name}"


# --- the release card -----------------------------------------------------------------

def card_metadata(settings: CorpusSettings, schema: dict, stats: dict, data_files: dict[str, list[str]],
                  download_size: int) -> dict:
    release = stats["release"]
    license_id = hub_license(settings.license)
    meta = {"license": license_id if license_id in SPDX or license_id in HUB_LICENSE.values() else "other"}
    if meta["license"] == "other":
        meta["license_name"] = settings.license
    meta.update({
        "language": languages(settings, release["per_lang"]),
        "pretty_name": settings.pretty_name or settings.name,
        "task_categories": list((settings.extra.get("card") or {}).get("task_categories", ["text-generation"])),
        "size_categories": [size_category(release["records"])],
        # empty splits are left out: `datasets` cannot load a split with no rows
        "configs": [{"config_name": "default", "data_files": [
            {"split": split, "path": list(paths)} for split, paths in data_files.items()]}],
        "dataset_info": {
            "config_name": "default",
            "features": card_features(schema),
            "splits": [{"name": split, "num_examples": release["per_split"][split]} for split in data_files],
            "download_size": download_size,
        },
    })
    return meta


def render_card(settings: CorpusSettings, date: str, schema: dict, stats: dict,
                data_files: dict[str, list[str]], images: list[tuple[str, str]], diff: dict | None,
                root: Path) -> str:
    """The card of the release being written in ``root`` (data_files are relative to it)."""
    sizes = {split: sum((root / p).stat().st_size for p in paths) for split, paths in data_files.items()}
    meta = card_metadata(settings, schema, stats, data_files, sum(sizes.values()))
    release = stats["release"]
    parts = [front_matter(meta),
             f"# {settings.pretty_name or settings.name} (version {settings.version})\n",
             f"{settings.description.strip()}\n",
             f"Released {date} under `{settings.license}`. {release['records']:,} articles.\n",
             FILES_SECTION,
             "## Fields\n",
             _table(["field", "type", "nullable", "description"],
                    [(f"`{n}`", t, "yes" if nullable else "no", d) for n, t, nullable, d in field_rows(schema)]),
             _splits_section(stats, data_files, sizes),
             _statistics(release, stats.get("build") or {}, images),
             _loading_section(settings),
             "## Versions\n", f"{VERSION_POLICY}\n",
             _changes(diff),
             "## Citation\n",
             "Cite the version you used; `CITATION.cff` has the full metadata.\n",
             "```bibtex\n" + render_bibtex(settings, date) + "```\n"]
    return "\n".join(parts)


FILES_SECTION = """## Files

- `data/<split>-NNNNN-of-NNNNN.parquet`: the dataset as `datasets` loads it.
- `jsonl/<split>-NNNNN-of-NNNNN.jsonl.gz`: the same records as JSON lines, shard for shard.
- `audit/<split>-NNNNN-of-NNNNN.jsonl.gz`: for each record the cleaner changed, its id and the text it \
removed (`start`, `end`, `rule`, `kind`, `text`).
- `stats.json`, `schema.json` (the record JSON Schema), `CHANGELOG.md`, `CITATION.cff`, `SHA256SUMS` \
(check with `sha256sum -c SHA256SUMS` or `corpus verify`).
"""


def _splits_section(stats: dict, data_files: dict[str, list[str]], sizes: dict[str, int]) -> str:
    fractions = ", ".join(f"{s} {f:g}" for s, f in stats["splits"])
    rows = [(s, stats["release"]["per_split"].get(s, 0), len(p), sizes[s]) for s, p in data_files.items()]
    return (f"## Splits\n\nA record's split is fixed by a hash of its id (SHA-256, fractions {fractions}), "
            "so it never moves between versions. Empty splits are not listed.\n\n"
            + _table(["split", "articles", "shards", "Parquet bytes"], rows))


def _loading_section(settings: CorpusSettings) -> str:
    name, version = settings.name, settings.version
    return (f"## Loading\n\n```python\nfrom datasets import load_dataset\n\n"
            f'ds = load_dataset("path/to/{name}/{version}")  # this folder\n'
            f'ds = load_dataset("path/to/{name}", "v{version}")  # this version from the parent folder\n'
            f'ds = load_dataset("{hub_repo_id(settings)}", revision="v{version}")  # from the Hub, pinned\n```\n\n'
            f"{JSONL_TRAP}\n")


def _statistics(release: dict, build: dict, images: list[tuple[str, str]]) -> str:
    lengths = release["text_length"]
    parts = ["## Statistics\n", "### Articles per publisher\n",
             _table(["publisher", "articles", "share"], _counts(release["per_publisher"], top=TOP_PUBLISHERS)),
             "### Articles per month\n", "Month of `published` as written (local time of the outlet).\n",
             _table(["month", "articles", "share"], _counts(release["per_month"], by_key=True)),
             "### Text length\n",
             f"Characters per article: min {lengths['min']:,}, mean {lengths['mean']:,}, max {lengths['max']:,}.\n",
             _table(["characters", "articles"], _length_bands(lengths))]
    parts += [f"![{alt}]({path})\n" for alt, path in images]
    removals = release["removals"]
    parts += ["### Removals per noise kind\n",
              (f"{removals['records_with_removals']:,} articles had noise removed "
               f"({removals['removed_chars']:,} characters). The removed text is in `audit/`.\n"),
              _table(["kind", "removals", "share"], _counts(removals["per_kind"]))]
    if release["quality_flags"]:
        parts += ["### Quality flags\n", _table(["flag", "articles", "share"], _counts(release["quality_flags"]))]
    parts += ["### Missing values\n", _table(["field", "null in articles"], sorted(release["null_fields"].items())),
              "### Languages\n", _table(["lang", "articles", "share"], _counts(release["per_lang"]))]
    if build:
        parts += ["### Build\n", _build_summary(build)]
    return "\n".join(parts)


def _length_bands(lengths: dict) -> list[tuple[str, int]]:
    width, hist = lengths["bin_width"], lengths["histogram"]
    edges = [0, 500, 1000, 2000, 5000, 10000, 20000]
    rows = []
    for low, high in pairwise(edges):
        rows.append((f"{low:,}–{high - 1:,}", sum(hist[low // width: high // width])))
    rows.append((f"≥ {edges[-1]:,}", sum(hist[edges[-1] // width:])))
    return rows


def _build_summary(build: dict) -> str:
    scalars = [(k, v) for k, v in sorted(build.items()) if not isinstance(v, dict)]
    out = _table(["count", "value"], scalars) if scalars else ""
    for key, value in sorted(build.items()):
        if isinstance(value, dict):
            flat = {k: v for k, v in value.items() if isinstance(v, (int, float))}
            if flat:
                out += f"\n`{key}`:\n\n" + _table(["", "count", "share"], _counts(flat, top=TOP_PUBLISHERS))
    return out


def _changes(diff: dict | None) -> str:
    if diff is None:
        return "## Changes\n\nFirst release. See `CHANGELOG.md`.\n"
    c = diff["counts"]
    text = (f"## Changes\n\nSince {diff['old']['version']}: {c['added']:,} added, {c['removed']:,} removed, "
            f"{c['changed']:,} changed, {c['unchanged']:,} unchanged; schema changes: "
            f"{len(diff['schema_changes'])}. The ids are listed in `CHANGELOG.md`.\n")
    for warning in diff["policy_warnings"]:
        text += f"\n> Warning: {warning}\n"
    return text


# --- citation -------------------------------------------------------------------------------

def _q(value) -> str:
    # JSON strings are YAML double-quoted scalars: "1.10" stays a string, never the number 1.1
    return json.dumps(str(value), ensure_ascii=False)


def render_citation(settings: CorpusSettings, date: str) -> str:
    lines = ["cff-version: 1.2.0", f"message: {_q('If you use this dataset, please cite this version of it as below.')}",
             "type: dataset", f"title: {_q(settings.pretty_name or settings.name)}",
             f"version: {_q(settings.version)}", f"date-released: {_q(date)}",
             f"abstract: {_q(settings.description.strip())}", "authors:"]
    for author in settings.authors:
        lines.append(f"  - family-names: {_q(author.family_names)}")
        if author.given_names:
            lines.append(f"    given-names: {_q(author.given_names)}")
        if author.orcid:
            orcid = author.orcid if author.orcid.startswith("http") else f"https://orcid.org/{author.orcid}"
            lines.append(f"    orcid: {_q(orcid)}")
        if author.affiliation:
            lines.append(f"    affiliation: {_q(author.affiliation)}")
    spdx = SPDX.get(settings.license.lower()) or next(
        (v for v in SPDX.values() if v.lower() == settings.license.lower()), None)
    if spdx:
        lines.append(f"license: {_q(spdx)}")
    if settings.doi:
        lines.append(f"doi: {_q(settings.doi)}")
    if settings.repository_url:
        lines.append(f"repository: {_q(settings.repository_url)}")
    identifiers = [("doi", settings.doi, "The DOI of this dataset."),
                   ("url", settings.repository_url, "The repository of this dataset.")]
    if any(value for _, value, _ in identifiers):
        lines.append("identifiers:")
        for kind, value, description in identifiers:
            if value:
                lines += [f"  - type: {kind}", f"    value: {_q(value)}", f"    description: {_q(description)}"]
    return "\n".join(lines) + "\n"


def render_bibtex(settings: CorpusSettings, date: str) -> str:
    key = "".join(ch if ch.isalnum() else "_" for ch in f"{settings.name}_{settings.version}")
    authors = " and ".join(f"{a.family_names}, {a.given_names}".strip(", ") for a in settings.authors)
    fields = [("title", f"{{{settings.pretty_name or settings.name}}}"), ("author", authors),
              ("year", date[:4]), ("version", settings.version)]
    if settings.doi:
        fields.append(("doi", settings.doi))
    if settings.repository_url:
        fields.append(("url", settings.repository_url))
    return f"@misc{{{key},\n" + "".join(f"  {k} = {{{v}}},\n" for k, v in fields) + "}\n"


# --- the parent card: every version as its own config ---------------------------------------

def render_parent_card(name_dir: Path, settings: CorpusSettings) -> str:
    from .publish import list_versions  # publish imports this module

    versions = list_versions(name_dir)
    configs, infos, rows = [], [], []
    latest_meta: dict = {}
    for version in versions:
        meta = read_front_matter(name_dir / version / "README.md")
        stats = orjson.loads((name_dir / version / "stats.json").read_bytes())
        (config,) = [c for c in meta["configs"] if c["config_name"] == "default"]
        configs.append({"config_name": f"v{version}", "data_files": [
            {"split": f["split"], "path": [f"{version}/{p}" for p in f["path"]]} for f in config["data_files"]]})
        info = dict(meta["dataset_info"], config_name=f"v{version}")
        infos.append({"config_name": info.pop("config_name"), **info})
        rows.append((f"[{version}]({version}/README.md)", f"`v{version}`", stats["date_released"],
                     stats["release"]["records"],
                     ", ".join(f"{s} {n:,}" for s, n in stats["release"]["per_split"].items())))
        latest_meta = meta
    total = latest_meta.get("size_categories", [size_category(0)])
    meta = {k: latest_meta[k] for k in ("license", "license_name", "language", "pretty_name", "task_categories")
            if k in latest_meta}
    meta.update({"size_categories": total, "configs": configs, "dataset_info": infos})
    example = versions[-1] if versions else settings.version
    body = [front_matter(meta), f"# {settings.pretty_name or settings.name}: all versions\n",
            f"{settings.description.strip()}\n",
            ("Each version is its own config. No config is the default, so loading this folder never "
             "merges versions: name the one you want.\n"),
            _table(["version", "config", "released", "articles", "splits"], rows),
            ("```python\nfrom datasets import load_dataset\n\n"
             f'ds = load_dataset("path/to/{settings.name}", "v{example}")\n'
             f'ds = load_dataset("{hub_repo_id(settings)}", revision="v{example}")  # from the Hub\n```\n'),
            "## Versions\n", f"{VERSION_POLICY}\n"]
    return "\n".join(body)
