"""Text for titles, names and tags: markup that leaked in is dropped, text about markup stays."""

from __future__ import annotations

import html
import random
import re
import sys
from concurrent.futures import ThreadPoolExecutor

import nh3
import pytest

from feeds.nesting import MAX_DEPTH, flattened
from feeds.sanitize import (
    clean_html,
    html_to_text,
    one_line,
    person_name,
    plain_line,
    xml_safe,
)

DISCOURAGED = re.compile("[\x7f-\x84\x86-\x9f]")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<b>重磅</b>：汉中又新增一项国字号荣誉", "重磅：汉中又新增一项国字号荣誉"),
        ("Hostile <script>alert(1)</script> & ]]>", "Hostile alert(1) & ]]>"),
        ('<em class="hl">汉中</em>  发布\n', "汉中 发布"),
        ("stray end tag </div>", "stray end tag"),
        # Without an end tag nothing says it is markup: kept as written.
        ("a <b> c", "a <b> c"),
        ("Vector<int> and x < y > z", "Vector<int> and x < y > z"),
        ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
        ("汉中第一网 <b>", "汉中第一网 <b>"),
        ("Tom & Jerry\x0b", "Tom & Jerry"),
        # Controls that reach past the line: DEL, C1, bidi embeddings, overrides, isolates.
        ("photo\u202egpj.exe", "photogpj.exe"),
        ("\u2067مرحبا\u2069 \u202a汉中\u202c", "مرحبا 汉中"),
        ("a\x7fb\x85c\x9f", "ab c"),
        # U+FFFD says only that a character was lost upstream: the validator flags it.
        ("汉中\ufffd\ufffd新闻", "汉中新闻"),
        # Marks that only settle neutral characters' direction are kept.
        ("\u200fمرحبا\u200e!", "\u200fمرحبا\u200e!"),
    ],
)
def test_plain_line_drops_leaked_markup_only(text: str, expected: str) -> None:
    assert plain_line(text) == expected


@pytest.mark.parametrize("xml_checked", [False, True])
def test_bodies_lose_del_and_the_c1_controls(xml_checked: bool) -> None:
    """`&#x81;` (one of the five bytes cp1252 leaves undefined) reached every published body,
    and the W3C validator called each document's body bad characters and invalid HTML."""
    body = "<p>c1 \x81body\x7f \x9dend</p>" if xml_checked else "<p>c1 &#x81;body\x7f &#157;end</p>"
    cleaned = clean_html(body, xml_checked=xml_checked)
    assert cleaned == "<p>c1 body end</p>"
    assert html_to_text("<p>a&#x8d;b\x90c</p>") == "abc"


def test_a_summary_is_one_line_without_what_reaches_past_it() -> None:
    """An untitled entry's summary titles it in readers and in the embed script: its
    override showed `gpj.exe` as `exe.jpg` on a partner's page."""
    assert one_line(" item \u202egpj.exe\n<b>x</b> \x81\ufffd") == "item gpj.exe <b>x</b>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Eve <eve@example.com>", "Eve"),
        ("Eve <eve@example.com> & Bob", "Eve & Bob"),
        ("<eve@example.com>", "eve@example.com"),
        ("eve@example.com (Eve)", "eve@example.com (Eve)"),
        ("张三 <b>记者</b>", "张三 记者"),
        ("张三", "张三"),
    ],
)
def test_person_name_has_no_address_in_angle_brackets(text: str, expected: str) -> None:
    assert person_name(text) == expected


def test_clean_html_resolves_against_each_calls_own_base_across_threads() -> None:
    """One cleaner serves every thread; the base URL and iframe hosts are each call's own."""

    def clean(n: int) -> bool:
        base = f"https://site{n}.example/a/"
        fragment = '<p><a href="x.html">x</a><iframe src="https://v{n}.example/e"></iframe></p>'
        expected = f'href="{base}x.html"'
        return all(
            expected in (cleaned := clean_html(fragment.format(n=n), base_url=base,
                                               iframe_hosts={f"v{n}.example"}))
            and f"v{n}.example" in cleaned
            for _ in range(300)
        )  # fmt: skip

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch inside calls, as a shared base URL would show
    try:
        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(clean, range(8)))
    finally:
        sys.setswitchinterval(interval)


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("a&#1;b", "ab"),
        ("x&#xFFFE;y&#65535;z", "xyz"),
        ('<p title="&#x1b;note">t&#8;</p>', '<p title="note">t</p>'),
        ("a\x00b\x0b", "ab"),  # raw, as before
        ("&#x6C49;&#20013; &amp;#1;", "汉中 &amp;#1;"),  # characters XML allows stay
    ],
)
def test_clean_html_drops_what_xml_cannot_carry_even_when_a_reference_names_it(
    fragment: str, expected: str
) -> None:
    """nh3 decodes `&#1;` into the character itself; a reader's XML parser would reject it."""
    assert clean_html(fragment) == expected


def test_a_link_with_a_broken_ipv6_host_is_dropped_without_an_exception_escaping() -> None:
    """nh3 calls our attribute filter from Rust: an exception there would only be printed."""
    cleaned = clean_html(
        '<a href="http://[x/">a</a><img src="//[::1/p.png">', base_url="http://b.example/"
    )
    assert cleaned == '<a rel="noopener noreferrer nofollow">a</a>'


def _plain_text(fragment: str) -> str:
    """`html_to_text` as its docstring reads, one line at a time."""
    text = re.sub(
        r"</(p|div|li|h[1-6]|tr|blockquote|pre)\s*>|<br\s*/?>", "\n", fragment, flags=re.I
    )
    text = xml_safe(html.unescape(re.sub(r"<[^>]*>", "", text)))
    lines = (re.sub(r"[ \t\r\f\v\u3000\xa0]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def test_html_to_text_is_one_stripped_line_per_block_with_single_spaces() -> None:
    assert html_to_text(
        "<p>\u3000\u3000汉中  发布&nbsp;</p><br/>\n<div> </div>Tom\t&amp; Jerry"
    ) == ("汉中 发布\nTom & Jerry")
    pieces = [
        "a", "汉", " ", "  ", "\n", "\t", "\r", "\u3000", "\xa0", "\u2003", "\u2028", "\x85",
        "\x1c", "\x0b", "\x0c", "<p>", "</p>", "<br>", "<br/>", "&nbsp;", "&#10;", "&#13;",
        "&amp;", "<b>", "</DIV >", "\x01", "&#1;", "\ufffe",
    ]  # fmt: skip
    rng = random.Random(20261128)
    for _ in range(20_000):
        fragment = "".join(rng.choices(pieces, k=rng.randint(0, 14)))
        assert html_to_text(fragment) == _plain_text(fragment), fragment


@pytest.mark.parametrize(
    "fragment",
    [
        '<p>a<iframe onerror="x()">作者：小王</iframe>b</p>',
        '<p>a<iframe src="javascript:x()">t &lt;b&gt; <b>x</b></iframe>b</p>',
        '<p>a<iframe src="https://evil.example/f">fallback</iframe>b</p>',
    ],
)
def test_an_iframe_without_an_allowed_source_goes_with_its_fallback_text(fragment: str) -> None:
    """Found by mutating article pages: a refused frame stayed, empty of a source, holding text
    no browser shows."""
    cleaned = clean_html(fragment, base_url="http://a.example/", iframe_hosts={"v.example"})
    assert cleaned == "<p>ab</p>"
    kept = '<iframe src="https://v.example/e">fallback</iframe>'
    assert (
        clean_html(kept, iframe_hosts={"v.example"})
        == '<iframe src="https://v.example/e"></iframe>'
    )


HIDDEN = '<script>alert(1)</script><a href="javascript:alert(2)">c</a><svg onload="alert(3)">'


@pytest.mark.parametrize(
    "fragment",
    [
        f'<p>a</p><iframe src="https://evil.example/">{HIDDEN}<iframe x></iframe><p>b</p>',
        f'<p>a</p><iframe src="https://evil.example/" width=" src=">{HIDDEN}</iframe><p>b</p>',
        f'<p>a</p><iframe src="https://v.example/e">{HIDDEN}<iframe x></iframe><p>b</p>',
        f'<p>a</p><iframe src="https://v.example/e" width=" src=">{HIDDEN}</iframe><p>b</p>',
    ],
)
@pytest.mark.parametrize("hosts", [set(), {"v.example"}])
def test_an_iframes_fallback_never_comes_out_as_markup(fragment: str, hosts: set[str]) -> None:
    """nh3 writes an iframe's fallback out as it came; a pattern meant to drop refused frames
    was fooled by `<iframe` in the fallback or `src=` in an attribute, and published an open
    `<iframe>` followed by the raw fallback: script, a `javascript:` link, a handler, and the
    rest of a reader's page swallowed."""
    cleaned = clean_html(fragment, base_url="http://a.example/", iframe_hosts=hosts)
    frame = ""
    if hosts and "v.ex" in fragment:
        width = ' width=" src="' if "width" in fragment else ""
        frame = f'<iframe src="https://v.example/e"{width}></iframe>'
    assert cleaned == f"<p>a</p>{frame}<p>b</p>"


@pytest.mark.parametrize(
    "fragment",
    [
        "<b><p>bold</p></b><h2><p>head</p></h2>",
        '<img src="https://a.example/placeholder.gif" data-src="javascript:x()">',
    ],
)
def test_an_allowed_iframe_changes_nothing_else(fragment: str) -> None:
    """Taking fallbacks out of a tree parsed again by libxml2 restructured what nh3 had kept
    (`<b><p>`), and kept a lazy picture's placeholder that a body without an iframe drops."""
    frame = '<iframe src="https://v.example/e"></iframe>'
    alone = clean_html(fragment, base_url="http://a.example/")
    framed = clean_html(fragment + frame, base_url="http://a.example/", iframe_hosts={"v.example"})
    assert framed == alone + frame


def test_plain_text_comes_back_as_nh3_gives_it() -> None:
    """Text with nothing nh3 would rewrite skips it. Random text of every plane, with and
    without the characters it does rewrite, matches nh3's own output, less DEL and C1."""
    rng = random.Random(19)
    pieces = [chr(c) for c in range(0x20, 0x3000) if c not in range(0xD800, 0xE000)]
    pieces += ["\t", "\n", "\x0b", "\x85", "\u2028", "\u3000", "\U0001f600", "\ufffe", " "]
    rewritten = ["<", ">", "&", "&amp;", "\r", "\r\n", "\x00", "\xa0", "\ufeff", "<b>x</b>"]
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        if rng.random() < 0.3:
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice(rewritten) + text[at:]
        expected = nh3.clean(DISCOURAGED.sub("", xml_safe(text))).strip()
        assert clean_html(text) == expected, repr(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a > b", "a &gt; b"), ("a & b", "a &amp; b"), ("\ufeffx", "x"), ("a\r\nb", "a\nb"),
     ("a\xa0b", "a&nbsp;b"), ("a\x00b", "ab"), ("汉中 \t", "汉中")],
)  # fmt: skip
def test_text_nh3_would_rewrite_is_cleaned(text: str, expected: str) -> None:
    assert clean_html(text) == expected


@pytest.mark.parametrize(
    "image",
    [
        '<img src="http://feeds.feedburner.com/~r/x/~4/abc" height="1" width="1" alt="">',
        '<img src="/count.gif?a=1&amp;b=2" WIDTH="1px" height=1>',
        '<img src="/c.gif" width="0" height="0.0">',
        '<img src="https://pixel.wp.com/b.gif?host=a.example&amp;blog=1" alt="">',
        '<img src="https://s4.CNZZ.com/stat.php?id=1&amp;web_id=1">',
        '<img src="https://hm.baidu.com/hm.gif?si=x">',
        '<img src="https://www.google-analytics.com/collect?v=1&amp;tid=UA-1">',
        # an alt holding what looks like a size or a source is still only an alt
        '<img alt=\'x width="600" src="/a.png"\' src="https://stats.wordpress.com/g.gif">',
    ],
)
def test_images_that_only_count_readers_are_dropped(image: str) -> None:
    """Republished, a counter would report every reader of ours to the upstream's statistics."""
    cleaned = clean_html(f"<p>正文</p>{image}<p>完</p>", base_url="http://a.example/news/")
    assert cleaned == "<p>正文</p><p>完</p>"


@pytest.mark.parametrize(
    "image",
    [
        '<img src="https://i0.wp.com/a.example/photo.jpg" width="600" height="1">',
        '<img src="/photo.jpg" width="1">',  # one side alone says nothing about the other
        '<img src="https://cnzz.com.example/photo.jpg">',  # the name only looks like a counter's
        '<img src="https://img.baidu.com/photo.jpg" alt=\'width="1" height="1"\'>',
        '<img src="https://feedburner.com.example/x.gif" height="10" width="10">',
    ],
)
def test_pictures_stay_whatever_their_attributes_hold(image: str) -> None:
    cleaned = clean_html(image, base_url="http://a.example/")
    assert re.fullmatch(r'<img src="https?://[^"]+"[^<>]*>', cleaned), cleaned


@pytest.mark.parametrize(
    ("image", "base"),
    [
        ('<img src="http://[x/a.png" width="2" height="2" alt="图">', None),
        ('<img src="http://[x/a.png" width="1" height="1">', None),
        ('<img src="javascript:alert(1)" alt="图">', None),
        ('<img src="data:image/png;base64,iVBORw0KGgo=" alt="图">', None),
        ('<img src="a.png" alt="图">', "file:///srv/portal/article.html"),
        ('<img src="javascript:void(0)" data-src="javascript:alert(1)">', None),
        ('<img alt="图" width="600">', None),
    ],
)
def test_an_image_left_with_no_address_goes(image: str, base: str | None) -> None:
    """Without an address it could load, readers showed a broken picture or its alt text."""
    assert clean_html(f"<p>前{image}后</p>", base_url=base) == "<p>前后</p>"
    pictures = '<img src="http://a.example/b.png">' + image + '<img src="https://c.example/c.png">'
    assert clean_html(f"<p>{pictures}</p>", base_url=base) == (
        '<p><img src="http://a.example/b.png" referrerpolicy="no-referrer">'
        '<img src="https://c.example/c.png" referrerpolicy="no-referrer"></p>'
    )


def test_counters_among_many_pictures_go_and_only_they() -> None:
    picture = '<img src="http://a.example/p{}.jpg" width="1{}" height="1">'
    counter = '<img src="http://a.example/c{}.gif" width="1" height="0">'
    body = "".join((picture if n % 3 else counter).format(n, n) for n in range(3000))
    cleaned = clean_html(f"<p>{body}</p>")
    assert cleaned.count("<img") == 2000
    assert ".gif" not in cleaned


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        # WeChat's articles, and the feeds made from them: no src at all
        (
            '<img data-src="https://mmbiz.qpic.cn/a/640?wx_fmt=jpeg&amp;tp=webp" data-w="1080"'
            ' data-type="jpeg" style="width: 100%;" alt="图">',
            '<img src="https://mmbiz.qpic.cn/a/640?wx_fmt=jpeg&amp;tp=webp" alt="图"'
            ' referrerpolicy="no-referrer">',
        ),
        # a placeholder in src, the picture elsewhere, relative to the page
        (
            '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-original="/p/1.jpg">',
            '<img src="http://a.example/p/1.jpg" referrerpolicy="no-referrer">',
        ),
        (
            '<img class="lazy" src="/blank.gif" data-lazy-src="2.jpg" width="600">',
            '<img src="http://a.example/news/2.jpg" width="600" referrerpolicy="no-referrer">',
        ),
        # a Discuz! post copied into a feed: the picture in `file`, a blank image in src
        (
            '<img src="static/image/common/none.gif" file="data/attachment/a.jpg" id="aimg_1">',
            '<img src="http://a.example/news/data/attachment/a.jpg" referrerpolicy="no-referrer">',
        ),
        # or only in `zoomfile` (the picture a click enlarges)
        (
            '<img src="static/image/common/none.gif" zoomfile="data/attachment/z.jpg">',
            '<img src="http://a.example/news/data/attachment/z.jpg" referrerpolicy="no-referrer">',
        ),
        # a hostile address stays out, and the placeholder it leaves is no picture to show
        ('<img src="/blank.gif" data-src="javascript:alert(1)" alt="图">', ""),
        # but another lazy address of the same image is still its picture
        (
            '<img src="/blank.gif" data-src="javascript:alert(1)" file="3.jpg">',
            '<img src="http://a.example/news/3.jpg" referrerpolicy="no-referrer">',
        ),
        # an empty lazy address is none: resolved, it would have been the page itself
        (
            '<img src="/real.jpg" data-src=" " alt="图">',
            '<img src="http://a.example/real.jpg" referrerpolicy="no-referrer" alt="图">',
        ),
        # a lazy counter is still a counter
        ('<img data-src="https://hm.baidu.com/hm.gif?si=1">', ""),
        # text that looks like the attribute is only text
        (
            '<img src="/a.jpg" alt=\'data-src="x.jpg"\'>',
            '<img src="http://a.example/a.jpg" alt="data-src=&quot;x.jpg&quot;"'
            ' referrerpolicy="no-referrer">',
        ),
    ],
)
def test_lazy_images_get_the_picture_a_script_would_have_loaded(image: str, expected: str) -> None:
    cleaned = clean_html(f"<p>{image}</p>", base_url="http://a.example/news/")
    assert cleaned == f"<p>{expected}</p>"


@pytest.mark.parametrize(
    "image",
    [
        '<img src="https://wx.qlogo.cn/a.jpg">',
        '<img src="https://wx4.sinaimg.cn/b.jpg" referrerpolicy="unsafe-url">',
        '<img src="https://a.example/c.jpg" REFERRERPOLICY="origin" alt="x">',
    ],
)
def test_every_image_asks_for_no_referrer_whatever_the_upstream_said(image: str) -> None:
    """WeChat's and Weibo's image hosts refuse a request naming another site's page."""
    cleaned = clean_html(image)
    assert cleaned.count("referrerpolicy=") == 1
    assert cleaned.endswith(' referrerpolicy="no-referrer">'), cleaned


def test_markup_nested_past_any_page_is_flattened_and_its_text_kept() -> None:
    """html5ever's time grows with the depth at each tag: 300,000 levels held it minutes."""
    deep = "<div><b>" * 150_000 + "深处的文字" + "</b></div>" * 150_000
    cleaned = clean_html(deep + "<p>之后</p>")
    assert "深处的文字" in cleaned
    assert cleaned.endswith("<p>之后</p>")
    assert cleaned.count("<div>") + cleaned.count("<b>") == MAX_DEPTH
    assert cleaned.count("<div>") == cleaned.count("</div>")


def test_many_tags_nested_as_pages_nest_them_are_kept() -> None:
    paragraphs = "<p>段落" * 3000  # unclosed, as old portals write them
    table = "<table>" + "<tr><td>格</td></tr>" * 1000 + "</table>"
    nested = "<div>" * 200 + "文" + "</div>" * 200 + "<br>" * 3000
    for markup in (paragraphs, table, nested):
        assert flattened(markup) == markup


def test_addresses_in_bodies_are_valid_uris() -> None:
    body = '<p><a href="/新闻/一 二.html">链接</a><img src="图片/a b.jpg"></p>'
    cleaned = clean_html(body, base_url="http://hz.example/news/")
    assert 'href="http://hz.example/%E6%96%B0%E9%97%BB/%E4%B8%80%20%E4%BA%8C.html"' in cleaned
    assert 'src="http://hz.example/news/%E5%9B%BE%E7%89%87/a%20b.jpg"' in cleaned


B = "https://b.example/2022/"


@pytest.mark.parametrize(
    ("srcset", "kept"),
    [
        ("photo-2x.png 2x, photo-3x.png 3x", f' srcset="{B}photo-2x.png 2x, {B}photo-3x.png 3x"'),
        ("javascript:alert(1) 1x, data:image/svg+xml,x 2x", ""),
        ("https://hm.baidu.com/hm.gif?si=x 1x, big.jpg 2x", f' srcset="{B}big.jpg 2x"'),
        ("a.jpg,, b b.jpg 640w, c.jpg 1.5x", f' srcset="{B}a.jpg, {B}c.jpg 1.5x"'),
        (",,, ,", ""),
    ],
)
def test_srcset_addresses_are_kept_as_src_is(srcset: str, kept: str) -> None:
    """A browser prefers a `srcset` candidate to `src`: relative ones loaded from the reader's
    own page, `javascript:` and `data:` were published, and a counter survived in one."""
    for tag in ("img", "source"):
        cleaned = clean_html(
            f'<{tag} src="https://b.example/a.png" srcset="{srcset}">',
            base_url="https://b.example/2022/post.html",
        )
        assert ' srcset="' not in cleaned.replace(kept, "")
        assert kept in cleaned
