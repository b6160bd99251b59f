"""Throughput of the normaliser chain on one core, on ~4 KB articles.

    python bench/bench_normalise.py [N]

Prints articles/s for: the whole chain on noisy pages, the whole chain on clean pages,
and the noise step alone. Medians of 3 rounds.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import corpus  # noqa: E402

from corpus.normalise import DEFAULT_CHAIN, Doc, NormaliseLayout, StripNoise, normalise, normalise_layout  # noqa: E402


def rate(fn, docs, rounds=3) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for d in docs:
            fn(d)
        times.append(time.perf_counter() - t0)
    return len(docs) / statistics.median(times)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    noisy = corpus(n, noisy=True)
    clean = corpus(n, seed=2, noisy=False)
    size = sum(len(t.encode()) for t in noisy) / n
    # Warm the rule cache once.
    normalise(Doc(text=noisy[0], title_in_text=True))
    strip = StripNoise()
    laid = [normalise_layout(t) for t in noisy]
    print(f"articles: {n}, mean size {size:.0f} bytes")
    print(f"whole chain, noisy pages : {rate(lambda t: normalise(Doc(text=t, title_in_text=True)), noisy):10,.0f} articles/s")
    print(f"whole chain, clean pages : {rate(lambda t: normalise(Doc(text=t, title_in_text=True)), clean):10,.0f} articles/s")
    print(f"noise step alone (noisy) : {rate(lambda t: strip(Doc(text=t, title_in_text=True)), laid):10,.0f} articles/s")
    print(f"layout step alone        : {rate(lambda t: NormaliseLayout()(Doc(text=t)), noisy):10,.0f} articles/s")


if __name__ == "__main__":
    main()
