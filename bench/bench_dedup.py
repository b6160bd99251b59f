"""Deduplicator throughput, memory and precision on synthetic ~4 KB Vietnamese articles.

    python bench/bench_dedup.py [N ...]        # default: 20000 60000
    python bench/bench_dedup.py --jaccard [N]  # recall by true Jaccard (default 8000)

Each size runs in a fresh interpreter so peak RSS is its own. The stream is made of
invented sentences (a combinatorial grammar, so unrelated articles share only stock
phrases) with planted duplicates, each placed after its original:

- exact copies: other whitespace, quote style and NFD;
- wire copies: other dateline and attribution, one or two sentences replaced, straight
  quotes, paragraph breaks, half of them NFD; half of them also switch to the other
  tone-mark style (hòa -> hoà), about 1 word in 100 here: only a key that unifies the
  tone style (corpus.encoding.dedup_key) sees through that;
- related articles (hard negatives): same topic, 40, 55 or 70 % of the original's
  sentences (5-shingle Jaccard about 0.2 to 0.5).

Reports records/s of ``check`` alone (generation is not timed), peak RSS growth over the
baseline taken after warm-up, that growth per remembered record, and precision / recall
of the near flags against the planted truth.
"""
from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
import unicodedata

SUBJECTS = [
    "Ủy ban nhân dân tỉnh", "Bộ Tài chính", "Sở Giao thông vận tải", "Ngân hàng Nhà nước",
    "Hiệp hội doanh nghiệp nhỏ và vừa", "Trường đại học vùng", "Công ty cổ phần thủy sản",
    "Ban quản lý khu kinh tế", "Cục Quản lý thị trường", "Hội nông dân huyện",
    "Bệnh viện đa khoa khu vực", "Tổng cục Thống kê", "Sở Văn hóa và Thể thao",
    "Liên đoàn lao động thành phố", "Viện nghiên cứu hải sản", "Hợp tác xã nông nghiệp",
    "Trung tâm dự báo khí tượng", "Phòng cảnh sát giao thông", "Quỹ hỗ trợ khởi nghiệp",
    "Ủy ban Mặt trận Tổ quốc xã", "Tập đoàn điện lực", "Cảng hàng không quốc tế",
    "Hội đồng nhân dân thị xã", "Sở Y tế", "Đoàn thanh niên phường", "Nhà máy thủy điện",
]
VERBS = [
    "vừa công bố", "đang xem xét", "đã phê duyệt", "kiến nghị điều chỉnh", "tạm dừng",
    "đề xuất mở rộng", "yêu cầu kiểm tra lại", "bắt đầu triển khai", "hoàn thành",
    "dự kiến khởi công", "đã ký kết", "tổ chức lấy ý kiến về", "cam kết hỗ trợ",
    "cảnh báo rủi ro của", "tăng cường giám sát", "lùi thời hạn của", "đánh giá lại",
    "đề nghị bổ sung vốn cho", "chính thức vận hành", "hướng dẫn người dân về",
]
OBJECTS = [
    "dự án cải tạo kênh thủy lợi", "chương trình tín dụng ưu đãi", "kế hoạch hòa lưới điện",
    "tuyến đường ven biển", "đề án chuyển đổi số", "gói hỗ trợ người lao động",
    "quy hoạch khu đô thị mới", "chiến dịch tiêm chủng mở rộng", "hệ thống xử lý nước thải",
    "chính sách miễn giảm học phí", "dự án nhà ở xã hội", "mô hình trồng lúa chất lượng cao",
    "lễ hội văn hóa dân gian", "chương trình chăm sóc sức khỏe ban đầu", "cầu vượt nút giao",
    "quỹ phòng chống thiên tai", "đợt kiểm tra an toàn thực phẩm", "hóa đơn điện tử",
    "trạm quan trắc môi trường", "kế hoạch bảo tồn rừng phòng hộ", "khu tái định cư",
    "dịch vụ công trực tuyến", "tuyến xe buýt liên tỉnh", "đề án phát triển du lịch",
]
PLACES = [
    "tại huyện Đông Khê", "ở vùng ven biển", "trên địa bàn thành phố", "tại các xã miền núi",
    "ở khu vực đồng bằng", "tại thị trấn Phú Lộc", "dọc hai bờ sông Mây", "ở ba quận trung tâm",
    "tại các khu công nghiệp", "ở vùng biên giới", "trong toàn tỉnh", "tại xã đảo Hòn Tre",
    "ở các phường ven đô", "tại khu vực cửa biển", "ở huyện miền núi Tây Sơn",
]
TIMES = [
    "trong quý tới", "từ đầu tháng sau", "trước mùa mưa bão", "trong năm nay",
    "sau Tết Nguyên đán", "trong hai năm tới", "ngay trong tuần này", "đến cuối năm",
    "từ giữa năm sau", "trong giai đoạn đầu",
]
TAILS = [
    "với tổng kinh phí khoảng {n} tỷ đồng", "để phục vụ hơn {n} nghìn hộ dân",
    "sau khi nhận được {n} ý kiến đóng góp", "nhằm giảm {n} phần trăm chi phí vận chuyển",
    "với sự tham gia của {n} doanh nghiệp", "khi tỷ lệ hoàn thành mới đạt {n} phần trăm",
    "dù còn {n} hộ chưa đồng ý phương án bồi thường", "và tạo việc làm cho khoảng {n} lao động",
]
QUOTES = [
    "“Chúng tôi sẽ làm hết sức để người dân được hưởng lợi sớm nhất”, {who} nói.",
    "“Đây là việc khó nhưng không thể chậm trễ thêm”, {who} nhấn mạnh.",
    "“Người dân cần được biết rõ từng khoản chi”, {who} chia sẻ.",
]
PEOPLE = [
    "ông Nguyễn Văn Hòa", "bà Lê Thị Thúy", "ông Phạm Quốc Khánh", "bà Đỗ Minh Khuê",
    "ông Hoàng Đức Thủy", "bà Vũ Thị Hạnh", "ông Trịnh Xuân Lộc", "bà Bùi Ngọc Quỳnh",
]
DATELINES = ["HÀ NỘI (TTX) –", "Lâm Hà –", "TP.HCM -", "ĐÀ NẴNG (Thông tấn) —", "Cần Thơ –", "(Tin nhanh)"]
OUTLETS = ["Theo Thông tấn Sông Mây", "Nguồn: Báo Đồng Bằng", "(Theo Tin nhanh)", "Theo báo Lâm Hà"]
# New-style tone placement (the old style marks the first vowel: hòa, thủy, khỏe, hóa).
TONE_STYLE = {"hòa": "hoà", "Hòa": "Hoà", "thủy": "thuỷ", "khỏe": "khoẻ", "hóa": "hoá", "Thúy": "Thuý"}


def sentence(rng: random.Random) -> str:
    if rng.random() < 0.12:
        return rng.choice(QUOTES).format(who=rng.choice(PEOPLE))
    tail = rng.choice(TAILS).format(n=rng.randint(2, 990))
    return (
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
        f"{rng.choice(PLACES)} {rng.choice(TIMES)}, {tail}."
    )


def body(rng: random.Random, nbytes: int = 4000) -> list[str]:
    out, size = [], 0
    while size < nbytes:
        out.append(sentence(rng))
        size += len(out[-1].encode()) + 1
    return out


def render(sentences: list[str], rng: random.Random) -> str:
    return f"{rng.choice(DATELINES)} {' '.join(sentences)}\n{rng.choice(OUTLETS)}"


def restyle(text: str, rng: random.Random, tone_style: bool) -> str:
    text = text.replace("“", '"').replace("”", '"')
    if tone_style:
        for old, new in TONE_STYLE.items():
            text = text.replace(old, new)
    text = text.replace(". ", ".\n\n", 6)
    return unicodedata.normalize("NFD", text) if rng.random() < 0.5 else text


def stream(n: int, seed: int = 7):
    """Yield (record_id, text, truth): truth is None or (kind, original_id), kind one of
    "exact", "near", "near+tone" (a wire copy in the other tone style), "related"."""
    rng = random.Random(seed)
    recent: list[tuple[str, list[str], str]] = []  # originals that later copies draw on
    for i in range(n):
        rid = f"r{i:07d}"
        roll = rng.random()
        if recent and roll < 0.02:
            oid, _, text = rng.choice(recent)
            copy = unicodedata.normalize("NFD", "  " + text.replace(" ", "  ").replace("“", '"').replace("”", '"'))
            yield rid, copy, ("exact", oid)
        elif recent and roll < 0.07:
            oid, sents, _ = rng.choice(recent)
            sents = list(sents)
            for _ in range(rng.choice((1, 1, 2))):
                sents[rng.randrange(len(sents))] = sentence(rng)
            tone_style = rng.random() < 0.5
            yield rid, restyle(render(sents, rng), rng, tone_style), ("near+tone" if tone_style else "near", oid)
        elif recent and roll < 0.12:
            oid, sents, _ = rng.choice(recent)
            keep = set(rng.sample(range(len(sents)), k=int(len(sents) * rng.choice((0.4, 0.55, 0.7)))))
            mixed = [sents[j] if j in keep else sentence(rng) for j in range(len(sents))]
            yield rid, render(mixed, rng), ("related", oid)
        else:
            sents = body(rng)
            text = render(sents, rng)
            recent.append((rid, sents, text))
            if len(recent) > 300:
                recent.pop(rng.randrange(len(recent)))
            yield rid, text, None


def rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def run(n: int) -> dict:
    from corpus.dedup import Deduplicator

    d = Deduplicator()
    warm = Deduplicator()  # builds the character table and the LSH parameters
    warm.check("w", render(body(random.Random(0)), random.Random(0)))
    del warm
    baseline = rss_kib("VmRSS")
    # VmHWM is the peak since start; it starts above baseline only if warm-up peaked.
    start_peak = rss_kib("VmHWM")
    elapsed, total_bytes = 0.0, 0
    planted = {"exact": 0, "near": 0, "near+tone": 0, "related": 0}
    found = {"exact": 0, "near": 0, "near+tone": 0}  # flagged, of the right original
    false_flags, wrong_of, near_sims = 0, 0, []
    # A copy that was missed is remembered as new, and a later copy of the same story may
    # then match it first: that is right too, so `of` is compared by story.
    story_of: dict[str, str] = {}
    for rid, text, truth in stream(n):
        total_bytes += len(text.encode("utf-8"))
        t0 = time.perf_counter()
        dup = d.check(rid, text)
        elapsed += time.perf_counter() - t0
        kind = truth[0] if truth else None
        if kind:
            planted[kind] += 1
            if kind != "related":
                story_of[rid] = truth[1]
        if dup is None:
            continue
        if kind in (None, "related"):
            false_flags += 1
        elif story_of.get(dup.of, dup.of) != truth[1]:
            wrong_of += 1
        else:
            found[kind] += 1
            if dup.kind == "near":
                near_sims.append(dup.similarity)
    peak = rss_kib("VmHWM")
    near_sims.sort()
    flagged = d.stats["exact"] + d.stats["near"]
    return {
        "n": n,
        "key_source": d.key_source,
        "mean_bytes": round(total_bytes / n),
        "records_per_s": round(n / elapsed),
        "us_per_record": round(elapsed / n * 1e6),
        "remembered": len(d),
        "peak_rss_growth_mib": round((peak - max(baseline, 0)) / 1024, 1),
        "rss_growth_mib": round((rss_kib("VmRSS") - baseline) / 1024, 1),
        "bytes_per_remembered_record": round((peak - baseline) * 1024 / len(d)),
        "warmup_peak_over_baseline_kib": start_peak - baseline,
        "stats": d.stats,
        "planted": planted,
        "false_flags": false_flags,
        "wrong_of": wrong_of,
        "precision": round((flagged - false_flags - wrong_of) / flagged, 4) if flagged else None,
        "recall": {k: round(found[k] / planted[k], 4) if planted[k] else None for k in found},
        "near_similarity_min_median": (near_sims[0], near_sims[len(near_sims) // 2]) if near_sims else None,
        "maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def recall_by_jaccard(n: int) -> None:
    """Recall of wire copies by their true 5-shingle Jaccard with the original (keeps
    every text, so not part of the memory run)."""
    from corpus.dedup import Deduplicator, normalise_key

    def shingles(text: str) -> set:
        w = normalise_key(text).split()
        return {tuple(w[i : i + 5]) for i in range(len(w) - 4)}

    d, texts, rows = Deduplicator(), {}, []
    for rid, text, truth in stream(n):
        texts[rid] = text
        dup = d.check(rid, text)
        if truth and truth[0].startswith("near"):
            a, b = shingles(texts[truth[1]]), shingles(text)
            rows.append((truth[0], len(a & b) / len(a | b), dup is not None))
    print(f"n={n} key={d.key_source}: recall of wire copies by true Jaccard")
    for kind in ("near", "near+tone"):
        for lo, hi in ((0.0, 0.75), (0.75, 0.8), (0.8, 0.85), (0.85, 0.9), (0.9, 1.01)):
            found = [f for k, j, f in rows if k == kind and lo <= j < hi]
            if found:
                print(f"  {kind:<9} J in [{lo:.2f}, {min(hi, 1):.2f}): {len(found):>4} copies,"
                      f" found {sum(found) / len(found):.3f}")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        print(json.dumps(run(int(argv[1]))))
        return
    if argv[:1] == ["--jaccard"]:
        recall_by_jaccard(int(argv[1]) if len(argv) > 1 else 8000)
        return
    sizes = [int(a) for a in argv] or [20000, 60000]
    for n in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n)], check=True, capture_output=True, text=True
        ).stdout
        r = json.loads(out)
        print(
            f"n={r['n']:>6}  {r['mean_bytes']} B/article  key={r['key_source']}\n"
            f"  speed     {r['records_per_s']} records/s ({r['us_per_record']} us/record, check() only)\n"
            f"  memory    peak RSS +{r['peak_rss_growth_mib']} MiB for {r['remembered']} remembered records"
            f" = {r['bytes_per_remembered_record']} B/record (end RSS +{r['rss_growth_mib']} MiB)\n"
            f"  planted   {r['planted']}  flagged {r['stats']}\n"
            f"  quality   precision {r['precision']} (false flags {r['false_flags']},"
            f" wrong original {r['wrong_of']}); recall {r['recall']};"
            f" similarity of found near copies min/median {r['near_similarity_min_median']}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
