"""Noise templates of outlets beyond the gold data (taxonomy §1), each built into a short
article twice: line-structured and flattened onto one line. The noise must go and both body
sentences stay. Known failures are marked: they fail now, and a fix must update them."""
import pytest

from corpus.normalise import clean_text

B1 = "Giá xăng giảm nhẹ từ chiều nay theo quyết định của liên bộ."
B2 = "Mỗi lít xăng RON 95 giảm 300 đồng, còn dầu diesel giữ nguyên."

PAGES = {
    "TTO": f"TTO - {B1} {B2}",
    "(NLĐO) -": f"(NLĐO) - {B1} {B2}",
    "(PLO)-": f"(PLO)- {B1} {B2}",
    "VOV.VN -": f"VOV.VN - {B1} {B2}",
    "VTV.vn -": f"VTV.vn - {B1} {B2}",
    "(Chinhphu.vn) -": f"(Chinhphu.vn) - {B1} {B2}",
    "QĐND Online -": f"QĐND Online - {B1} {B2}",
    "(ĐCSVN) -": f"(ĐCSVN) - {B1} {B2}",
    "Kinhtedothi -": f"Kinhtedothi - {B1} {B2}",
    "(Baonghean.vn) -": f"(Baonghean.vn) - {B1} {B2}",
    "GD&TĐ -": f"GD&TĐ - {B1} {B2}",
    "(HNM) -": f"(HNM) - {B1} {B2}",
    "ANTĐ -": f"ANTĐ - {B1} {B2}",
    "VTC News -": f"VTC News - {B1} {B2}",
    "(Dân trí) -": f"(Dân trí) - {B1} {B2}",
    "Zing caps byline": f"{B1} {B2}\nTHU HÀ",
    "Theo Tổ Quốc": f"{B1} {B2}\nTheo Tổ Quốc",
    "Theo Nhịp sống kinh tế": f"{B1} {B2} Theo Nhịp sống kinh tế",
    "Nguồn: Tổng hợp": f"{B1} {B2}\nNguồn: Tổng hợp",
    "(Theo Người đưa tin)": f"{B1} {B2} (Theo Người đưa tin)",
    "caption caps credit": f"{B1}\nCây xăng trên đường Láng chiều nay. Ảnh: NGỌC PHƯỢNG\n{B2}",
    "caption (Ảnh minh hoạ)": f"{B1} Cây xăng trên đường Láng (Ảnh minh họa) {B2}",
    "Tin liên quan caps block": f"{B1} {B2}\nTIN LIÊN QUAN\nGiá vàng hôm nay tăng mạnh lên mức cao nhất\nLãi suất ngân hàng giảm sâu",
    "Bài liên quan flattened": f"{B1} {B2} Bài liên quan Giá vàng hôm nay tăng mạnh lên mức cao nhất Lãi suất ngân hàng giảm sâu",
    "Chia sẻ Facebook widgets": f"{B1} {B2}\nChia sẻ\nFacebook\nTwitter\nZalo",
    "Bình luận widgets": f"{B1} {B2}\nBình luận (3)\nGửi bình luận\nQuan tâm\nTheo dõi",
    "Từ khóa tags": f"{B1} {B2}\nTừ khóa: giá xăng, dầu diesel, liên bộ",
    "Tags inline": f"{B1} {B2} Tags: giá xăng dầu diesel",
    "copyright footer": f"{B1} {B2}\n© Copyright 2024 Báo Điện tử. All rights reserved.",
    "Hotline footer": f"{B1} {B2}\nHotline: 0903 123 456",
    "Giấy phép": f"{B1} {B2}\nGiấy phép số 123/GP-BTTTT do Bộ Thông tin và Truyền thông cấp",
    "Tổng biên tập": f"{B1} {B2}\nTổng biên tập: Nguyễn Văn A",
    "(*) end note": f"{B1} {B2}\nPV",
    "Video player debris": f"{B1}\n00:00\n/\n02:15\n{B2}",
    "Đọc thêm": f"{B1}\nĐọc thêm: Giá vàng hôm nay tăng mạnh\n{B2}",
    "Xem thêm >>": f"{B1} {B2} Xem thêm >> Giá vàng hôm nay tăng mạnh",
    "Mời quý độc giả xem video": f"{B1}\nMời quý độc giả xem video:\n{B2}",
    "Quý độc giả xem video": f"{B1}\nQuý độc giả xem thêm video đang được quan tâm:\n{B2}",
    "Nguồn video": f"{B1} {B2}\nNguồn video: VTV",
    "Thực hiện: ": f"{B1} {B2}\nThực hiện: Minh Anh - Thu Hà",
    "Trình bày": f"{B1} {B2}\nNội dung: Minh Anh | Thiết kế: Thu Hà",
    "Báo Mới aggregator": f"{B1} {B2}\nXem bài gốc tại đây",
    "link source": f"{B1} {B2}\nNguồn: https://example.vn/bai-viet-123.html",
    "SGGP": f"(SGGP)- {B1}\n{B2}", "NDO": f"NDO - {B1}\n{B2}", "HNM": f"HNM - {B1}\n{B2}",
    "caption - photographer": f"{B1}\nLực lượng chức năng làm việc tại hiện trường ở Công an TP.Đà Nẵng - Nguyễn Tú\n{B2}",
    "ẢNH CHỤP MÀN HÌNH": f"{B1}\nNgười dân xếp hàng mua xăng. ẢNH CHỤP MÀN HÌNH\n{B2}",
    "Ảnh minh hoạ:": f"{B1}\nẢnh minh hoạ: Cây xăng trên đường Láng\n{B2}",
    "Đồ họa:": f"{B1}\nĐồ họa: Minh Anh\n{B2}",
    "browser no video": f"{B1}\nTrình duyệt của bạn không hỗ trợ thẻ video.\n{B2}",
    "Trở lại Pháp luật": f"{B1}\n{B2}\nTrở lại Pháp luật",
    "VTV trân trọng": f"{B1}\n{B2}\nVTV.vn - Thời báo VTV trân trọng giới thiệu",
    "Bản quyền thuộc về": f"{B1}\n{B2}\nBản quyền thuộc về Báo Thời Sự",
    "Điều khoản sử dụng": f"{B1}\n{B2}\nĐiều khoản sử dụng",
    "Cơ quan của Bộ": f"{B1}\n{B2}\nCơ quan của Bộ Công Thương",
    "Tòa soạn": f"{B1}\n{B2}\nTòa soạn: 123 Lý Thường Kiệt, Hà Nội",
    "date then NLĐO": f"16:38:45 11/11/2013\n(NLĐO) – {B1}\n{B2}",
    "adsbygoogle": f"{B1}\n(adsbygoogle = window.adsbygoogle || []).push({{}});\n{B2}",
    "CDATA": f"{B1}\n//<![CDATA[ var x = 1; //]]>\n{B2}",
    "24h banner": f"{B1}\n24h-banner-in-image-close\n{B2}",
    "và 2 tác giả khác": f"{B1}\n{B2}\nMinh Anh và 2 tác giả khác",
    "MINH NGUYỆT (TTXVN/VIETNAM+)": f"{B1}\n{B2}\nMINH NGUYỆT (TTXVN/VIETNAM+)",
    "Dân trí charity": f"{B1}\n{B2}\nMọi sự giúp đỡ xin gửi về: Quỹ Nhân ái - Báo Dân trí",
    "Tham khảo:": f"{B1}\n{B2}\nTham khảo: Reuters, AFP",
    "(TTXVN/Vietnam+)": f"{B1}\n{B2}\n(TTXVN/Vietnam+)",
    "Liên hệ quảng cáo": f"{B1}\n{B2}\nLiên hệ quảng cáo: 0909 123 456",
    "Giấy phép 298": f"{B1}\n{B2}\nGiấy phép hoạt động báo điện tử số 298/GP-BTTTT",
}
# Left on purpose: a caption's "- Photographer" reads like a route ("Hà Nội - Lào Cai"); an
# unstopped caption after "Ảnh minh họa:" has no end in flattened text; cutting flattened text
# at "Điều khoản sử dụng" would truncate articles about terms of use.
KNOWN_FAILURES = {("caption - photographer", "lines"), ("caption - photographer", "flattened"),
                  ("Ảnh minh hoạ:", "flattened"), ("Điều khoản sử dụng", "flattened")}


def _params():
    for name, page in PAGES.items():
        for shape in ("lines", "flattened"):
            text = page if shape == "lines" else page.replace("\n", " ")
            marks = [pytest.mark.xfail(strict=True, reason="known miss")] if (name, shape) in KNOWN_FAILURES else []
            yield pytest.param(text, id=f"{name}-{shape}", marks=marks)


@pytest.mark.parametrize("text", list(_params()))
def test_outlet_noise_goes_and_the_body_stays(text):
    doc = clean_text(text)
    assert B1 in doc.text and B2 in doc.text, doc.text
    assert doc.text.replace(B1, "").replace(B2, "").strip() == "", doc.text
