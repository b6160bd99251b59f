"""Which noise rules cost the most time, on ~4 KB synthetic pages (noisy and clean).

    python bench/bench_rules.py [N] [--top K]

A rule without a literal to look for is tried on every line (or searched over the whole
text): one such pattern can cost more than the rest of the rule set. Run this after adding
rules. It times the regex work the noise pass spends per rule (the pass's ``matches`` calls
and the whole-text searches of rules without literals); the stage totals give the rest.
Timings are of this machine and run only: compare rules with each other, not with a target.
"""
from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import corpus  # noqa: E402

import corpus.normalise as normalise_module  # noqa: E402
from corpus import noise  # noqa: E402
from corpus.normalise import Doc, StripNoise, normalise_layout  # noqa: E402

STAGES = ("whole_lines", "runs", "spans", "blocks", "tail_cuts", "lead", "tail", "repeats", "orphans")


def instrument(spent: collections.Counter) -> None:
    """Wrap the pass's stages and its per-rule regex calls with timers."""
    pass_class = normalise_module._Pass

    def timed_stage(name):
        original = getattr(pass_class, name)

        def stage(self, *args):
            t0 = time.perf_counter()
            try:
                return original(self, *args)
            finally:
                spent["stage " + name] += time.perf_counter() - t0
        return stage

    for name in STAGES:
        setattr(pass_class, name, timed_stage(name))

    original_matches = pass_class.matches

    def matches(self, entry, i, pos=0):
        t0 = time.perf_counter()
        found = list(original_matches(self, entry, i, pos))
        spent["rule " + entry[0].id] += time.perf_counter() - t0
        return iter(found)
    pass_class.matches = matches

    original_search = pass_class._search_text

    def search_text(self, k):
        t0 = time.perf_counter()
        try:
            return original_search(self, k)
        finally:
            spent["rule " + self.scanner.ruleset.rules[k].id + " (whole-text search)"] += time.perf_counter() - t0
    pass_class._search_text = search_text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=500)
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args()
    docs = [normalise_layout(t) for t in corpus(a.n)] + [normalise_layout(t) for t in corpus(a.n, seed=2, noisy=False)]
    strip = StripNoise()
    for d in docs[:20]:  # compile and cache before timing
        strip(Doc(text=d, title_in_text=True))
    spent: collections.Counter = collections.Counter()
    instrument(spent)
    t0 = time.perf_counter()
    for d in docs:
        strip(Doc(text=d, title_in_text=True))
    total = time.perf_counter() - t0
    per = 1e6 / len(docs)
    rules = len(noise.load_profiles(())[0].rules)
    print(f"pages: {len(docs)} (half noisy, half clean); generic rules: {rules}")
    print(f"noise step, instrumented: {total * per:8.1f} µs per page")
    for name, secs in sorted(((k, v) for k, v in spent.items() if k.startswith("stage ")), key=lambda kv: -kv[1]):
        print(f"  {secs * per:8.1f} µs  {name}")
    print(f"most costly rules (top {a.top}):")
    for name, secs in [(k, v) for k, v in spent.most_common() if k.startswith("rule ")][: a.top]:
        print(f"  {secs * per:8.1f} µs  {name[5:]}")


if __name__ == "__main__":
    main()
