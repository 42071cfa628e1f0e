"""Credits, bylines and press-release trailers as Taiwan's, Hong Kong's and Macau's pages print
them, read from whole pages by the real parser."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import lxml.html

from feeds.attribution import body_credit, find_author
from feeds.bodyprep import drop_tool_lines
from feeds.htmlpage import parse_article
from feeds.metaline import meta_element
from feeds.model import ParsedItem, Party
from feeds.sanitize import html_to_text
from feeds.selectors import ArticleRules, FieldSelector

PAGES = Path(__file__).resolve().parent / "fixtures" / "html"
TAIPEI = ZoneInfo("Asia/Taipei")
HONG_KONG = ZoneInfo("Asia/Hong_Kong")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=TAIPEI)


def article(name: str, tz: ZoneInfo = TAIPEI) -> ParsedItem:
    text = (PAGES / name).read_text(encoding="utf-8")
    return parse_article(text, url=f"https://news.example.tw/{name}", rules=None, tz=tz, now=NOW)


def test_taiwans_word_for_the_web_and_traditional_placeholders_name_nobody() -> None:
    """`來源：網路` was published as the origin, `作者：不詳` as the author, `來源：本網原創` as
    the origin: the placeholders were refused only as Simplified writes them."""
    item = article("tw_credit_placeholders.html")
    assert item.published == datetime(2026, 11, 29, 8, 0, tzinfo=TAIPEI)
    assert (item.author, item.origin) == (None, None)
    assert article("tw_credit_tv_byline.html").origin is None  # `來源：網路` in the meta line


def test_a_bracketed_reporters_byline_starting_the_body_is_the_author() -> None:
    assert article("tw_credit_ltn_byline.html").author == "王小明"  # 〔記者王小明／台北報導〕
    assert article("tw_credit_tv_byline.html").author == "陳美玲"  # 【記者陳美玲/台北報導】


def test_a_written_by_line_is_the_author() -> None:
    item = article("tw_credit_written_by.html")
    assert item.author == "林志明"  # `文／林志明　圖／陳美玲`
    assert dict(item.provenance)["author"] == "detected"


def test_a_wire_dateline_names_the_reporter_and_the_agency_not_the_editor() -> None:
    """CNA's `（中央社記者王小明台北29日電）` was ignored and its `（編輯：李大華）` published as
    the writer."""
    item = article("tw_credit_cna_dateline.html")
    assert (item.author, item.origin) == ("王小明", Party("中央社"))


def test_a_data_source_in_the_meta_line_is_the_origin() -> None:
    item = article("tw_credit_ey_data_source.html")
    assert item.origin == Party("內政部")
    assert item.published == datetime(2026, 11, 29, tzinfo=TAIPEI)


def test_a_data_source_line_ending_the_body_is_the_origin_a_figures_is_not() -> None:
    """A `資料來源：` line under a table mid-body credits the figure; one among the body's last
    lines credits the story."""
    assert article("tw_credit_closing_data_source.html").origin == Party("衛生福利部疾病管制署")
    assert article("tw_credit_figure_source.html").origin is None


def test_a_feed_items_closing_data_source_line_credits_it() -> None:
    html = "<p>衞生署提醒市民接種流感疫苗。</p><p>詳情請瀏覽網頁。</p><p>資料來源：香港01</p>"
    assert body_credit(html_to_text(html), html, None) == Party("香港01")


def test_a_hong_kong_press_release_is_dated_by_its_trailer_which_leaves_the_body() -> None:
    """The 政府新聞公報 template: the text ends `完`, the day and `香港時間15時30分`, which were
    published as the body's last lines while the release was dated when fetched."""
    item = article("hk_isd_press_release.html", HONG_KONG)
    assert item.published == datetime(2026, 11, 29, 15, 30, tzinfo=HONG_KONG)
    assert dict(item.provenance)["published"] == "detected"
    assert html_to_text(item.content_html).endswith("金融界人士參加。")
    assert "完" not in item.content_html
    assert "香港時間" not in item.content_html


def test_a_trailer_leaves_a_selected_body_too() -> None:
    """An operator's `content = "#pressrelease"` selected the trailer with the text, and the
    release ended `完 2026年11月29日（星期日） 香港時間15時30分`."""
    text = (PAGES / "hk_isd_press_release.html").read_text(encoding="utf-8")
    rules = ArticleRules(content=FieldSelector("#pressrelease"))
    item = parse_article(
        text, url="https://info.example.hk/a.htm", rules=rules, tz=HONG_KONG, now=NOW
    )
    assert dict(item.provenance)["content"] == "selector"
    assert item.published == datetime(2026, 11, 29, 15, 30, tzinfo=HONG_KONG)
    assert html_to_text(item.content_html).endswith("金融界人士參加。")
    assert "香港時間" not in item.content_html


def test_an_english_press_release_is_dated_by_its_trailer_which_leaves_the_body() -> None:
    item = article("hk_isd_press_release_en.html", HONG_KONG)
    assert item.published == datetime(2026, 11, 29, 15, 30, tzinfo=HONG_KONG)
    text = html_to_text(item.content_html)
    assert text.endswith("participants from around the world.")
    for trailer in ("Ends/", "HKT", "NNNN"):
        assert trailer not in text


def test_a_trailer_dates_a_page_whose_meta_line_only_credits_it() -> None:
    item = article("hk_isd_source_line.html", HONG_KONG)
    assert item.published == datetime(2026, 11, 29, 11, 45, tzinfo=HONG_KONG)
    assert item.origin == Party("運輸署")
    assert "香港時間" not in item.content_html


def test_a_trailer_in_paragraphs_is_cut_with_the_paragraphs_it_empties() -> None:
    item = article("hk_isd_paragraphs.html", HONG_KONG)
    assert item.published == datetime(2026, 11, 29, 16, 5, tzinfo=HONG_KONG)
    assert item.content_html.rstrip().endswith("及早求醫。</p>")


def test_a_trailer_the_text_goes_on_after_is_the_texts() -> None:
    item = article("hk_isd_quoted_end.html", HONG_KONG)
    assert item.published is None
    assert "香港時間15時30分" in item.content_html


def test_a_macau_meta_line_of_a_date_and_an_agency_dates_and_credits_the_page() -> None:
    """`2026-11-29 15:30　發佈機構：經濟及科技發展局` under the heading was no meta line."""
    item = article("hk_macau_gcs_meta.html", HONG_KONG)
    assert item.published == datetime(2026, 11, 29, 15, 30, tzinfo=HONG_KONG)
    assert item.origin == Party("經濟及科技發展局")
    assert "發佈機構" not in item.content_html


def _hostile_cost(size: int) -> float:
    """Seconds to read `size` repeats of `完` lines and of bylines that never close."""
    lines = "完<br>2026年11月29日（星期日）<br>" * size
    page = f'<div><h1>新聞公報</h1><div id="pressrelease">{lines}完<br>正文</div></div>'
    doc = lxml.html.fromstring(page)
    text = "（中央社記者" + "王" * (size * 8) + "〔記者王小明／" * (size // 2) + "文／" * (size * 2)
    started = time.process_time()
    assert meta_element(doc.find("h1")) is None
    drop_tool_lines(doc)
    assert find_author(text) is None
    return time.process_time() - started


def test_hostile_trailers_and_bylines_cost_little() -> None:
    """Up to 1 MB of `完` lines and of bylines that never close: read, and left, in time that
    grows with the text, not its square (compared at two sizes, not against a clock)."""
    small, large = _hostile_cost(5_000), _hostile_cost(40_000)
    assert large < small * 8 * 3 + 0.05  # eight times the text: linear, with room for noise
