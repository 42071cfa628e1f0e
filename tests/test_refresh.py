"""Meta refreshes: which ones send a reader on at once, and where."""

from __future__ import annotations

import pytest

from feeds.refresh import meta_refresh, script_redirect

PAGE = "http://epaper.example/hzrb/index.htm"
TODAY = "http://epaper.example/hzrb/html/2022-01/14/node_1.htm"


@pytest.mark.parametrize(
    "meta",
    [
        '<meta http-equiv="refresh" content="0; url=html/2022-01/14/node_1.htm">',
        "<META HTTP-EQUIV='Refresh' CONTENT='0;URL=html/2022-01/14/node_1.htm'>",
        '<meta content="0;url=\'html/2022-01/14/node_1.htm\'" http-equiv="refresh" />',
        "<meta http-equiv=refresh content=0;url=/hzrb/html/2022-01/14/node_1.htm>",
        '<meta http-equiv="refresh" content="3, http://epaper.example/hzrb/html/2022-01/14/node_1.htm">',
        '<meta http-equiv="refresh" content="1.5; URL = html/2022-01/14/node_1.htm#top">',
    ],
)
def test_an_immediate_refresh_is_where_the_page_sends_its_reader(meta: str) -> None:
    body = f"<html><head><title>汉中日报</title>{meta}</head><body>正在跳转</body></html>"
    assert meta_refresh(body.encode("gbk"), PAGE) in (TODAY, TODAY + "#top")


@pytest.mark.parametrize(
    "meta",
    [
        '<meta http-equiv="refresh" content="300">',  # a news page reloading itself
        '<meta http-equiv="refresh" content="600; url=http://epaper.example/">',  # read first
        '<meta http-equiv="refresh" content="0; url=index.htm">',  # the page itself
        '<meta http-equiv="refresh" content="0; url=javascript:go()">',
        '<meta http-equiv="refresh" content="0; url=">',
        '<meta http-equiv="refresh" content="soon; url=/a">',
        '<meta name="refresh" content="0; url=/a">',
        '<meta http-equiv="refresh-rate" content="0; url=/a">',
        '<meta http-equiv="refresh" content="0; url=http://[x/a">',
    ],
)
def test_other_refreshes_and_look_alikes_send_nowhere(meta: str) -> None:
    assert meta_refresh(f"<head>{meta}</head>".encode(), PAGE) is None


def test_only_the_head_of_a_page_is_searched() -> None:
    late = b"<p>" + b"x" * 40000 + b'</p><meta http-equiv="refresh" content="0; url=/a">'
    assert meta_refresh(late, PAGE) is None
    assert meta_refresh(b"", PAGE) is None
    assert meta_refresh(b"<meta http-equiv=refresh " + b"a" * 100000 + b">", PAGE) is None


def test_a_refresh_header_says_the_same_and_comes_first() -> None:
    header = "0; url=html/2022-01/14/node_1.htm"
    assert meta_refresh(b"", PAGE, header) == TODAY
    meta = b'<meta http-equiv="refresh" content="0; url=/elsewhere.htm">'
    assert meta_refresh(meta, PAGE, header) == TODAY
    assert meta_refresh(meta, PAGE, "300") is None, "the header is the page's word"
    assert meta_refresh(b"", PAGE, "garbage") is None


@pytest.mark.parametrize(
    "script",
    [
        '<script>window.location.href = "html/2022-01/14/node_1.htm";</script>',
        "<script type='text/javascript'>location.replace('html/2022-01/14/node_1.htm')</script>",
        '<SCRIPT>top.location="/hzrb/html/2022-01/14/node_1.htm"</SCRIPT><p>正在跳转，请稍候…</p>',
        '<script>document.location.assign("html/2022-01/14/node_1.htm");</script>',
    ],
)
def test_a_stub_that_forwards_by_script_sends_its_reader_on(script: str) -> None:
    page = f"<html><head><title>汉中日报数字报</title></head><body>{script}</body></html>"
    assert script_redirect(page.encode("gbk"), PAGE) == TODAY


@pytest.mark.parametrize(
    "page",
    [
        # a page with text of its own is to be read, whatever its scripts do
        "<p>汉中市召开2022年全市科技工作会议，总结2021年工作，部署科技创新年重点任务，会议强调</p>"
        '<script>if (mobile) { location.href = "/m/"; }</script>',
        # a choice the script makes: not ours to guess
        '<script>location.href = wide ? "/pc/" : "/m/"; location.href = "/m/";'
        ' location.replace("/pc/")</script>',
        "<script>location.href = base + '/today.htm'</script>",  # built, not written
        '<script>location.href = "javascript:void(0)"</script>',
        '<script>location.href = "index.htm"</script>',  # the page itself
        "<p>no script</p>",
        "<script>var location = 1;</script>",
    ],
)
def test_other_scripts_send_nowhere(page: str) -> None:
    assert script_redirect(page.encode("gbk"), PAGE) is None


def test_only_a_small_page_can_be_a_stub() -> None:
    script = b'<script>location.href = "/a.htm"</script>'
    assert script_redirect(script, PAGE) == "http://epaper.example/a.htm"
    assert script_redirect(script + b"<!--" + b" " * 5000 + b"-->", PAGE) is None


@pytest.mark.parametrize(
    ("page", "charset", "override"),
    [
        ('<meta charset="gbk"><meta http-equiv="refresh" content="0; url=/专题/今日.htm">',
         None, None),
        ('<meta http-equiv="refresh" content="0; url=/专题/今日.htm">', "gbk", None),
        ('<meta charset="utf-8"><meta http-equiv="refresh" content="0; url=/专题/今日.htm">',
         None, "gb18030"),  # the source's `encoding` wins over a lying declaration
    ],
)  # fmt: skip
def test_an_address_beyond_ascii_is_read_in_the_pages_charset(
    page: str, charset: str | None, override: str | None
) -> None:
    body = f"<html><head>{page}</head><body>正在跳转</body></html>".encode("gbk")
    target = meta_refresh(body, "http://epaper.example/", charset=charset, override=override)
    assert target == "http://epaper.example/%E4%B8%93%E9%A2%98/%E4%BB%8A%E6%97%A5.htm"  # 专题/今日


def test_an_address_in_a_charset_that_cannot_read_it_is_still_an_address() -> None:
    body = b'<meta charset="ascii"><meta http-equiv="refresh" content="0; url=/\xff\xfe.htm">'
    target = meta_refresh(body, "http://epaper.example/")
    assert target is not None
    assert target.startswith("http://epaper.example/")
