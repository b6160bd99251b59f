"""Validate records against the article JSON Schema.

Minimal foundation version; the CI-gate features (formats, exit codes, github output,
extra checks) build on ``RecordValidator`` and ``Issue``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from jsonschema import Draft202012Validator

from .resources import load_schema


@dataclass(frozen=True)
class Issue:
    """One problem with one record."""

    pointer: str  # JSON pointer of the field, "" for the record itself
    keyword: str  # schema keyword that failed (or a check name)
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message} [{self.keyword}]"


class RecordValidator:
    def __init__(self, schema: dict):
        Draft202012Validator.check_schema(schema)
        self._validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def issues(self, record: object) -> list[Issue]:
        out = []
        for err in sorted(self._validator.iter_errors(record), key=lambda e: list(e.absolute_path)):
            pointer = "".join(f"/{p}" for p in err.absolute_path)
            out.append(Issue(pointer, str(err.validator), err.message))
        return out


@lru_cache(maxsize=None)
def load_validator(name: str = "article") -> RecordValidator:
    return RecordValidator(load_schema(name))
