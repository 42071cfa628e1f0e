"""Normal forms: the differences copies of one story show must vanish, the rest must stay."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pytest

from feeds.normalize import fold, normalize_link, normalize_text, normalize_title
from feeds.searchtext import query_terms

STORIES = Path(__file__).parent / "fixtures" / "stories"


def test_full_and_half_width_titles_are_equal() -> None:
    assert normalize_title("汉中又新增一项国字号荣誉！") == normalize_title(
        "汉中又新增一项国字号荣誉!"
    )
    assert normalize_title("２０２２年汉中，ＡＢＣ") == normalize_title("2022年 汉中,abc")


@pytest.mark.parametrize(
    "tagged",
    [
        "【喜讯】汉中又新增一项国字号荣誉！",
        "[转载]汉中又新增一项国字号荣誉!",
        "【喜讯】［转载］ 汉中又新增一项国字号荣誉",
        "汉中又新增一项国字号荣誉（图）",
        "汉中又新增一项国字号荣誉 (组图)",
        "〔视频〕汉中又新增一项国字号荣誉！",
        "【汉中发布】汉中又新增一项国字号荣誉 [视频]",
        "汉中又新增一项国字号荣誉 (Photos)",
    ],
)
def test_bracketed_tags_are_stripped(tagged: str) -> None:
    assert normalize_title(tagged) == "汉中又新增一项国字号荣誉"


@pytest.mark.parametrize(
    "marked",
    [
        "转载：汉中又新增一项国字号荣誉！",
        "转自：汉中又新增一项国字号荣誉",
        "原创｜汉中又新增一项国字号荣誉",
        "原创|汉中又新增一项国字号荣誉",
        "转载 | 汉中又新增一项国字号荣誉",
        "独家丨汉中又新增一项国字号荣誉",
        "【喜讯】原创｜汉中又新增一项国字号荣誉",
        "轉載：漢中又新增一項國字號榮譽",
    ],
)
def test_a_repost_mark_before_a_colon_or_a_bar_is_stripped(marked: str) -> None:
    assert normalize_title(marked) == "汉中又新增一项国字号荣誉"


@pytest.mark.parametrize(
    "named",
    [
        "汉中又新增一项国字号荣誉_汉中新闻网",
        "汉中又新增一项国字号荣誉 - 汉中第一网",
        "汉中又新增一项国字号荣誉｜汉中发布",
        "汉中又新增一项国字号荣誉-汉中市人民政府",
        "【喜讯】汉中又新增一项国字号荣誉（图）_汉中新闻_汉中在线",
    ],
)
def test_a_site_name_after_the_title_is_stripped(named: str) -> None:
    assert normalize_title(named) == "汉中又新增一项国字号荣誉"


def test_an_english_site_name_after_the_title_is_stripped() -> None:
    assert normalize_title(
        "Hanzhong Named a National Innovative City - Shaanxi English"
    ) == normalize_title("Hanzhong named a national innovative city")


@pytest.mark.parametrize(
    ("title", "folded"),
    [
        # a hyphen of the title's own
        ("汉中 - 西安高铁今日开通", "汉中西安高铁今日开通"),
        ("2026-2027学年校历", "20262027学年校历"),
        ("COVID-19 news roundup", "covid19newsroundup"),
        ("Omicron-variant news", "omicronvariantnews"),
        # a column's name before the title, the title ending as a site's name may
        ("2026年两会特别报道｜政府工作报告全文发布", "2026年两会特别报道政府工作报告全文发布"),
        # a word that ends as a site's name does, and a site's name leaving too short a title
        ("汉中市智慧城市建设-物联网", "汉中市智慧城市建设物联网"),
        ("图片新闻_汉中新闻网", "图片新闻汉中新闻网"),
        # a mark that is not before a colon or a bar, or not a repost's
        ("原创歌曲大赛决赛举行", "原创歌曲大赛决赛举行"),
        ("汉中：全市秋粮收购过半", "汉中全市秋粮收购过半"),
    ],
)
def test_what_only_looks_like_a_site_name_or_a_mark_stays(title: str, folded: str) -> None:
    """A false merge hides a story from every merged feed; a missed one only shows it twice."""
    assert normalize_title(title) == folded


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("汉中市城区部分路段停电通知（一）", "汉中市城区部分路段停电通知（二）"),
        ("汉中市2022年事业单位公开招聘公告(第一批)", "汉中市2022年事业单位公开招聘公告(第二批)"),
        ("【汉台区】汉中市新冠疫苗接种点公布", "【南郑区】汉中市新冠疫苗接种点公布"),
    ],
)
def test_tags_that_tell_stories_apart_are_kept(first: str, second: str) -> None:
    """A part, a batch or a place is the title's own: two notices, not one with a tag."""
    assert normalize_title(first) != normalize_title(second)


def test_brackets_inside_a_title_are_kept() -> None:
    assert normalize_title("秦创原(汉中)创新促进中心揭牌") == "秦创原汉中创新促进中心揭牌"


def test_a_title_that_is_only_a_tag_keeps_its_words() -> None:
    assert normalize_title("【图片新闻】") == "图片新闻"


def test_traditional_and_simplified_are_equal() -> None:
    assert normalize_title("漢中又新增一項國字號榮譽！") == normalize_title(
        "汉中又新增一项国字号荣誉!"
    )
    assert normalize_text("來源：漢中發佈\n科技創新") == normalize_text("科技创新")


def test_link_drops_scheme_www_port_fragment_slash_and_tracking() -> None:
    expected = "example.net/article-1234-1.html"
    for url in (
        "http://example.net/article-1234-1.html",
        "https://WWW.Example.NET:443/article-1234-1.html/#comments",
        "http://example.net:80/article-1234-1.html?utm_source=wechat&utm_medium=social",
        "https://example.net/article-1234-1.html?from=timeline&isappinstalled=0&spm=a1.b2",
        "https://example.net/article-1234-1.html?fbclid=x&gclid=y&scene=1&clicktime=2&enterid=3",
    ):
        assert normalize_link(url) == expected, url


def test_link_keeps_what_routes_the_page() -> None:
    assert (
        normalize_link("http://example.net/portal.php?mod=view&aid=42&utm_campaign=x")
        == normalize_link("https://example.net/portal.php?aid=42&mod=view")
        == "example.net/portal.php?aid=42&mod=view"
    )
    assert normalize_link("http://example.net:8080/a") == "example.net:8080/a"
    assert normalize_link("https://mp.example.com/s/AbCd") != normalize_link(
        "https://mp.example.com/s/abcd"
    )
    assert normalize_link("https://m.example.net/a") == "m.example.net/a"


def test_link_maps_mirror_hosts() -> None:
    mirrors = {"m.example.net": "example.net"}
    assert normalize_link("http://m.example.net/a.html", mirrors) == "example.net/a.html"
    assert normalize_link("http://www.example.net/a.html", mirrors) == "example.net/a.html"


def test_unparseable_link_comes_back_stripped() -> None:
    assert normalize_link("  http://[::1/x ") == "http://[::1/x"


@pytest.mark.parametrize(
    "attribution",
    [
        "(来源:汉中发布)",
        "（来源：汉中发布）",
        "\n来源：汉中发布",
        "\n来自: 汉中发布",
        "\n转载自汉中发布微信公众号",
        "\n责任编辑：王敏",
        "\n编辑:李娜 审核:张伟",
        "\nSource: Hanzhong Release",
        "\n本文来源：汉中发布",
        "\n声明：本文转载自汉中发布，仅供学习交流，版权归原作者所有，如有侵权请联系删除。",
        "\n版权声明：本文来源于汉中发布微信公众号，转载请注明出处，如涉及版权问题请与我们联系。",
    ],
)
def test_attribution_is_removed_from_text(attribution: str) -> None:
    body = "汉中市被科技部命名为国家创新型城市。"
    assert normalize_text(body + attribution) == normalize_text(body)


@pytest.mark.parametrize(
    "footer",
    [
        "\n长按识别二维码关注“汉中微生活”，获取更多本地资讯。点击“阅读原文”查看更多。",
        "\n▼长按二维码关注我们\n点击“阅读原文”，查看报名入口",
        "\n點擊上方藍字關注我們",
        "\n扫码关注汉中发布",
    ],
)
def test_a_share_footer_is_removed_from_text(footer: str) -> None:
    body = "汉中市被科技部命名为国家创新型城市。"
    assert normalize_text(body + footer) == normalize_text(body)


@pytest.mark.parametrize(
    "line",
    [
        "市民可长按识别二维码关注“汉中医保”缴费。",  # not a prompt at the start of its line
        "点击量和关注度持续攀升，话题阅读量突破一亿。",  # no code, original or account
        # a paragraph of the story, not a footer's short line
        "扫描二维码进入“陕西医保”小程序后，依次选择“城乡居民医保缴费”“汉中市”，填写参保人姓名"
        "和身份证号码，确认缴费金额后即可完成缴费；如需开具电子票据，可在缴费记录中点击“开具"
        "票据”，按提示填写接收票据的电子邮箱，票据将在三个工作日内发送。",
    ],
)
def test_text_that_only_mentions_a_qr_code_is_kept(line: str) -> None:
    assert normalize_text(f"正文。\n{line}") == normalize_text(f"正文。{line}")


@pytest.mark.parametrize(
    "lines",
    [
        "\n附件：灯光方案.zip",
        "\n附件1：报名表.doc\n附件2：名单.xls",
        "\n 附件 ：说明.pdf",
        "\n附件一：名单.xls",
    ],
)
def test_attachment_lines_under_the_text_are_removed(lines: str) -> None:
    """A notice's or a post's files, listed under its text: reposts keep or drop them."""
    body = "汉江大桥夜景灯光改造完成，市民纷纷前来拍照打卡。"
    assert normalize_text(body + lines) == normalize_text(body)


def test_a_long_run_of_spaces_after_the_word_is_read_once() -> None:
    """Spaces read two ways by the pattern, a run of them took time by its square."""
    assert normalize_text("附件" + " " * 200_000 + "\n正文") == "附件正文"


def test_a_sentence_naming_an_attachment_is_kept() -> None:
    body = "请下载附件：报名表。报名时间截止到本月底，逾期不再受理。"
    assert normalize_text(body) == "请下载附件报名表报名时间截止到本月底逾期不再受理"


def test_text_that_only_mentions_a_credit_word_is_kept() -> None:
    body = (
        "来自北京、上海、西安、成都等地的专家来汉交流学习创建经验，"
        "探讨借鉴创建路径，为国家创新型城市建设验收奠定了良好的基础。"
    )
    assert normalize_text(body).startswith("来自北京上海西安成都等地的专家")


def test_seed_copies_normalise_to_the_same_text() -> None:
    texts = [
        (STORIES / name).read_text(encoding="utf-8")
        for name in ("hzfb_official.txt", "hz1w_portal.txt", "repost_repunctuated.txt")
    ]
    official, portal, repost = (normalize_text(text) for text in texts)
    assert official == portal == repost
    assert official.endswith("此奖实现了汉中零的突破")


def test_link_escaping_is_normalised() -> None:
    assert normalize_link("http://example.net/新闻/1.html?q=汉中") == normalize_link(
        "http://example.net/%E6%96%B0%E9%97%BB/1.html?q=%E6%B1%89%E4%B8%AD"
    )


def test_characters_beyond_the_basic_plane_are_kept_or_dropped_by_category() -> None:
    # 𠀀 is a CJK Extension B ideograph (a letter); 🎉 is a symbol
    assert normalize_title("【喜讯】𠀀汉中 🎉 荣誉！") == "𠀀汉中荣誉"


def test_short_and_long_texts_keep_exactly_letters_digits_and_marks() -> None:
    """Titles and bodies are filtered two ways (a regex class, a NumPy lookup from 150
    characters on); both must keep what the Unicode categories say, astral characters too."""
    alphabet = (
        "汉中发布a Z_9·、。\n\t\u3000-é\u0301가ＡＢ,!٣\x85\u2028\U00020001\U0001f389\U0001d400"
    )
    rng = random.Random(20261128)
    for _ in range(3_000):
        text = "".join(rng.choices(alphabet, k=rng.choice((rng.randint(0, 20), 149, 150, 400))))
        kept = "".join(ch for ch in fold(text) if unicodedata.category(ch)[0] not in "PSZC")
        assert normalize_text(text) == kept, text


def test_a_lone_surrogate_is_dropped_not_raised() -> None:
    """Parsers drop them before text is folded; a JSON escape (`\\ud800`) that reached these
    functions made OpenCC's UTF-8 encoding raise. Found by fuzzing them."""
    assert fold("漢\ud800中") == "汉中"
    assert normalize_title("漢\ud800中") == "汉中"
    assert query_terms("汉\ud800中") == query_terms("汉中")
    assert normalize_link("http://a.example/\ud800/x") == "http://a.example/\ud800/x"


@pytest.mark.parametrize(
    ("regional", "simplified"),
    [
        (
            "漢中市衞生健康委員會發布冬季流感防控提示",
            "汉中市卫生健康委员会发布冬季流感防控提示",
        ),  # HK
        ("隨著寒流來襲，市民穿著厚衣", "随着寒流来袭，市民穿着厚衣"),  # Taiwan's 著
        ("衹要敍述清楚", "只要叙述清楚"),
    ],
)
def test_hong_kong_and_taiwan_variants_fold_as_simplified(regional: str, simplified: str) -> None:
    """t2s leaves the forms Hong Kong and Taiwan write for 卫 and 着: an HK copy of a story
    matched none of its copies, and `q=卫生署` missed `衞生署`."""
    assert fold(regional) == fold(simplified)
    assert normalize_title(regional) == normalize_title(simplified)
    assert normalize_text(regional) == normalize_text(simplified)


def test_words_that_keep_zhu_fold_alike_in_every_script() -> None:
    """`著名` is folded as `着名` in both scripts: one form for matching, never shown."""
    for pair in (("顯著", "显著"), ("著名作家", "著名作家"), ("什麼", "什么")):
        assert fold(pair[0]) == fold(pair[1])
    assert fold("什么") == "什么"  # the Simplified form of another character stays
