"""Credits as portals print them: labelled, bracketed, piped, full- or half-width."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.attribution import (
    body_credit,
    clean_credit,
    find_author,
    find_origin,
    link_for,
    origin_party,
)
from feeds.charset import decode
from feeds.htmlpage import parse_article
from feeds.model import Party
from feeds.selectors import article_rules

PAGES = Path(__file__).resolve().parent / "fixtures" / "html"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)

SEED_META = "2022-1-14 17:50| 发布者: admin| 查看: 8| 评论: 0|来自: 汉中发布"


@pytest.mark.parametrize(
    ("text", "author"),
    [
        (SEED_META, "admin"),
        ("2022-1-14 17:50|\n  发布者: admin|\n  查看: 8|\n  评论: 0|来自: 汉中发布\n", "admin"),
        # The writer outranks the account that posted it.
        ("发布者: hz1w_bianji| 原作者: 王五| 来自: 汉中日报", "王五"),
        (
            "时间：2022-01-14 17:50:33\xa0\xa0来源：汉中日报\xa0\xa0作者：王五\xa0\xa0点击：126",
            "王五",
        ),
        ("（责任编辑：张三）", "张三"),
        ("【责任编辑：张三】", "张三"),
        ("（責任編輯：張三）", "張三"),
        ("编辑：李四 | 审核：王五", "李四"),
        ("作者:王五。", "王五"),
        ("来源：汉中日报作者：王五", "王五"),
        ("Author: Jane Doe  Source: Xinhua", "Jane Doe"),
        ("By Jane Doe, Staff Writer", "Jane Doe"),
        ("Written by John Roe", "John Roe"),
        # Taiwan's bylines, unlabelled: a reporter's, a writer's, a wire's dateline
        ("〔記者王小明／台北報導〕中央氣象署表示", "王小明"),
        ("【記者陳美玲/台北報導】台灣高鐵公司今天宣布", "陳美玲"),
        ("記者王小明／台北報導\n中央氣象署表示", "王小明"),
        ("〔記者王小明、陳美玲／綜合報導〕", "王小明"),
        ("文／林志明\n沿著迪化街一路向北", "林志明"),
        ("文/林志明　圖/陳美玲", "林志明"),
        ("文／John Smith", "John Smith"),
        ("（中央社記者王小明台北29日電）台北市政府今天宣布", "王小明"),
        ("（中央社記者王小明、陳美玲華盛頓28日專電）", "王小明"),
        ("（中央社記者王明、陳美玲台北29日電）", "王明"),
        # The writer in the dateline outranks the editor closing the story.
        ("（中央社記者王小明台北29日電）市府今天宣布。\n（編輯：李大華）1151129", "王小明"),
    ],
)
def test_find_author(text: str, author: str) -> None:
    assert find_author(text) == author


@pytest.mark.parametrize(
    "text",
    [
        "", "查看: 8| 评论: 0", "作者：", "作者： | 来源：", "the author of the book",
        "stand by me",
        # a byline's name is a name, not a sentence nor a word run on
        "他說記者王小明／台北報導", "記者王小明台北報導", "文／林志明攝影記者陳美玲",
        "發表中文/英文版本", "（中央社台北29日電）",
    ],
)  # fmt: skip
def test_find_author_gives_none_without_a_credit(text: str) -> None:
    assert find_author(text) is None


@pytest.mark.parametrize(
    "text",
    ["作者：佚名", "作者：未知", "作者: 匿名 | 编辑：", "作者：本站", "作者：不詳",
     "作者：本站原創", "作者：網路", "記者：佚名"],
)  # fmt: skip
def test_an_author_naming_nobody_is_no_author(text: str) -> None:
    assert find_author(text) is None


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        (SEED_META, "汉中发布"),
        ("此奖实现了汉中零的突破。(来源:汉中发布)", "汉中发布"),
        ("此奖实现了汉中零的突破。（来源：汉中发布）", "汉中发布"),
        ("【来源：汉中发布】", "汉中发布"),
        ("来源：汉中市人民政府 发布时间：2022年01月14日 17:50", "汉中市人民政府"),
        ("来源：汉中市人民政府发布时间：2022年01月14日", "汉中市人民政府"),
        ("稿源：汉中日报。", "汉中日报"),
        ("本文转载自：《汉中日报》", "汉中日报"),
        ("来源: 汉中发布微信公众号| 作者: 王五", "汉中发布微信公众号"),
        # The first credit in the text wins, whatever its label.
        ("来自: 汉中第一网 来源：汉中发布", "汉中第一网"),
        ("Source: Xinhua News Agency", "Xinhua News Agency"),
        # The verb without its colon; quotes around the name within the credit.
        ("本文转载自汉中发布微信公众号", "汉中发布微信公众号"),
        ("文章转自汉中日报，如有侵权请联系删除", "汉中日报"),
        ("来源：“汉中发布”微信公众号", "汉中发布微信公众号"),
        ("来源：《汉中日报》客户端", "汉中日报客户端"),
        # Traditional labels, the name as written
        ("發佈時間：2022-01-14 17:50:00 來源：漢中市人民政府", "漢中市人民政府"),
        ("（轉載自：漢中發佈）", "漢中發佈"),
        # A picture's or a figure's credit is not the story's.
        ("（图片来源：网络）\n本文转载自汉中发布", "汉中发布"),
        ("数据来源：国家统计局。来源：汉中发布", "汉中发布"),
        ("Originally published at https://blog.example.com/post.", "https://blog.example.com/post"),
        # A counter is a label whole, ending the name written flush against it.
        ("来源：汉中日报浏览次数：128", "汉中日报"),
        ("来源：汉中发布阅读量：3562", "汉中发布"),
        ("來源：漢中發佈訪問量：56", "漢中發佈"),
        # The agency a government disclosure page names as publishing or issuing it
        (
            "索引号：11610700MB29X/2026-01234 发布机构：汉中市财政局 成文日期：2026-10-08",
            "汉中市财政局",
        ),
        ("发文机关：汉中市人民政府办公室发布日期：2026-11-25", "汉中市人民政府办公室"),
        ("發佈機構：漢中市財政局", "漢中市財政局"),
        ("發布機構：漢中市財政局", "漢中市財政局"),
        ("发布单位：汉台区教育体育局 来源：汉中日报", "汉中日报"),  # a credit outranks it
        # A wire's dateline names the agency.
        ("（中央社記者王小明台北29日電）台北市政府今天宣布", "中央社"),
        ("（中央社台北29日電）台北市政府今天宣布", "中央社"),
        ("（中央社記者王小明、陳美玲華盛頓28日專電）", "中央社"),
    ],
)
def test_find_origin(text: str, origin: str) -> None:
    assert find_origin(text) == origin


@pytest.mark.parametrize(
    "text",
    ["", "来源：", "（来源：）", "open source software", "来源于网络", "图片来源：网络",
     "照片来自：张三", "资料来源：国家统计局", "视频来源：汉中发布",
     # placeholders that name nobody: the web, this site, unknown
     "来源：网络", "来源：本站原创", "来源：互联网", "来源：佚名",
     # and as Traditional writes them, Taiwan's `網路` (网络) and `網際網路` (互联网) too
     "來源：網路", "（來源：網路）", "来源：网路", "來源：網絡", "來源：本網原創", "來源：本站原創",
     "來源：不詳", "來源：網際網路", "来源：互聯網",
     # a figure's or a table's credit, in running text
     "資料來源：主計總處", "圖表一 資料來源：主計總處",
     # a name a script writes, read as empty; a label is no name
     "发布时间：2026-11-27 16:00 信息来源： 浏览次数： 【字体：大 中 小】",
     "来源：点击数：12", "来源：浏览量", "來源：瀏覽次數：12", "来源：评论数：0"],
)  # fmt: skip
def test_find_origin_gives_none_without_a_credit(text: str) -> None:
    assert find_origin(text) is None


def test_a_meta_lines_data_source_is_the_origin() -> None:
    assert origin_party("發布日期：2026-11-29 資料來源：內政部") == Party("內政部")
    assert origin_party("资料来源：国家统计局") == Party("国家统计局")
    assert origin_party("來源：行政院 資料來源：內政部") == Party("行政院")  # the first credit


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("疾管署今天表示。\n疾管署呼籲。\n資料來源：衛生福利部疾病管制署", "衛生福利部疾病管制署"),
        ("甲。\n乙。\n丙。\n丁。\n（資料來源：香港01）\n", "香港01"),
        ("甲。\n乙。\n丙。\n丁。\n资料来源：汉中发布", "汉中发布"),
        # a whole line only, among the last three, not a figure's in the text
        ("甲。\n資料來源：主計總處\n乙。\n丙。\n丁。\n戊。", None),
        ("甲。\n乙。\n丙。\n丁。\n下表資料來源：主計總處", None),
        ("甲。\n乙。\n丙。\n丁。\n資料來源：主計總處，經本報整理", None),
        # a credit in the edges outranks it
        ("（來源：漢中日報）甲。\n乙。\n丙。\n丁。\n資料來源：主計總處", "漢中日報"),
    ],
)
def test_a_data_source_line_ending_a_body_is_its_origin(text: str, origin: str | None) -> None:
    expected = Party(origin) if origin else None
    assert body_credit(text, "<p>x</p>", None) == expected


def test_an_implausibly_long_value_is_not_a_credit() -> None:
    assert find_origin("来源：" + "很" * 61) is None


@pytest.mark.parametrize(
    ("value", "credit"),
    [
        ("admin|", "admin"),
        ("汉中发布", "汉中发布"),
        (" (汉中发布) ", "汉中发布"),
        ("汉中发布  2022-01-14", "汉中发布"),
        ("《汉中日报》。", "汉中日报"),
        ("“汉中发布”微信公众号", "汉中发布微信公众号"),
        ("", None),
        (None, None),
        ("|", None),
        # `(\S+)` after a label on DedeCMS's line, where labels and values run together
        ("张三点击：次", "张三"),
        ("汉中发布作者：张三点击：次", "汉中发布"),
        ("城固县融媒体中心作者:赵六点击:次", "城固县融媒体中心"),
        ("來源：漢中日報", "漢中日報"),
        ("信息来源：汉中市人民政府", "汉中市人民政府"),
        ("浏览次数：", None),
        ("來源：網路", None),
        ("不詳", None),
    ],
)
def test_clean_credit(value: str | None, credit: str | None) -> None:
    assert clean_credit(value) == credit


LINKS = [
    ("admin", "http://www.example.net/home.php?mod=space&uid=1"),
    ("返回", "javascript:history.back()"),
    (" 汉中发布 ", "https://mp.weixin.qq.com/s/Hzfb20220114cxcs"),
    ("汉中日报电子版", "https://epaper.example.org/hzrb/"),
]


def test_link_for_prefers_an_exact_name_then_containment() -> None:
    assert link_for("汉中发布", LINKS) == "https://mp.weixin.qq.com/s/Hzfb20220114cxcs"
    assert link_for("汉中日报", LINKS) == "https://epaper.example.org/hzrb/"
    assert link_for("返回", LINKS) is None  # not a web URL
    assert link_for("汉中市人民政府", LINKS) is None


def test_origin_party_names_the_linked_origin() -> None:
    assert origin_party(SEED_META, LINKS) == Party(
        "汉中发布", "https://mp.weixin.qq.com/s/Hzfb20220114cxcs"
    )
    assert origin_party("(来源:汉中发布)") == Party("汉中发布")
    assert origin_party("没有出处的文字", LINKS) is None


def test_an_origin_given_as_a_url_is_named_by_its_host() -> None:
    assert origin_party("Originally published at https://blog.example.com/post") == Party(
        "blog.example.com", "https://blog.example.com/post"
    )


@pytest.mark.parametrize("credit", ["http://新闻／汉中", "https://a.example／x", "http://汉中＠x"])
def test_a_credited_address_with_fullwidth_punctuation_is_a_name(credit: str) -> None:
    """`urlsplit` refuses a host holding "／", "？" or "＠" (NFKC makes them "/", "?", "@"): an
    article page crediting one failed as an internal error. Found by fuzzing the credit text."""
    assert origin_party(f"来源：{credit}", [("链接", credit)]) == Party(credit)


def test_a_source_a_script_writes_gives_way_to_the_pages_content_source() -> None:
    """TRS/VSB government templates write `信息来源：` by script, before `浏览次数：`: the line
    names nobody, so `<meta name="ContentSource">` does. The counter was taken for the name."""
    url = "http://www.hanzhong.gov.example/info/1234/56789.htm"
    text = (PAGES / "cms_gov_script_source.html").read_text(encoding="utf-8")
    item = parse_article(text, url=url, rules=None, tz=SHANGHAI, now=NOW)
    assert item.title == "市政府召开常务会议 研究部署冬春季节重点工作"
    assert item.published == datetime(2026, 11, 27, 16, 0, tzinfo=SHANGHAI)
    assert item.origin == Party("汉中日报")
    assert dict(item.provenance)["origin"] == "automatic"
    assert item.author is None


def test_the_readmes_credit_patterns_read_a_dedecms_info_line() -> None:
    """DedeCMS's stock `<small>时间：</small>…<small>来源：</small>汉中发布<small>作者：</small>张三
    <small>点击：</small><script>…</script>次` has no space between labels and values."""
    rules = article_rules(
        {
            "title": "div.viewbox div.title h2",
            "content": "div.viewbox div.content",
            "published": "div.viewbox div.info",
            "author": {"css": "div.viewbox div.info", "regex": r"作者[:：]\s*(\S+)"},
            "origin": {"css": "div.viewbox div.info", "regex": r"来源[:：]\s*(\S+)"},
        },
        path="sources[1].article",
    )
    page = decode((PAGES / "cms_dede_info_line.gbk.html").read_bytes()).text
    url = "http://www.hzzx.example/a/xinwen/2026/1127/1234.html"
    item = parse_article(page, url=url, rules=rules, tz=SHANGHAI, now=NOW)
    assert (item.author, item.origin) == ("张三", Party("汉中发布"))
    assert item.published == datetime(2026, 11, 27, 9, 30, tzinfo=SHANGHAI)
    assert dict(item.provenance)["author"] == dict(item.provenance)["origin"] == "selector"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("本报记者 王伟 通讯员 李明", "王伟、李明"),
        ("作者：本报记者 王伟", "王伟"),
        ("记者王伟", "王伟"),
        ("记者站", "记者站"),  # a word starting with a role, no byline
        ("本报记者 王伟摄", "本报记者 王伟摄"),  # a photograph's credit
    ],
)
def test_a_selected_byline_loses_its_reporters_roles(text: str, names: str) -> None:
    assert clean_credit(text) == names
