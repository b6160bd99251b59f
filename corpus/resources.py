"""Locate files shipped with the package (schemas, profiles, sample corpus).

In a wheel the schemas live in ``corpus/schema``; in a source checkout they live in the
top-level ``schema/`` folder. Both are tried so an editable install and a wheel behave alike.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def schema_dir() -> Path:
    for candidate in (PACKAGE_DIR / "schema", PACKAGE_DIR.parent / "schema"):
        if (candidate / "article.schema.json").is_file():
            return candidate
    raise FileNotFoundError("article.schema.json not found in corpus/schema or ./schema")


@lru_cache(maxsize=None)
def load_schema(name: str = "article") -> dict:
    """Load ``<name>.schema.json`` (e.g. ``article`` or ``article-1.0.0``)."""
    return json.loads((schema_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))


def sample_dir() -> Path:
    return PACKAGE_DIR / "sample"


def profiles_dir() -> Path:
    return PACKAGE_DIR / "profiles"


def data_dir() -> Path:
    return PACKAGE_DIR / "data"
