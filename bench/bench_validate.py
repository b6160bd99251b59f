"""`corpus validate` throughput against plain read-and-parse with orjson, side by side.

    python bench/bench_validate.py [--records N] [--rounds R]

Writes N synthetic, schema-valid Vietnamese records of about 4 KB (default 20000) to a
temporary JSON Lines file, then times in interleaved rounds (so machine noise hits every
variant alike):

- baseline: ``for line in open(path, "rb"): orjson.loads(line)``, one process;
- validate (default): ``CorpusValidator(Options())`` over the file, as ``corpus validate
  FILE`` runs it: the JSON Schema, every default check (duplicate ids, NFC, mojibake if
  corpus.encoding is importable) and the reading safety (UTF-8, repeated keys, NaN, depth,
  BOM, surrogates); a file this large (over 8 MB) is checked by one worker process per CPU;
- validate --jobs 1: the same in one process (one core);
- --jobs 1 --disable mojibake: the mojibake check screens each line's bytes once
  (corpus.encoding.utf8_screen) and runs quality_flags in full only on texts the screen
  cannot clear; on these records (every one has '?' and 'ô', which share bytes with what
  the flags look for) the screen still costs a few µs;
- --jobs 1, schema only: every check beyond the schema switched off.

Prints µs/record, records/s and MB/s, and each variant's speed as a fraction of the
baseline's (median of the per-round ratios; the issue's target is >= 0.70). Then, on
2,000 records in memory, ``RecordValidator.issues`` with jsonschema-rs against pure
jsonschema (the normaliser's per-record call).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus.resources import load_schema  # noqa: E402
from corpus.validate import CHECKS, CorpusValidator, Options, RecordValidator, Source  # noqa: E402
from synth import valid_record  # noqa: E402

# Words of invented news sentences. Records are random word sequences: repeating a few
# fixed sentences would let the CPU's branch predictor learn the UTF-8 decoding and make
# parsing about twice as fast as on real text (orjson 9 vs 20 µs per record).
VOCABULARY = """
Cây cầu dài km bắc qua sông Hậu được thông xe lúc sáng nay sau ba năm thi công Theo thống kê
của Sở Giao thông vận tải mỗi ngày có khoảng lượt xe qua lại khu vực này Ông Trần Văn Bình Giám
đốc Ban quản lý dự án cho biết công trình hoàn thành sớm hai tháng Người dân địa phương bày tỏ
niềm vui khi không còn phải chờ phà vào những ngày mưa bão Giá lúa tại các tỉnh miền Tây tăng
thêm đồng mỗi kg so với tuần trước Chúng tôi sẽ tiếp tục theo dõi sát diễn biến thị trường bà
Nguyễn Thị Lan nói Ảnh hưởng của bão số nhiều tuyến đường ở Nghệ An và Hà Tĩnh bị ngập sâu Lực
lượng cứu hộ đã sơ tán hơn hộ dân đến nơi an toàn trước khi bão đổ bộ Bộ Y tế khuyến cáo chủ
động phòng chống sốt xuất huyết trong mùa mưa Đội tuyển Việt Nam giành chiến thắng với tỷ số
trận đấu tối qua học sinh trường đại học doanh nghiệp xuất khẩu tăng trưởng kinh tế phát triển
bệnh viện giáo dục chính phủ thành phố Hồ Chí Minh Hà Nội Đà Nẵng Cần Thơ người lao động
""".split()
PUNCTUATION = [".", ".", ".", ",", ":", "?", "!"]


def paragraph(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(1, 4)):
        words = [rng.choice(VOCABULARY) for _ in range(rng.randint(8, 30))]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), f"{rng.randint(1, 23)}:{rng.randint(10, 59)}")
        if rng.random() < 0.2:
            words[0] = "“" + words[0]
            words[-1] += "”"
        sentence = " ".join(words)
        sentences.append(sentence[0].upper() + sentence[1:] + rng.choice(PUNCTUATION))
    return " ".join(sentences)


def make_record(i: int, rng: random.Random, size: int = 4000) -> dict:
    paragraphs, used = [], 0
    while used < size:
        p = paragraph(rng)
        paragraphs.append(p)
        used += len(p.encode("utf-8")) + 1
    title = paragraph(rng)[:120].rstrip(" ,.:?!“”") or "Tin tức"
    return valid_record(i, title, "\n".join(paragraphs), source="raw/tin.jsonl")


def read_and_parse(path: str) -> int:
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            orjson.loads(line)
            n += 1
    return n


def validate(path: str, options: Options) -> int:
    run = CorpusValidator(options)
    for finding in run.run([path]):
        raise SystemExit(f"unexpected error in the synthetic data: {finding}")
    return run.summary.records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    rng = random.Random(6)
    records = [make_record(i, rng) for i in range(args.records)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "records.jsonl")
        with open(path, "wb") as fh:
            for record in records:
                fh.write(orjson.dumps(record) + b"\n")
        size = os.path.getsize(path)
        default, schema_only = Options(), Options(jobs=1, disabled=frozenset(CHECKS))
        probe = CorpusValidator(default)
        print(f"{args.records} records, {size / args.records / 1024:.2f} KB each; engine {probe.validator.engine}; "
              f"checks: {', '.join(n for n, _ in probe._record_checks) or 'none'}"
              + "".join(f"; {n} unavailable ({why})" for n, why in probe.summary.unavailable.items()))
        no_mojibake = Options(jobs=1, disabled=frozenset({"mojibake"}))
        workers = probe._workers_for(Source(path, Path(path), "jsonl"))
        variants = {
            "read + orjson.loads (baseline)": lambda: read_and_parse(path),
            f"validate (default: {workers} processes)": lambda: validate(path, default),
            "validate --jobs 1": lambda: validate(path, Options(jobs=1)),
            "--jobs 1 --disable mojibake": lambda: validate(path, no_mojibake),
            "--jobs 1, schema only": lambda: validate(path, schema_only),
        }
        for run in variants.values():  # warm the page cache and the imports
            run()
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, run in variants.items():
                start = time.perf_counter()
                n = run()
                times[name].append(time.perf_counter() - start)
                assert n == args.records, (name, n)
        base = times["read + orjson.loads (baseline)"]
        print(f"{'variant':34s} {'µs/rec':>8s} {'rec/s':>9s} {'MB/s':>7s} {'speed vs baseline':>18s}")
        for name, secs in times.items():
            med = statistics.median(secs)
            ratio = statistics.median(b / s for b, s in zip(base, secs))
            print(f"{name:34s} {med / args.records * 1e6:8.2f} {args.records / med:9.0f} "
                  f"{size / med / 1e6:7.1f} {ratio:17.2f}x")

    sample = records[:2000]
    schema = load_schema("article")
    for label, validator in (("jsonschema-rs verdict", RecordValidator(schema)),
                             ("jsonschema only", RecordValidator(schema, use_fast=False))):
        start = time.perf_counter()
        for record in sample:
            assert not validator.issues(record)
        print(f"RecordValidator.issues, {label:22s} {(time.perf_counter() - start) / len(sample) * 1e6:8.2f} µs/rec")


if __name__ == "__main__":
    main()
