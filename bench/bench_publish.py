"""Throughput and peak memory of publishing, on synthetic ~4 KB Vietnamese articles.

    python bench/bench_publish.py [N ...]        (default: 20000 60000)

For each N, three fresh processes (so each peak RSS is its own):
  build   ReleaseWriter.add x N + close()  -> dist/bench/1.0.0
  grow    the same + 10 % new articles     -> dist/bench/1.1.0 (close() diffs against 1.0.0)
  verify  verify_release(1.1.0)
Peak RSS that stays flat from 20k to 60k articles shows memory does not grow with the corpus.
Also prints the size and time of gzip level 1 vs 6 on one JSONL shard (why level 1).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import SENTENCES  # noqa: E402

SHARD_BYTES = 32 * 1024 * 1024
PUBLISHERS = ["VnExpress", "Tuổi Trẻ", "Thanh Niên", "Dân Trí", "Lao Động", "Nhân Dân", None]


WORDS = sorted({w for s in SENTENCES for w in s.split()})


def body(rng: random.Random, target: int = 4000) -> str:
    """Shuffled words of the synth sentences: about as compressible as real news (~3x), unlike
    repeated whole sentences (~25x), so the compression figures mean something."""
    paragraphs, size = [], 0
    while size < target:
        words = [rng.choice(WORDS) for _ in range(rng.randint(25, 60))]
        words.insert(rng.randrange(len(words)), f"{rng.randint(1, 99_999):,}".replace(",", "."))
        paragraph = " ".join(words).capitalize() + "."
        paragraphs.append(paragraph)
        size += len(paragraph.encode("utf-8")) + 1
    return "\n".join(paragraphs)


BODY_POOL = 1000  # ~4 MB of distinct bodies, far beyond gzip's 32 KB window: cheap to make, fair to compress


def records(n: int, seed: int = 7):
    """Deterministic stream of schema-valid records; never a list."""
    rng = random.Random(seed)
    bodies = [body(rng) for _ in range(BODY_POOL)]
    for i in range(n):
        text = f"{bodies[i % BODY_POOL]}\nBài số {i}."
        rid = hashlib.sha256(f"bench-{i}".encode()).hexdigest()[:16]
        yield {
            "id": rid, "schema_version": "1.0.0", "title": f"Bản tin {i}", "text": text, "lang": "vi",
            "url": f"https://bao.example.vn/{i}.html", "publisher": PUBLISHERS[i % len(PUBLISHERS)],
            "published": f"20{18 + i % 7}-{1 + i % 12:02d}-{1 + i % 28:02d}T08:30:00+07:00",
            "dateline": None, "attribution": "TTXVN" if i % 5 == 0 else None, "quality_flags": [],
            "provenance": {"input": f"raw/bench.jsonl#{i + 1}", "input_id": str(i), "input_sha256": rid * 4,
                           "builder": {"name": "newscorpus", "version": "0.1.0"}},
        }, ([{"start": 0, "end": 7, "rule": "share-bar", "kind": "share", "text": "Chia sẻ"}] if i % 4 == 0 else [])


def settings(version: str):
    from corpus.settings import Author, CorpusSettings

    return CorpusSettings(name="bench", version=version, license="CC-BY-4.0", description="Bench corpus.",
                          authors=(Author("Bench"),), inputs=(), input_root=Path("."), date_released="2024-01-01",
                          shard_bytes=SHARD_BYTES)


def child(phase: str, n: int, dist: Path) -> dict:
    from corpus.publish import ReleaseWriter
    from corpus.release import verify_release

    t0 = time.perf_counter()
    if phase == "verify":
        problems = verify_release(dist / "bench" / "1.1.0")
        assert not problems, problems[:5]
        count = int(n * 1.1)
    else:
        count = n if phase == "build" else int(n * 1.1)
        with ReleaseWriter(settings("1.0.0" if phase == "build" else "1.1.0"), dist) as writer:
            t_add = time.perf_counter()
            for record, removals in records(count):
                writer.add(record, removals)
            added = time.perf_counter() - t_add
            t_close = time.perf_counter()
            writer.close({"inputs": count})
            closed = time.perf_counter() - t_close
    seconds = time.perf_counter() - t0
    out = {"phase": phase, "records": count, "seconds": round(seconds, 2), "records_per_s": round(count / seconds),
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if phase != "verify":
        out.update(add_s=round(added, 2), close_s=round(closed, 2))
    return out


def gzip_levels(dist: Path) -> str:
    shard = sorted((dist / "bench" / "1.0.0" / "jsonl").glob("train-*"))[0]
    raw = gzip.decompress(shard.read_bytes())
    parts = []
    for level in (1, 6):
        t0 = time.perf_counter()
        size = len(zlib.compress(raw, level))
        parts.append(f"level {level}: {size / len(raw):.3f} of raw, {len(raw) / 2**20 / (time.perf_counter() - t0):.0f} MB/s")
    return f"gzip on {len(raw) / 2**20:.0f} MB of JSONL: " + "; ".join(parts)


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--child":
        print(json.dumps(child(argv[1], int(argv[2]), Path(argv[3]))))
        return
    sizes = [int(a) for a in argv] or [20000, 60000]
    print(f"{'N':>7} {'phase':>7} {'records':>8} {'seconds':>8} {'rec/s':>7} {'add s':>6} {'close s':>7} {'peak RSS MB':>11}")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
            for phase in ("build", "grow", "verify"):
                proc = subprocess.run([sys.executable, __file__, "--child", phase, str(n), tmp],
                                      capture_output=True, text=True, check=True)
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                print(f"{n:>7} {phase:>7} {r['records']:>8} {r['seconds']:>8} {r['records_per_s']:>7} "
                      f"{r.get('add_s', ''):>6} {r.get('close_s', ''):>7} {r['peak_rss_mb']:>11}")
            files = sorted(p.name for p in (Path(tmp) / "bench" / "1.1.0" / "data").iterdir())
            print(f"        1.1.0 data files: {len(files)} ({files[0]} .. {files[-1]})")
            if n == sizes[0]:
                print("        " + gzip_levels(Path(tmp)))


if __name__ == "__main__":
    main(sys.argv[1:])
