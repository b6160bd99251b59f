"""Throughput of the encoding-repair layer (corpus.encoding) on synthetic 4 KB articles.

    /work/venv/bin/python bench/bench_encoding.py [--docs 2000] [--rounds 5]

Prints docs/s and µs/doc per scenario (median of interleaved rounds; the machines are
noisy, so compare ratios from one run rather than absolute figures across runs). The
issue's target: >= 30,000 clean 4 KB articles/s on one core for repair_text.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ftfy  # noqa: E402

from corpus.encoding import decode_bytes, dedup_key, quality_flags, repair_text  # noqa: E402

# Invented sentences (no real article text), with curly quotes, numbers and all tones.
SENTENCES = [
    "Sáng nay, Sở Giao thông thành phố cho biết lượng xe qua cầu tăng 12,5% so với tuần trước.",
    "“Chúng tôi sẽ mở thêm hai làn đường mới trước Tết”, ông Nguyễn Văn Hùng, phó giám đốc sở, nói.",
    "Theo kế hoạch, dự án hoàn thành vào quý III năm sau với tổng vốn khoảng 1.200 tỷ đồng.",
    "Người dân ở huyện ven biển đã chuẩn bị lương thực, nước uống và thuốc men để phòng bão.",
    "Nhiều học sinh tiểu học được nghỉ học hai ngày; các trường sẽ dạy bù vào cuối tháng.",
    "Giá xăng giảm nhẹ từ chiều qua, trong khi giá vàng miếng vẫn đứng ở mức cao kỷ lục.",
    "Đội tuyển bóng đá nữ thắng 2-1 trong trận giao hữu tối thứ Bảy trên sân Thống Nhất.",
    "Bác sĩ khuyến cáo người cao tuổi nên tiêm phòng cúm trước mùa đông và giữ ấm cơ thể.",
]


def make_articles(n: int, size: int = 4096) -> list[str]:
    docs = []
    for i in range(n):
        parts, length, k = [], 0, i
        while length < size:
            s = SENTENCES[k % len(SENTENCES)]
            parts.append(s + ("\n" if k % 4 == 3 else " "))
            length += len(s.encode("utf-8")) + 1
            k += 1
        docs.append(f"Bài {i}. " + "".join(parts))
    return docs


def tcvn3_encode(text: str) -> str:
    table = json.loads((Path(__file__).resolve().parents[1] / "corpus/data/tcvn3.json").read_text("utf-8"))
    inverse = {v: bytes.fromhex(k).decode("cp1252") for k, v in table["bytes"].items()}
    return "".join(inverse.get(c, c) for c in text.replace("“", '"').replace("”", '"'))


def vni_encode(text: str) -> str:
    table = json.loads((Path(__file__).resolve().parents[1] / "corpus/data/vni.json").read_text("utf-8"))
    inverse = {v: bytes.fromhex(k.replace(" ", "")).decode("cp1252") for k, v in table["sequences"].items()}
    return "".join(inverse.get(c, c) for c in text)


def scenarios(n: int) -> dict[str, tuple]:
    clean = make_articles(n)
    half = [d[: len(d) // 2] + d[len(d) // 2:].encode("utf-8").decode("sloppy-windows-1252") for d in clean]
    return {
        "repair_text clean": (repair_text, clean),
        "repair_text clean + NBSP": (repair_text, [d.replace(" ", "\u00a0", 3) for d in clean]),
        "repair_text mojibake utf8-as-cp1252": (repair_text, [d.encode("utf-8").decode("sloppy-windows-1252") for d in clean]),
        "repair_text mojibake utf8-as-latin1": (repair_text, [d.encode("utf-8").decode("latin-1") for d in clean]),
        "repair_text mojibake utf8-as-cp1258": (repair_text, [d.encode("utf-8").decode("sloppy-windows-1258") for d in clean]),
        "repair_text mojibake utf8-as-macroman": (repair_text, [d.encode("utf-8").decode("mac_roman") for d in clean]),
        "repair_text mixed (half mojibake)": (repair_text, half),
        "repair_text 10% cp1252 mojibake": (repair_text, [h if i % 10 == 0 else d for i, (d, h) in
                                                          enumerate(zip(clean, (d.encode("utf-8").decode("sloppy-windows-1252") for d in clean)))]),
        "repair_text TCVN3": (repair_text, [tcvn3_encode(d) for d in clean]),
        "repair_text VNI": (repair_text, [vni_encode(d) for d in clean]),
        "quality_flags clean": (quality_flags, clean),
        "dedup_key clean": (dedup_key, clean),
        "decode_bytes utf-8": (decode_bytes, [d.encode("utf-8") for d in clean]),
    }


def check_outputs(n: int) -> None:
    """The repairs must be right, or the speed means nothing."""
    clean = make_articles(n)
    for name, docs in (("cp1252", [d.encode("utf-8").decode("sloppy-windows-1252") for d in clean]),
                       ("vni", [vni_encode(d) for d in clean])):
        wrong = sum(repair_text(m)[0] != c for m, c in zip(docs, clean))
        print(f"  check {name}: {wrong} of {n} documents not restored exactly")


def timed(fn, docs) -> float:
    t0 = time.perf_counter()
    for d in docs:
        fn(d)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    cases = scenarios(args.docs)
    avg_kb = statistics.mean(len(d.encode("utf-8")) for d in cases["repair_text clean"][1]) / 1024
    print(f"{args.docs} synthetic articles, {avg_kb:.2f} KB UTF-8 each, {args.rounds} rounds (median)")
    check_outputs(200)
    times = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, (fn, docs) in cases.items():   # interleaved, so drift hits all alike
            times[name].append(timed(fn, docs))
    for name, ts in times.items():
        t = statistics.median(ts)
        print(f"  {name:42s} {args.docs / t:10,.0f} docs/s {1e6 * t / args.docs:9.1f} µs/doc")
    # Reference point: ftfy on every document, as the perf notes measured it.
    sample = cases["repair_text clean"][1][:200]
    t = timed(lambda d: ftfy.fix_text(d, uncurl_quotes=False), sample)
    print(f"  {'ftfy.fix_text clean (reference)':42s} {len(sample) / t:10,.0f} docs/s {1e6 * t / len(sample):9.1f} µs/doc")


if __name__ == "__main__":
    main()
