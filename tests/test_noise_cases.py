"""Noise rules against the cases in tests/cases/noise_cases.json (ftfy-style test data:
each case says whether it is expected to pass, and known failures are kept as data)."""
import json
from pathlib import Path

import pytest

from conftest import norm
from corpus.normalise import clean_text

CASES = json.loads((Path(__file__).parent / "cases" / "noise_cases.json").read_text(encoding="utf-8"))


def check(case) -> list[str]:
    doc = clean_text(case["text"], title=case.get("title"), title_in_text=case.get("title_in_text", False),
                     publisher=case.get("publisher"))
    body = norm(doc.text)
    problems = [f"lost {k!r}" for k in case["keep"] if norm(k) not in body]
    problems += [f"kept noise {d!r}" for d in case["drop"] if norm(d) in body]
    for key, want in case.get("fields", {}).items():
        if getattr(doc, key) != want:
            problems.append(f"{key} = {getattr(doc, key)!r}, expected {want!r}")
    for quote, most in case.get("max_count", {}).items():
        if body.count(norm(quote)) > most:
            problems.append(f"{quote!r} occurs {body.count(norm(quote))} times, at most {most} expected")
    return problems


@pytest.mark.parametrize("case", CASES, ids=[c["label"] for c in CASES])
def test_noise_case(case):
    problems = check(case)
    if case["expect"] == "pass":
        assert not problems, problems
    else:
        assert problems, "a known failure now passes: mark it expect=pass"
