"""Synthetic Vietnamese news articles for benchmarks: invented sentences, ~4 KB each,
line-structured or flattened, with the noise real pages carry."""
from __future__ import annotations

import hashlib
import random

SENTENCES = [
    "Cây cầu dài 1,2 km bắc qua sông Hậu được thông xe sáng nay sau ba năm thi công.",
    "Theo thống kê của Sở Giao thông vận tải, mỗi ngày có khoảng 20.000 lượt xe qua lại khu vực này.",
    "Ông Trần Văn Bình, Giám đốc Ban quản lý dự án, cho biết công trình hoàn thành sớm hai tháng.",
    "Người dân địa phương bày tỏ niềm vui khi không còn phải chờ phà vào những ngày mưa bão.",
    "Giá lúa tại các tỉnh miền Tây tăng thêm 300 đồng mỗi kg so với tuần trước.",
    "“Chúng tôi sẽ tiếp tục theo dõi sát diễn biến thị trường”, bà Nguyễn Thị Lan nói.",
    "Ảnh hưởng của bão số 5, nhiều tuyến đường ở Nghệ An và Hà Tĩnh bị ngập sâu.",
    "Lực lượng cứu hộ đã sơ tán hơn 3.000 hộ dân đến nơi an toàn trước khi bão đổ bộ.",
    "Chia sẻ với phóng viên, một nông dân cho biết vụ này thu hoạch được 7 tấn mỗi ha.",
    "Bộ Y tế khuyến cáo người dân chủ động phòng chống sốt xuất huyết trong mùa mưa.",
    "Đội tuyển Việt Nam đã giành chiến thắng với tỷ số 2-1 trong trận đấu tối qua.",
    "UBND TP.HCM yêu cầu các sở ngành khẩn trương hoàn thiện hồ sơ trước ngày 30.12.",
]
NOISE_LINES = ["0:00 / 0:00", "Bình luận (0)", "Chia sẻ", "Xem thêm: Giá vàng hôm nay tăng vọt",
               "Chủ tịch tỉnh kiểm tra công trường - Ảnh: Gia Minh"]


def article(rng: random.Random, target: int = 4000, noisy: bool = True, flattened: bool = False) -> str:
    lines = []
    size = 0
    while size < target:
        s = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 3)))
        lines.append(s)
        size += len(s.encode("utf-8")) + 1
        if noisy and rng.random() < 0.15:
            lines.append(rng.choice(NOISE_LINES))
    if noisy:
        lines[0] = "TPO - " + lines[0]
        lines.append("Theo VTV")
    title = "Thông xe cầu mới bắc qua sông Hậu"
    body = (" " if flattened else "\n").join(lines)
    return title + "\n" + body


def corpus(n: int, seed: int = 1, **kw) -> list[str]:
    rng = random.Random(seed)
    return [article(rng, flattened=(i % 3 == 0), **kw) for i in range(n)]


def valid_record(i: int, title: str, text: str, source: str = "raw/a.jsonl") -> dict:
    """A schema-valid record (schema 1.0.0) around ``title`` and ``text``; the id, URL and
    provenance follow from ``i``. Shared by bench/bench_validate.py and tests/test_validate.py."""
    url = f"https://tin.example.vn/thoi-su/bai-{i}.html"
    return {
        "id": hashlib.sha256(url.encode()).hexdigest()[:16],
        "schema_version": "1.0.0",
        "title": title,
        "text": text,
        "lang": "vi",
        "url": url,
        "publisher": "tin.example.vn",
        "published": "2024-03-01T08:30:00+07:00",
        "dateline": "TPO",
        "attribution": None,
        "quality_flags": [],
        "provenance": {"input": f"{source}#{i + 1}", "input_id": str(i),
                       "input_sha256": hashlib.sha256(str(i).encode()).hexdigest(),
                       "builder": {"name": "newscorpus", "version": "0.1.0"}},
    }
