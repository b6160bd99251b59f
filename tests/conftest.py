import json
import os
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the same examples every time (a red CI must be reproducible); local runs explore.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def norm(s: str) -> str:
    """How gold quotes are compared: NFC, every whitespace run one space, ends stripped."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", s)).strip()


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent")
    return SHARED


# Gold scores computed by the tests, printed at the end of every run.
GOLD_SCORES: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter):
    if GOLD_SCORES:
        terminalreporter.section("gold scores")
        for name, line in sorted(GOLD_SCORES.items()):
            terminalreporter.write_line(f"{name}: {line}")


def score_gold(gold: list[dict], cleaned: dict[str, dict]) -> dict:
    """keep-recall and noise-removal the way ../shared/tools/score.py computes them."""
    from collections import Counter, defaultdict

    tot = Counter()
    kinds = defaultdict(lambda: [0, 0])
    misses = []
    for g in gold:
        rec = cleaned.get(g["id"])
        body = norm(rec["text"]) if rec else ""
        for k in g["keep"]:
            tot["keep"] += 1
            if norm(k) in body:
                tot["keep_ok"] += 1
            else:
                misses.append(("lost", g["id"], k))
        for d in g["drop"]:
            tot["drop"] += 1
            kinds[d["kind"]][1] += 1
            if norm(d["text"]) not in body:
                tot["drop_ok"] += 1
                kinds[d["kind"]][0] += 1
            else:
                misses.append(("kept " + d["kind"], g["id"], d["text"]))
    return {
        "keep_recall": tot["keep_ok"] / max(tot["keep"], 1),
        "noise_removal": tot["drop_ok"] / max(tot["drop"], 1),
        "counts": dict(tot),
        "kinds": {k: tuple(v) for k, v in kinds.items()},
        "misses": misses,
    }
