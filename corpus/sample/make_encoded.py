"""Regenerate the sample pages that cannot be written as plain UTF-8 text.

    python corpus/sample/make_encoded.py

Writes, into ``pages/``:

- ``bad-empty.txt``: 0 bytes (must be rejected as empty);
- ``bad-binary.txt``: 2,048 pseudo-random bytes, about 40 % NUL (must be rejected as
  undecodable);
- ``024-gia-rau-tang-sau-mua-utf16.txt``: a genuine article in UTF-16 LE with a BOM;
- ``025-pho-di-bo-moi-cp1258.txt``: a genuine article in Windows-1258, the way legacy
  Vietnamese Windows software saved it: base letters with their precomposed form where
  cp1258 has one (â ê ô ơ ư ă đ á é ...), the other tone marks as combining characters.
  Decoded with cp1258 and then NFC-normalised it gives back the text below exactly.

The output is deterministic (fixed seed, no timestamps), so re-running the script leaves
the files byte for byte unchanged.
"""
from __future__ import annotations

import hashlib
import random
import unicodedata
from pathlib import Path

PAGES = Path(__file__).resolve().parent / "pages"

UTF16_NAME = "024-gia-rau-tang-sau-mua-utf16.txt"
UTF16_TEXT = """\
Mưa lớn kéo dài, giá rau xanh tại chợ đầu mối tăng gấp rưỡi
(SGGP)- Những ngày qua, mưa lớn kéo dài ở các tỉnh cung cấp nông sản khiến lượng rau xanh về chợ đầu mối Thủ Đức giảm khoảng 20%, giá nhiều loại rau ăn lá tăng 30-50% so với tuần trước.
Theo ghi nhận lúc 2h sáng 12-10, cải ngọt, cải xanh được tiểu thương bán sỉ với giá 14.000-16.000 đồng/kg, rau muống 12.000 đồng/kg, xà lách 25.000 đồng/kg. Các loại rau gia vị như hành lá, ngò gai tăng mạnh nhất, có loại gần gấp đôi.
Tiểu thương bốc dỡ rau tại chợ đầu mối Thủ Đức rạng sáng 12-10. Ảnh: HOÀNG HÙNG
Bà Lê Thị Thắm, tiểu thương có hơn 15 năm buôn bán rau tại chợ, cho biết mưa nhiều làm rau bị dập úng, tỷ lệ hư hỏng khi vận chuyển lên tới 15-20%. "Hàng về ít mà phải lựa bỏ nhiều nên giá buộc phải tăng. Khách mua cũng giảm lượng lấy mỗi ngày", bà Thắm nói.
Tại các chợ lẻ trong khu dân cư, giá rau còn cao hơn chợ đầu mối từ 5.000 đến 10.000 đồng/kg. Nhiều bà nội trợ chuyển sang mua các loại củ như bí, bầu, cà rốt, khoai tây vốn ít biến động giá hơn.
Đại diện Ban quản lý chợ cho biết lượng hàng về chợ mỗi đêm hiện đạt khoảng 2.800 tấn, giảm so với mức bình quân 3.500 tấn. Giá rau dự kiến sẽ hạ nhiệt khi thời tiết thuận lợi trở lại và các vùng trồng rau ở Lâm Đồng vào vụ thu hoạch mới.
Sở Công Thương cho biết đang phối hợp với các hệ thống phân phối tăng cường nguồn hàng bình ổn, bảo đảm không để thiếu hàng trong những ngày mưa bão.
THANH HẢI
Lưu tin
"""

CP1258_NAME = "025-pho-di-bo-moi-cp1258.txt"
CP1258_TEXT = """\
Hà Nội mở thêm ba không gian đi bộ cuối tuần
HNM - Từ tối thứ Sáu tuần này, Hà Nội chính thức đưa vào hoạt động thêm ba không gian đi bộ tại các quận Tây Hồ, Ba Đình và Đống Đa, mở cửa từ 18h thứ Sáu đến 24h Chủ nhật hằng tuần.
Các tuyến phố được chọn đều có vỉa hè rộng, nhiều cây xanh và gắn với những di tích, công trình văn hóa. Mỗi không gian sẽ có chủ đề riêng: ẩm thực đường phố, nghệ thuật dân gian và sách, tranh cổ động.
Người dân và du khách dạo bộ trên tuyến phố ven hồ trong đêm chạy thử. Ảnh: Quang Thái
Theo UBND các quận, trong thời gian chạy thử hai tuần, mỗi tối có khoảng 8.000 đến 12.000 lượt khách đến tham quan. Các hộ kinh doanh dọc tuyến phố cho biết doanh thu tăng 20-40% so với ngày thường.
Ông Nguyễn Văn Thịnh, chủ một quán cà phê trên tuyến phố đi bộ mới, cho biết ban đầu ông lo ngại việc cấm xe sẽ làm giảm khách quen. "Thực tế khách đến đông hơn, nhiều gia đình đưa con nhỏ đến chơi mà không phải lo xe cộ", ông nói.
Để bảo đảm trật tự, các quận bố trí 12 điểm trông giữ xe, lực lượng dân phòng và camera giám sát dọc tuyến. Hoạt động bán hàng rong, lấn chiếm vỉa hè và sử dụng loa công suất lớn sẽ bị xử lý nghiêm.
Sở Văn hóa và Thể thao thành phố cho biết sẽ đánh giá hiệu quả sau ba tháng để xem xét mở rộng mô hình ra các quận khác.
Thu Trang
Tags: phố đi bộ, văn hóa, du lịch Hà Nội
"""


def encode_cp1258(text: str) -> bytes:
    """Encode NFC text as cp1258, splitting off tone marks cp1258 has no letter for."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", ch)
        for i, mark in enumerate(marks):  # fold one mark in if cp1258 has that letter (ê, ơ, ă ...)
            letter = unicodedata.normalize("NFC", base + mark)
            if len(letter) == 1:
                try:
                    letter.encode("cp1258")
                except UnicodeEncodeError:
                    continue
                base = letter
                del marks[i]
                break
        out += (base + "".join(marks)).encode("cp1258")
    return bytes(out)


def binary_noise(n: int = 2048, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    return bytes(0 if rng.random() < 0.4 else rng.randrange(1, 256) for _ in range(n))


def main() -> None:
    files = {
        "bad-empty.txt": b"",
        "bad-binary.txt": binary_noise(),
        UTF16_NAME: b"\xff\xfe" + UTF16_TEXT.encode("utf-16-le"),
        CP1258_NAME: encode_cp1258(CP1258_TEXT),
    }
    # the legacy pages must round-trip to exactly the source text
    assert files[UTF16_NAME].decode("utf-16") == UTF16_TEXT
    assert unicodedata.normalize("NFC", files[CP1258_NAME].decode("cp1258")) == CP1258_TEXT
    for name, data in files.items():
        (PAGES / name).write_bytes(data)
        print(f"{name:40s} {len(data):6d} bytes  sha256 {hashlib.sha256(data).hexdigest()[:16]}")


if __name__ == "__main__":
    main()
