"""HTML sources end to end on hand-written pages: a Discuz! X portal (GBK), a government CMS,
WeChat, a JSON-LD news site, a page that lies about its charset, and a hostile page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import trafilatura

from feeds.articlemerge import merge_article
from feeds.charset import decode
from feeds.errors import ParseError
from feeds.htmlpage import ArticlePage, article_from, parse_article, read_article_page
from feeds.listpage import ListPage, parse_list_page
from feeds.model import ParsedItem, Party
from feeds.sanitize import html_to_text
from feeds.selectors import ArticleRules, FieldSelector, article_rules, list_rules

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "html"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2022, 1, 15, 12, 12, tzinfo=SHANGHAI)
LIST_URL = "http://www.example.net/portal.php?mod=list&catid=1"
ARTICLE_URL = "http://www.example.net/article-123-1.html"

# The config of SPEC §3, as the config loader hands it over.
DISCUZ_LIST = list_rules(
    {
        "item": "div.xld dl",
        "link": "dt a",
        "title": "dt a",
        "summary": "dd.xs2",
        "published": "dd .xg1",
    },
    path="sources[1].list",
)
DISCUZ_ARTICLE = article_rules(
    {
        "title": "h1.ph",
        "content": "td#article_content",
        "summary": "div.s",
        "published": "p.xg1",
        "author": {"css": "p.xg1", "regex": r"发布者[:：]\s*(\S+)"},
        "origin": {"css": "p.xg1", "regex": r"来自[:：]\s*(\S+)"},
        "remove": [".a_af", "script", "style"],
    },
    path="sources[1].article",
)

SEED_FIRST = "2021年12月31日,汉中市又新增一项国字号荣誉——汉中市被科技部命名为“国家创新型城市”。"
SEED_LAST = (
    "■长期培育的陕西航空硬质合金工具有限责任公司,参与完成项目荣获国家技术发明二等奖,"
    "此奖实现了汉中零的突破。(来源:汉中发布)"
)
SEED_SUMMARY = (
    SEED_FIRST + " 近年来,汉中市委、市政府高度重视国家创新型城市建设工作,"
    "将其列入党代会和历年政府工作报告中,确保一以贯之 ..."
)
NOT_CONTENT = ("广告", "鲜花", "握手", "雷人", "路过", "鸡蛋", "相关阅读", "最新评论", "汉中加油",
               "发布者", "<script", "zoomstatus", "收藏", "上一篇")  # fmt: skip


def load(name: str, header_charset: str | None = None) -> str:
    return decode((FIXTURES / name).read_bytes(), header_charset=header_charset).text


def lines(item: ParsedItem) -> list[str]:
    return html_to_text(item.content_html).split("\n")


def at(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2022, 1, day, hour, minute, second, tzinfo=SHANGHAI)


def test_fixtures_are_gbk_as_declared() -> None:
    for name in ("discuz_list.gbk.html", "discuz_article.gbk.html", "discuz_article2.gbk.html"):
        decoded = decode((FIXTURES / name).read_bytes())
        assert (decoded.charset, decoded.how) == ("gb18030", "meta")


def test_discuz_list_page() -> None:
    # Fetched on another host and folder: links follow the page's <base href>.
    page = parse_list_page(
        load("discuz_list.gbk.html"),
        url="http://example.net/mirror/list.php",
        rules=DISCUZ_LIST,
        tz=SHANGHAI,
        now=NOW,
    )
    selected = tuple((name, "selector") for name in ("url", "title", "summary", "published"))
    assert page == ListPage(
        items=(
            ParsedItem(
                title="汉中又新增一项国字号荣誉!",
                url=ARTICLE_URL,
                summary=SEED_FIRST + " 近年来,汉中市委、市政府高度重视国家创新型城市建设工作 ...",
                published=at(14, 17, 50),
                provenance=selected,
            ),
            ParsedItem(
                title="汉中市发布寒潮蓝色预警",
                url="http://www.example.net/article-125-1.html",
                summary="汉中市气象台2022年1月15日09时12分发布寒潮蓝色预警信号：受强冷空气影响，"
                "预计未来48小时我市大部分地区气温将下降8℃以上 ...",
                published=at(15, 9, 12),  # "3 小时前"
                provenance=selected,
            ),
            ParsedItem(
                title="12家A级景区冬季惠民 门票半价",
                url="http://www.example.net/article-124-1.html",
                summary="1月13日，记者从市文化和旅游局获悉，汉中市龙头山景区、黎坪景区、华阳景区等"
                "12家A级旅游景区推出冬季惠民活动 ...",
                published=at(13, 9, 15),
                provenance=selected,
            ),
            # The pinned repeat of article 123 and the javascript: item are skipped.
            ParsedItem(
                title="汉中市召开2022年全市科技工作会议",
                url="http://www.example.net/article-120-1.html",
                summary="1月10日，全市科技工作会议召开。会议总结2021年工作，部署2022年“科技创新年”"
                "重点任务 ...",
                published=at(10, 16, 30),
                provenance=selected,
            ),
        ),
        next_page="http://www.example.net/portal.php?mod=list&catid=1&page=2",
    )


def test_a_relative_list_date_gives_way_to_the_calendar_date_in_its_title() -> None:
    """Discuz! X prints `3 小时前` and keeps the date in the span's title: read hours later, the
    item keeps its date (it moved with every fetch, and its article was read again each time)."""
    text = load("discuz_list.gbk.html")
    for now in (NOW, NOW + timedelta(hours=5)):
        page = parse_list_page(text, url=LIST_URL, rules=DISCUZ_LIST, tz=SHANGHAI, now=now)
        assert page.items[1].published == at(15, 9, 12), now


@pytest.mark.parametrize(
    ("cell", "published"),
    [
        ('<span title="2022-1-15 08:40">3 小时前</span>', at(15, 8, 40)),
        ('<time datetime="2022-01-15T08:40:00+08:00">3 hours ago</time>', at(15, 8, 40)),
        ('<span title="昨天 09:12">2022-1-13 08:00</span>', at(13, 8, 0)),  # the text is exact
        ('<span title="2022-1-14 08:00">昨天 17:50 改于 2022-1-15 09:00</span>', at(14, 8, 0)),
        ('<span title="发布于 2 小时前">3 小时前</span>', NOW - timedelta(hours=3)),
        ('<span title="热门文章">3 小时前</span>', NOW - timedelta(hours=3)),
        ("<span>昨天 17:50</span>", at(14, 17, 50)),
        ('<span title="not a date">no date</span>', None),
    ],
)
def test_list_dates_prefer_a_calendar_date(cell: str, published: datetime | None) -> None:
    page = f'<div class="xld"><dl><dt><a href="/a-1.html">A</a></dt><dd class="d">{cell}</dd></dl>'
    rules = list_rules({"item": "div.xld dl", "link": "dt a", "published": "dd.d"}, path="l")
    listed = parse_list_page(page, url=LIST_URL, rules=rules, tz=SHANGHAI, now=NOW)
    assert listed.items[0].published == published


WHOLE = "汉中市召开2022年全市科技工作会议"


@pytest.mark.parametrize(
    ("link", "title"),
    [
        (f'<a href="/a-1.html" title="{WHOLE}">汉中市召开2022年全市...</a>', WHOLE),
        (f'<a href="/a-1.html" title=" {WHOLE} ">汉中市召开2022年…</a>', WHOLE),
        (f'<a href="/a-1.html"><span title="{WHOLE}">汉中市召开..</span></a>', WHOLE),
        (
            '<a href="/a-1.html" title="点击查看">汉中市召开2022年全市...</a>',
            "汉中市召开2022年全市...",
        ),
        (
            '<a href="/a-1.html" title="汉中市">汉中市召开2022年全市...</a>',
            "汉中市召开2022年全市...",
        ),
        (f'<a href="/a-1.html" title="{WHOLE}">汉中科技会议</a>', "汉中科技会议"),
        ('<a href="/a-1.html" title="...">...</a>', "..."),
    ],
)
def test_a_title_the_list_cut_short_is_read_whole_from_its_title_attribute(
    link: str, title: str
) -> None:
    page = f'<ul class="list"><li>{link}</li></ul>'
    for rules in ({"item": "ul.list li", "link": "a"}, {"item": "li", "link": "a", "title": "a"}):
        listed = parse_list_page(
            page, url=LIST_URL, rules=list_rules(rules, path="l"), tz=SHANGHAI, now=NOW
        )
        assert listed.items[0].title == title


@pytest.mark.parametrize(
    ("shown", "summary"),
    [
        ("全市营商环境建设推进会召开 ...[详细]", "全市营商环境建设推进会召开 ..."),
        ("全市营商环境建设推进会召开。 【查看全文】 ", "全市营商环境建设推进会召开。"),
        ("全市营商环境建设推进会召开。阅读全文>>", "全市营商环境建设推进会召开。"),
        ("全市营商环境建设推进会召开。 详情 »", "全市营商环境建设推进会召开。"),
        ("The council met on Monday. Read more →", "The council met on Monday."),
        ("The council met on Monday. (more)", "The council met on Monday."),
        # a summary's own last words stay
        ("为企业提供更多", "为企业提供更多"),
        ("We need to read more", "We need to read more"),
        ("会议听取了详细", "会议听取了详细"),
        ("[详细]", ""),
    ],
)
def test_a_list_summary_loses_the_link_to_the_article_after_it(shown: str, summary: str) -> None:
    page = f'<ul class="list"><li><a href="/a-1.html">A</a><p>{shown}</p></li></ul>'
    rules = list_rules({"item": "ul.list li", "link": "a", "summary": "p"}, path="l")
    listed = parse_list_page(page, url=LIST_URL, rules=rules, tz=SHANGHAI, now=NOW)
    assert listed.items[0].summary == summary


def test_list_page_next_link_by_selector_and_minimal_rules() -> None:
    rules = list_rules(
        {"item": "div.xld dl", "link": "dt a", "next_page": "div.pg a.last"}, path="l"
    )
    page = parse_list_page(
        load("discuz_list.gbk.html"), url=LIST_URL, rules=rules, tz=SHANGHAI, now=NOW
    )
    assert page.next_page == "http://www.example.net/portal.php?mod=list&catid=1&page=12"
    # Without a title selector the link's text is the title.
    assert [(i.title, i.summary, i.published) for i in page.items[:1]] == [
        ("汉中又新增一项国字号荣誉!", "", None)
    ]
    assert page.items[0].provenance == (("url", "selector"), ("title", "selector"))


def test_list_items_leading_back_to_the_list_are_no_articles() -> None:
    """Pinned notices and members-only items link `#`, `#top` or the list itself: read as
    articles, the list page was published as one, its pager as the article's next page."""
    rules = list_rules({"item": "div.xld dl", "link": "dt a"}, path="l")
    page = parse_list_page(
        load("discuz_list_pinned.gbk.html"), url=LIST_URL, rules=rules, tz=SHANGHAI, now=NOW
    )
    assert [item.url for item in page.items] == [
        "http://www.example.net/article-5316-1.html",
        "http://www.example.net/article-5317-1.html",
    ]


def test_list_page_without_matches_is_empty() -> None:
    rules = list_rules({"item": "ul.news li", "link": "a"}, path="l")
    page = parse_list_page(
        load("gov_article.html"), url=LIST_URL, rules=rules, tz=SHANGHAI, now=NOW
    )
    assert page == ListPage(items=(), next_page=None)


def check_seed_article(item: ParsedItem) -> None:
    assert item.title == "汉中又新增一项国字号荣誉!"
    assert item.url == ARTICLE_URL
    assert item.published == at(14, 17, 50)
    assert item.published.utcoffset() == timedelta(hours=8)
    assert item.author == "admin"
    assert item.origin == Party("汉中发布", "https://mp.weixin.qq.com/s/Hzfb20220114cxcs")
    assert item.summary == SEED_SUMMARY
    assert item.site_name == "汉中第一网"
    body = lines(item)
    assert (body[0], body[-1], len(body)) == (SEED_FIRST, SEED_LAST, 36)
    assert body[2:4] == [
        "2015年4月",
        "汉中市召开全市创新型城市建设动员大会,提出加快科技创新步伐、建设创新型城市的目标。",
    ]
    image = '<img src="http://www.example.net/data/attachment/portal/202201/14/175012d8h9z8o8ppo0xgux.jpg"'
    assert image in item.content_html
    for unwanted in NOT_CONTENT:
        assert unwanted not in item.content_html


SEED_FIELDS = ("title", "content", "summary", "published", "author", "origin")


@pytest.mark.parametrize(
    ("rules", "found_by"),
    [
        (DISCUZ_ARTICLE, ("selector",) * 6),
        (None, ("automatic",) * 3 + ("detected",) * 3),
    ],
    ids=["selectors", "without-selectors"],
)
def test_seed_article(rules: ArticleRules | None, found_by: tuple[str, ...]) -> None:
    item = parse_article(
        load("discuz_article.gbk.html"), url=ARTICLE_URL, rules=rules, tz=SHANGHAI, now=NOW
    )
    check_seed_article(item)
    assert item.provenance == (*zip(SEED_FIELDS, found_by, strict=True), ("site_name", "automatic"))


def test_remove_selectors_apply_to_content_only() -> None:
    rules = article_rules({"content": "td#article_content", "remove": ["strong"]}, path="a")
    item = parse_article(
        load("discuz_article.gbk.html"), url=ARTICLE_URL, rules=rules, tz=SHANGHAI, now=NOW
    )
    assert "2015年4月" not in item.content_html
    assert "【广告】汉中旅游年卡" in item.content_html  # not removed: .a_af is not listed
    assert item.summary == SEED_SUMMARY  # the <strong>摘要</strong> outside the content stays


def test_second_discuz_article_declared_gb2312_with_gbk_characters() -> None:
    text = load("discuz_article2.gbk.html")
    url = "http://www.example.net/article-124-1.html"
    selected = parse_article(text, url=url, rules=DISCUZ_ARTICLE, tz=SHANGHAI, now=NOW)
    automatic = parse_article(text, url=url, rules=None, tz=SHANGHAI, now=NOW)
    for item in (selected, automatic):
        assert item.title == "12家A级景区冬季惠民 门票半价"
        assert item.published == at(13, 9, 15)
        assert item.origin == Party("汉中日报")
        assert "吴喆" in item.content_html
        assert "（汉中日报记者 王五 通讯员 李堃）" in lines(item)
        # A lazy image (data-original) gets its real source, made absolute.
        lazy = "http://www.example.net/data/attachment/portal/202201/13/091502qk5yv1n3zq1fy1nn.jpg"
        assert (
            f'<img src="{lazy}" alt="龙头山雪景" referrerpolicy="no-referrer">' in item.content_html
        )
        assert "none.gif" not in item.content_html
    # The selector reads the poster; automatic extraction prefers the original author.
    assert (selected.author, automatic.author) == ("hz1w_bianji", "王五")
    assert "<td>龙头山景区</td>" in selected.content_html


@pytest.mark.parametrize(
    ("name", "origin"),
    [("gov_meta_above_title.html", Party("城固县文化馆")), ("gov_date_line.html", None)],
)
def test_the_page_is_dated_by_its_meta_line_not_by_a_time_in_its_body(
    name: str, origin: Party | None
) -> None:
    """A notice's body says `报名时间：2022年3月1日`; its page's date is the line above the
    title (a county site's layout) or a date alone under it (full-width, typed by an IME)."""
    url = "https://gov.example.org/zwgk/202201/t20220114_125.html"
    item = parse_article(load(name), url=url, rules=None, tz=SHANGHAI, now=NOW)
    assert item.title == "城固县文化馆举办春节书画培训班的通知"
    assert item.published == at(14, 17, 50)
    assert item.origin == origin
    assert "报名时间：2022年3月1日至3月10日" in item.content_html


def test_a_relative_meta_line_date_gives_way_to_the_calendar_date_in_its_title() -> None:
    """Automatic extraction reads the meta line as the `published` selector does: 3 hours
    ago, in the page's own words, is the date its `title` attribute holds."""
    text = load("discuz_article.gbk.html").replace(
        "2022-1-14 17:50", '<span title="2022-1-14 17:50">3&nbsp;小时前</span>', 1
    )
    item = parse_article(text, url=ARTICLE_URL, rules=None, tz=SHANGHAI, now=NOW)
    assert item.published == at(14, 17, 50)


def test_a_portal_softwares_makers_are_no_author() -> None:
    """Every Discuz! page says `<meta name="author" content="Discuz! Team and Comsenz UI
    Team">`: without 发布者 in its meta line, an article has no author, not them."""
    text = load("discuz_article.gbk.html").replace("发布者: ", "")
    item = parse_article(text, url=ARTICLE_URL, rules=None, tz=SHANGHAI, now=NOW)
    assert item.author is None
    assert item.origin is not None
    assert item.origin.name == "汉中发布", "the line is still read"


def test_government_cms_article() -> None:
    url = "https://gov.example.org/hzszf/zwzx/szyw/202201/t20220114_1234567.html"
    item = parse_article(load("gov_article.html"), url=url, rules=None, tz=SHANGHAI, now=NOW)
    assert item.title == "汉中市召开2022年全市科技工作会议"
    assert item.published == at(14, 17, 50)
    assert item.author == "张三"
    assert item.origin == Party("汉中市人民政府")
    assert item.site_name == "汉中市人民政府"
    assert (
        item.summary
        == "1月14日，全市科技工作会议召开，总结2021年科技工作，安排部署2022年重点任务。"
    )
    assert lines(item)[0] == (
        "1月14日，全市科技工作会议召开。会议总结2021年全市科技工作，分析当前面临的形势，"
        "安排部署2022年重点任务。"
    )
    assert lines(item)[-1].endswith("取得新成效。")  # （责任编辑：张三） cut
    image = "https://gov.example.org/hzszf/zwzx/szyw/202201/W020220114575012345678.jpg"
    assert f'<img src="{image}"' in item.content_html
    for unwanted in ("打印本页", "相关文章", "document.write", "字号", "浏览次数"):
        assert unwanted not in item.content_html
    assert dict(item.provenance) == {
        "title": "automatic",
        "content": "automatic",
        "summary": "automatic",
        "published": "automatic",
        "author": "detected",
        "origin": "detected",
        "site_name": "automatic",
    }


def test_wechat_article() -> None:
    url = "https://mp.weixin.qq.com/s/Hzfb20220114cxcs"
    item = parse_article(load("wechat_article.html"), url=url, rules=None, tz=SHANGHAI, now=NOW)
    assert item.title == "汉中又新增一项国字号荣誉!"
    assert item.published == at(14, 17, 50)  # var ct = "1642153800"
    assert item.author == "李四"
    assert item.origin == Party("汉中市科技局")
    assert item.site_name == "汉中发布"
    assert item.summary == "汉中市被科技部命名为“国家创新型城市”"
    assert lines(item)[0] == SEED_FIRST.replace(",", "，")
    assert lines(item)[-1] == "来源：汉中市科技局"  # its staff credits cut, the editor the author
    assert re.findall(r'<img src="([^"]+)"', item.content_html) == [
        "https://mmbiz.qpic.cn/mmbiz_jpg/Hz1wFakeImg1/640?wx_fmt=jpeg",
        "https://mmbiz.qpic.cn/mmbiz_png/Hz1wFakeImg2/640?wx_fmt=png",
    ]
    for unwanted in ("data-src", "微信扫一扫", "投诉", "visibility"):
        assert unwanted not in item.content_html


def test_wechat_article_with_a_content_selector() -> None:
    rules = article_rules({"content": "#js_content", "title": "#activity-name"}, path="a")
    url = "https://mp.weixin.qq.com/s/Hzfb20220114cxcs"
    item = parse_article(load("wechat_article.html"), url=url, rules=rules, tz=SHANGHAI, now=NOW)
    assert item.title == "汉中又新增一项国字号荣誉!"
    assert item.content_html.count('<img src="https://mmbiz.qpic.cn/') == 2


def test_json_ld_and_opengraph_article() -> None:
    url = "https://news.example.com/2022/01/14/hbn-railway.html"
    item = parse_article(load("jsonld_article.html"), url=url, rules=None, tz=SHANGHAI, now=NOW)
    offset = timezone(timedelta(hours=8))
    assert item.title == "汉巴南铁路汉中段建设最新进展"  # og:title without " | 秦巴新闻网"
    assert item.published == datetime(2022, 1, 14, 9, 30, tzinfo=offset)
    assert item.updated == datetime(2022, 1, 14, 11, 5, tzinfo=offset)
    assert item.author == "赵六"
    assert item.origin == Party("陕西日报")
    assert item.site_name == "秦巴新闻网"
    assert (
        item.summary == "汉中至巴中至南充铁路汉中段桥隧施工全面提速，全线预计2024年具备通车条件。"
    )
    assert lines(item)[0].startswith("记者从中铁二十局汉巴南铁路项目部获悉")  # no repeated title
    assert lines(item)[-1] == "（来源：陕西日报）"
    assert '<img src="https://news.example.com/uploads/2022/01/hbn-bridge.jpg"' in item.content_html
    for unwanted in ("关于我们", "相关新闻", "分享", "©"):
        assert unwanted not in item.content_html
    assert dict(item.provenance)["author"] == "automatic"


def test_page_that_declares_utf8_but_is_gbk() -> None:
    decoded = decode((FIXTURES / "lying_charset.html").read_bytes(), header_charset="utf-8")
    assert (decoded.charset, decoded.how) == ("gb18030", "detected")
    item = parse_article(
        decoded.text, url="http://ht.example.net/a/1.html", rules=None, tz=SHANGHAI, now=NOW
    )
    assert item.title == "南郑区举办2022年迎新春书画展"  # the meta line inside the <h1> is not
    assert item.published == at(14, 17, 50, 33)
    assert item.author == "王五"
    assert item.origin == Party("汉中日报")
    assert lines(item) == [
        "1月14日，南郑区2022年迎新春书画展在区文化馆开幕。本次展览共展出书法、国画、篆刻作品120余幅，"
        "作者涵盖老中青三代书画爱好者。",
        "展出作品以喜迎新春、礼赞家乡为主题，既有笔力遒劲的书法作品，也有描绘秦巴山水、汉江风光的"
        "国画佳作，充分展现了南郑区书画艺术的发展成果。",
        "据了解，展览将持续至1月24日，市民可免费参观。",
    ]


UNSAFE = re.compile(r"<script|<svg|<math|<object|<embed|<form|<input|javascript:|vbscript:|data:"
                    r"|\son\w+\s*=|style=|evil\.example", re.IGNORECASE)  # fmt: skip


@pytest.mark.parametrize("rules", [article_rules({"content": "#content"}, path="a"), None])
def test_hostile_page_is_sanitised(rules: ArticleRules | None) -> None:
    item = parse_article(
        load("hostile.html"),
        url="https://bad.example.net/p/1.html",
        rules=rules,
        tz=SHANGHAI,
        now=NOW,
        iframe_hosts={"player.example.org"},
    )
    assert UNSAFE.search(item.content_html) is None, item.content_html
    assert lines(item)[0] == "第一段：这是正常的正文文字，用于确认净化后的内容仍然保留。"
    assert lines(item)[-1] == "最后一段：正常文字结束。"
    assert (item.title, item.author, item.origin) == ("恶意页面测试", "坏人", Party("可疑来源"))
    assert item.published == at(14, 17, 50)
    assert (
        '<img src="https://bad.example.net/p/x.jpg" alt="坏图" referrerpolicy="no-referrer">'
        in item.content_html
    )
    if rules is not None:  # only a selector keeps iframes, and only from listed hosts
        assert '<iframe src="https://player.example.org/embed/42"' in item.content_html


XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@pytest.mark.parametrize("rules", [article_rules({"content": "#content"}, path="a"), None])
def test_references_to_forbidden_characters_and_a_broken_base_are_dropped(
    rules: ArticleRules | None,
) -> None:
    """libxml2 decodes `&#1;` (with or without `;`) into the tree, where lxml then refuses to
    write a link holding it; lxml's link rewriting read `<base href="http://[broken/">`."""
    item = parse_article(
        load("broken_references.html"),
        url="https://bad.example.net/p/1.html",
        rules=rules,
        tz=SHANGHAI,
        now=NOW,
    )
    fields = [item.title, item.author or "", item.content_html, item.summary]
    assert [field for field in fields if XML_FORBIDDEN.search(field)] == []
    assert (item.title, item.author) == ("引用损坏测试", "小王")
    assert lines(item)[0] == "第一段正文文字，用于确认净化。"
    assert lines(item)[-1] == "最后一段：汉中正常文字结束。"
    assert '<a href="http://example.org/ab.html"' in item.content_html
    assert (
        '<img src="https://bad.example.net/p/pic.jpg" alt="图" referrerpolicy="no-referrer">'
        in item.content_html
    )
    assert "坏地址" in item.content_html
    assert "[::1" not in item.content_html


def test_deep_nesting_does_not_crash() -> None:
    depth = 100_000
    text = (
        "<html><head><title>深层嵌套 - 测试站</title>"
        f'<script type="application/ld+json">{"[" * depth}{"]" * depth}</script></head><body>'
        f"{'<div>' * depth}<p>很深的正文。</p>{'</div>' * depth}</body></html>"
    )
    item = parse_article(text, url="http://x.example/a", rules=None, tz=SHANGHAI, now=NOW)
    assert item.title == "深层嵌套"  # libxml2 stops building at depth 256: the rest is lost
    page = parse_list_page(text, url="http://x.example/a", rules=DISCUZ_LIST, tz=SHANGHAI, now=NOW)
    assert page == ListPage(items=())


@pytest.mark.parametrize("text", ["", "  \n ", "\x00\x01"])
def test_an_empty_document_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match=r"^http://x\.example/a: empty document$"):
        parse_article(text, url="http://x.example/a", rules=None, tz=SHANGHAI, now=NOW)


def test_xhtml_with_an_encoding_declaration() -> None:
    text = '<?xml version="1.0" encoding="gbk"?><html><body><h1>标题</h1><p>正文</p></body></html>'
    item = parse_article(text, url="http://x.example/a", rules=None, tz=SHANGHAI, now=NOW)
    assert item.title == "标题"


def test_lazy_image_attributes() -> None:
    text = '<html><body><div id="c"><img src="blank.gif" data-lazy-src="/real.png"></div></body>'
    rules = article_rules({"content": "#c"}, path="a")
    item = parse_article(text, url="http://x.example/a/b", rules=rules, tz=SHANGHAI, now=NOW)
    assert item.content_html == '<img src="http://x.example/real.png" referrerpolicy="no-referrer">'


def test_merge_article() -> None:
    listed = parse_list_page(
        load("discuz_list.gbk.html"), url=LIST_URL, rules=DISCUZ_LIST, tz=SHANGHAI, now=NOW
    ).items[0]
    redirected = "http://www.example.net/portal.php?mod=view&aid=123"
    article = parse_article(
        load("discuz_article.gbk.html"), url=redirected, rules=DISCUZ_ARTICLE, tz=SHANGHAI, now=NOW
    )
    merged = merge_article(listed, article)
    assert merged.url == ARTICLE_URL
    assert (merged.title, merged.summary, merged.author) == (article.title, SEED_SUMMARY, "admin")
    assert merged.content_html == article.content_html
    assert dict(merged.provenance) == {
        "url": "selector",
        "title": "selector",
        "summary": "selector",
        "published": "selector",
        "content": "selector",
        "author": "selector",
        "origin": "selector",
        "site_name": "automatic",
    }
    # The list fills what the article page lacks.
    bare = ParsedItem(
        title="", url=redirected, author="编辑部", provenance=(("author", "detected"),)
    )
    filled = merge_article(listed, bare)
    assert (filled.title, filled.summary, filled.published) == (
        listed.title,
        listed.summary,
        listed.published,
    )
    assert filled.author == "编辑部"
    assert dict(filled.provenance)["author"] == "detected"
    assert dict(filled.provenance)["title"] == "selector"


PARAGRAPH = "第{}段：汉中市召开全市科技创新大会，动员全市上下深入实施创新驱动发展战略。"
CREDITED = "此奖实现了汉中零的突破。(来源:汉中发布)"
BODY_LINES = [PARAGRAPH.format(n) for n in range(1, 6)] + [CREDITED]
TABLE_LAYOUT = (
    "<html><head><title>科技创新大会召开 - 某县新闻网</title></head><body>"
    '<div class="nav"><a href="/">首页</a> <a href="/news/">新闻</a></div>'
    '<h1>科技创新大会召开</h1><p class="meta">2022-1-14 17:50| 发布者: admin</p>'
    '<table class="layout"><tr><td class="main">'
    + "".join(f"<p>{line}</p>" for line in BODY_LINES)
    + '</td></tr></table><div class="foot">版权所有 某县新闻网</div></body></html>'
)


def test_layout_tables_are_unwrapped_and_a_trailing_credit_is_the_origin() -> None:
    item = parse_article(TABLE_LAYOUT, url="http://x.example/a", rules=None, tz=SHANGHAI, now=NOW)
    assert item.content_html.startswith("<p>第1段：")
    assert "<table" not in item.content_html
    assert lines(item) == BODY_LINES  # the credit stays in the content
    assert (item.title, item.author, item.published) == (
        "科技创新大会召开",
        "admin",
        at(14, 17, 50),
    )
    assert item.origin == Party("汉中发布")
    assert dict(item.provenance)["origin"] == "detected"


def test_when_trafilatura_fails_the_block_with_most_text_is_the_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(trafilatura, "extract", broken)
    item = parse_article(TABLE_LAYOUT, url="http://x.example/a", rules=None, tz=SHANGHAI, now=NOW)
    assert lines(item) == BODY_LINES
    url = "https://news.example.com/2022/01/14/hbn-railway.html"
    item = parse_article(load("jsonld_article.html"), url=url, rules=None, tz=SHANGHAI, now=NOW)
    assert lines(item)[0].startswith("记者从中铁二十局汉巴南铁路项目部获悉")
    assert lines(item)[-1] == "（来源：陕西日报）"


def test_automatic_extraction_finds_what_the_selectors_find() -> None:
    text = load("discuz_article.gbk.html")
    selected = parse_article(text, url=ARTICLE_URL, rules=DISCUZ_ARTICLE, tz=SHANGHAI, now=NOW)
    automatic = parse_article(text, url=ARTICLE_URL, rules=None, tz=SHANGHAI, now=NOW)

    def fields(item: ParsedItem) -> tuple[object, ...]:
        return (item.title, item.summary, item.published, item.author, item.origin, lines(item))

    assert fields(automatic) == fields(selected)


def test_json_ld_escapes_of_characters_xml_forbids_are_dropped() -> None:
    """JSON's `\\u0001` and lone `\\ud800` decode into characters no feed can carry; found by
    mutating the JSON-LD fixture."""
    page = load("jsonld_article.html")
    page = re.sub(r'<meta property="og:(title|description)"[^>]*>', "", page)
    for value in ("赵六", "汉巴南铁路汉中段建设最新进展", "汉中至巴中至南充铁路汉中段桥隧施工"):
        page = page.replace(f'"{value}', f'"\\u0001{value[0]}\\ud800{value[1:]}')
    url = "https://news.example.com/2022/01/14/hbn-railway.html"

    item = parse_article(page, url=url, rules=None, tz=SHANGHAI, now=NOW)

    assert (item.author, item.title) == ("赵六", "汉巴南铁路汉中段建设最新进展")
    assert item.summary.startswith("汉中至巴中至南充铁路汉中段桥隧施工")


def paged(number: int) -> ArticlePage:
    """Page `number` of a Discuz! X article in three pages, read as the pipeline reads it."""
    text = (FIXTURES / f"discuz_paged_{number}.gbk.html").read_bytes().decode("gbk")
    url = f"http://www.example.net/article-200-{number}.html"
    return read_article_page(text, url=url, rules=None)


def test_an_article_in_pages_is_one_article_with_the_credit_of_its_last_page() -> None:
    """The pager's "下一页" leads on; the comments' "下一页" and "下一篇" (the next article) do
    not. The credit `(来源:汉中发布)` ends the last page, and is found there."""
    pages = [paged(n) for n in (1, 2, 3)]
    assert [page.next_page for page in pages] == [
        "http://www.example.net/article-200-2.html",
        "http://www.example.net/article-200-3.html",
        None,
    ]
    for rules in (None, DISCUZ_ARTICLE):
        item = article_from(pages[0], rules=rules, tz=SHANGHAI, now=NOW, continued=pages[1:])
        text = html_to_text(item.content_html)
        order = [text.find(words) for words in ("召开全市营商环境", "聚焦企业开办", "压实工作责任")]
        assert -1 < order[0] < order[1] < order[2], text
        assert item.origin == Party("汉中发布")
        assert (item.author, item.url) == ("admin", "http://www.example.net/article-200-1.html")
        for junk in ("下一页", "上一页", "下一篇", "好消息", "广告"):
            assert junk not in text, junk
    alone = article_from(pages[0], rules=None, tz=SHANGHAI, now=NOW)
    assert "聚焦企业开办" not in alone.content_html
    assert alone.origin is None, "the first page alone names no origin"


@pytest.mark.parametrize(
    ("url", "link", "followed"),
    [
        ("http://a.example/t20220114_123.html", "t20220114_123_1.html", True),
        ("http://a.example/news/2022/0301/1234.shtml", "1234_2.shtml", True),
        ("http://a.example/portal.php?mod=view&aid=7", "portal.php?mod=view&aid=7&page=2", True),
        ("http://a.example/view.php?id=7&page=2", "view.php?id=7&page=3#top", True),
        # the same "下一页" elsewhere: comments, another article, another folder or host
        ("http://a.example/portal.php?mod=view&aid=7", "portal.php?mod=comment&id=7&page=2", False),
        ("http://a.example/portal.php?mod=view&aid=7", "portal.php?mod=view&aid=8", False),
        ("http://a.example/news/1234.html", "/other/1234_2.html", False),
        ("http://a.example/a-1.html", "http://b.example/a-2.html", False),
        ("http://a.example/a-1.html", "a-b-1.html", False),
        ("http://a.example/a-1.html", "javascript:next()", False),
        ("http://a.example/a-1.html", "a-1.html#p2", False),
    ],
)
def test_only_a_link_to_the_same_articles_next_page_is_followed(
    url: str, link: str, followed: bool
) -> None:
    page = read_article_page(f'<p>正文</p><a href="{link}">下一页</a>', url=url, rules=None)
    assert (page.next_page is not None) == followed, page.next_page


@pytest.mark.parametrize("label", ["下一篇", "Next »", "»", "next", "更多"])
def test_links_that_lead_to_another_article_are_not_pages(label: str) -> None:
    text = f'<p>正文</p><a href="a-2.html">{label}</a>'
    assert read_article_page(text, url="http://a.example/a-1.html", rules=None).next_page is None


def test_the_operators_next_page_selector_is_followed_wherever_it_leads() -> None:
    """The selector says which link, so neither its label nor its URL is judged; the pipeline
    still checks the host like any followed link."""
    rules = ArticleRules(next_page=FieldSelector("a.more"))
    text = '<p>正文</p><a class="more" href="http://m.a.example/x?p=2">继续阅读</a>'
    page = read_article_page(text, url="http://a.example/a-1.html", rules=rules)
    assert page.next_page == "http://m.a.example/x?p=2"
    text = '<p>正文</p><a href="a-2.html">下一页</a>'
    assert read_article_page(text, url="http://a.example/a-1.html", rules=rules).next_page is None


def test_an_amp_page_shows_its_pictures() -> None:
    """`<amp-img>` is AMP's `<img>`: the sanitiser knows only the latter, and dropped them."""
    url = "https://m.example.cn/amp/5501.html"
    item = parse_article(
        (FIXTURES / "amp_article.html").read_text("utf-8"),
        url=url, rules=None, tz=ZoneInfo("Asia/Shanghai"), now=at(30, 8, 0),
    )  # fmt: skip
    pictures = re.findall(r"<img [^>]*>", item.content_html)
    assert [re.search(r'src="([^"]+)"', image)[1] for image in pictures] == [  # type: ignore[index]
        "https://m.example.cn/news/2026/1129/W020261129_1.jpg",
        "https://m.example.cn/news/2026/1129/W020261129_2.jpg",
    ]  # the `javascript:` one is refused, and no fallback `<noscript>` image doubles the first
    assert 'alt="施工现场"' in pictures[0]
    assert "layout" not in pictures[0]
    assert "施工现场。刘芳 摄" in item.content_html


def test_wechat_guide_picture_opening_the_text_goes_with_its_line() -> None:
    """The animated `点击蓝字 关注我们` banner above the text points at the account's name: no
    part of the story, as the line under it is not; the story's own first picture stays."""
    guide = (
        '<section style="text-align: center;"><img class="rich_pages wxw-img __bg_gif"'
        ' data-src="https://mmbiz.qpic.cn/mmbiz_gif/TopGuideGif/640?wx_fmt=gif" data-type="gif">'
        "</section>\n"
        '<p style="text-align: center;"><span>点击蓝字 关注我们</span></p>\n'
    )
    opening = '<section style="margin: 0px 8px;">'
    text = load("wechat_article.html").replace(opening, guide + opening, 1)
    url = "https://mp.weixin.qq.com/s/Hzfb20220114cxcs"
    item = parse_article(text, url=url, rules=None, tz=SHANGHAI, now=NOW)
    assert "TopGuideGif" not in item.content_html
    assert "蓝字" not in item.content_html
    assert re.findall(r'<img src="([^"]+)"', item.content_html)[0] == (
        "https://mmbiz.qpic.cn/mmbiz_jpg/Hz1wFakeImg1/640?wx_fmt=jpeg"
    )


MOBILE_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>汉中至巴中高铁汉中段首座隧道贯通-汉中新闻网手机版</title></head><body>
<header class="m-head"><a href="/m/" class="logo">汉中新闻网</a></header>
<div class="m-art">
<h1 class="m-title">汉中至巴中高铁汉中段首座隧道贯通</h1>
<p class="m-info"><span>汉中日报</span> <time>11-29 10:20</time></p>
<div class="m-content" id="artContent">
<p>11月29日上午，汉巴南铁路汉中段首座隧道——青龙山隧道顺利贯通，为全线按期建成通车奠定了坚实基础。</p>
<p>青龙山隧道全长4.2公里，地质条件复杂，施工单位采用智能化装备，克服涌水、软岩等困难，比计划提前15天贯通。</p>
<p>汉巴南铁路建成后，汉中至巴中最快1小时可达，将进一步完善川陕革命老区交通网络，助力区域经济协同发展。</p>
</div>
<div class="m-open-app"><a href="hzxww://article/5501">打开APP，阅读体验更佳</a></div>
</div></body></html>"""


def test_a_mobile_meta_line_of_a_name_and_a_time_is_no_part_of_the_body() -> None:
    """`<p class="m-info"><span>汉中日报</span> <time>11-29 10:20</time></p>` under the title:
    the source's name opened the body as its first paragraph."""
    now = datetime(2026, 11, 29, 12, tzinfo=SHANGHAI)
    url = "https://m.example.cn/news/5501.html"
    item = parse_article(MOBILE_PAGE, url=url, rules=None, tz=SHANGHAI, now=now)
    assert item.title == "汉中至巴中高铁汉中段首座隧道贯通"
    assert lines(item)[0].startswith("11月29日上午，汉巴南铁路汉中段首座隧道")
    assert "汉中日报" not in item.content_html
    assert item.published == datetime(2026, 11, 29, 10, 20, tzinfo=SHANGHAI)


def test_a_wechat_articles_author_field_and_account() -> None:
    """Its author is the name WeChat shows beside the account (not the `原创` mark, nor the
    account's name written there); with nothing crediting another, the account published it."""
    url = "https://mp.weixin.qq.com/s/Hzfb20221128yc"
    item = parse_article(load("wechat_original.html"), url=url, rules=None, tz=SHANGHAI, now=NOW)
    assert item.author == "李娜"
    assert item.origin == Party("汉中发布")
    credited = parse_article(load("wechat_article.html"), url=url, rules=None, tz=SHANGHAI, now=NOW)
    assert (credited.author, credited.origin) == ("李四", Party("汉中市科技局"))
    # a repost crediting nobody: its account did not write it, and would take the story from
    # the copy it reposted
    for repost in (
        load("wechat_original.html").replace('id="copyright_logo"', 'id="other_logo"'),
        load("wechat_original.html").replace(">原创</span>", ">转载</span>"),
    ):
        reposted = parse_article(repost, url=url, rules=None, tz=SHANGHAI, now=NOW)
        assert (reposted.author, reposted.origin) == (None, None)


def test_main_content_extraction_keeps_the_pages_players() -> None:
    """trafilatura drops `<video>` and `<iframe>`: a video story came out as its caption."""
    url = "http://sn.people.com.cn/n2/2022/1128/c190201-32588888.html"
    item = parse_article(
        load("people_video_article.gb2312.html"), url=url, rules=None, tz=SHANGHAI, now=NOW,
        iframe_hosts=("v.qq.com",),
    )  # fmt: skip
    assert "近日，汉中迎来今冬首场降雪" in item.content_html
    assert '<video src="http://sn.people.com.cn/video/2022/1128/hz_snow.mp4"' in item.content_html
    assert '<source src="http://sn.people.com.cn/video/2022/1128/hz_snow.webm"' in item.content_html
    assert '<iframe src="https://v.qq.com/txp/iframe/player.html?vid=m3345abcd12"' in (
        item.content_html
    )
    assert "ads.example.com" not in item.content_html  # not a host the source allows
    assert "players.invalid" not in item.content_html
    texts = lines(item)
    assert texts.index(next(t for t in texts if "近日" in t)) < texts.index(
        next(t for t in texts if "降雪过后" in t)
    )


def test_a_page_of_thousands_of_players_keeps_a_bounded_number() -> None:
    players = '<p>汉中新闻正文，第{0}段的文字。<iframe src="https://v.qq.com/x/{0}"></iframe></p>'
    page = f"<html><body><div>{''.join(players.format(n) for n in range(5000))}</div></body></html>"
    item = parse_article(
        page, url="http://example.org/a.html", rules=None, tz=SHANGHAI, now=NOW,
        iframe_hosts=("v.qq.com",),
    )  # fmt: skip
    assert 0 < item.content_html.count("<iframe") <= 50
    assert "players.invalid" not in item.content_html


def test_a_page_cannot_write_a_players_stand_in_itself() -> None:
    """A picture at the address a stand-in would have had got the player, and the stand-in
    was published as a broken picture."""
    paragraphs = "".join(
        f"<p>汉中新闻第{n}段正文，记者在现场看到群众有序参观，气氛热烈，秩序井然。</p>"
        for n in range(6)
    )
    page = (
        '<html><body><div class="article"><p><img src="https://players.invalid/0.jpg">'
        "第一段：汉中市今日举行活动，现场气氛热烈，群众纷纷前来参加。</p>"
        f'{paragraphs}<p>视频：<video src="/v/1.mp4" controls></video>现场画面，'
        "记者在活动现场拍摄。</p><p>第二段：活动持续到傍晚，各方反响良好，组织有序。</p>"
        "</div></body></html>"
    )
    item = parse_article(
        page, url="http://example.org/a.html", rules=None, tz=SHANGHAI, now=NOW
    )  # fmt: skip
    html = item.content_html
    assert html.index("<video") > html.index("第5段")
    assert not re.search(r"players\.invalid/[0-9a-f]{16}/", html)
