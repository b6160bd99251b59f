"""End-to-end `corpus build` throughput and peak memory for growing corpora.

    python bench/bench_build.py [N ...]      (default: 2000 8000)

Writes N synthetic ~4 KB news-please records to a temporary JSONL, builds a release from it
in a fresh process, and prints records/s and the peak RSS of that process. Peak RSS that
stays flat as N grows shows the build streams (the dedup index is the only part that grows).
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import corpus  # noqa: E402


def write_inputs(folder: Path, n: int) -> Path:
    src = folder / "in.jsonl"
    with open(src, "w", encoding="utf-8") as fh:
        for i, text in enumerate(corpus(n, seed=7)):
            title, body = text.split("\n", 1)
            # Vary the first sentence so records are not near duplicates of each other.
            body = f"Bản tin số {i}: " + body + f" Mã bài {i * 7919 % 100003}."
            fh.write(json.dumps({"id": f"b{i}", "title": f"{title} {i}", "maintext": body,
                                 "url": f"https://example.vn/bai-{i}.html", "source_domain": "example.vn",
                                 "date_publish": "2024-04-05 14:15:00"}, ensure_ascii=False) + "\n")
    (folder / "corpus.toml").write_text(
        '[corpus]\nname = "bench"\nversion = "1.0.0"\nlicense = "cc-by-4.0"\ndescription = "bench"\n'
        'date_released = "2026-01-01"\ninputs = ["in.jsonl"]\n[[corpus.authors]]\nfamily-names = "Bench"\n',
        encoding="utf-8")
    return folder / "corpus.toml"


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [2000, 8000]
    corpus_cli = Path(sys.executable).with_name("corpus")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            settings = write_inputs(tmp, n)
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            t0 = time.perf_counter()
            subprocess.run([str(corpus_cli), "build", str(settings), "--dist", str(tmp / "dist"), "--quiet"],
                           check=True, cwd=tmp, stdout=subprocess.DEVNULL)
            dt = time.perf_counter() - t0
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            size = (tmp / "in.jsonl").stat().st_size / n
            print(f"N={n:7d}  {size:5.0f} B/record  {n / dt:8.0f} records/s  {dt:7.1f} s  "
                  f"peak RSS {max(peak, before) / 1024:6.0f} MiB")


if __name__ == "__main__":
    main()
