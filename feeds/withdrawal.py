"""Whether a page read in place of an article says the article is gone.

Portals answer a deleted article by sending its reader elsewhere: a redirect or refresh to
the site's home page (Discuz!, DedeCMS and many government CMSs), to the index page of the
section above it, or back to the list it was listed on. Discuz! X answers with HTTP 200 and
a "提示信息" page whose only text is the notice (`<div id="messagetext">`). Read as the
article, any of them would publish a home page's blurb or the notice as the item's text.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import urldefrag, urlsplit

import lxml.html

from feeds.htmltree import text_of
from feeds.sanitize import html_to_text

# The names a server gives a directory's own page: a redirect there, with no query, is to
# an index page, not to an article (`/portal.php` is Discuz!'s home page).
_INDEX_NAMES = frozenset(
    {
        "",
        "index",
        *(f"{name}.{ext}" for name in ("index", "default", "home", "main")
          for ext in ("html", "htm", "shtml", "php", "asp", "aspx", "jsp")),
        "portal.php",
        "forum.php",
    }
)  # fmt: skip
# A notice is short: a page with more text than this is read as an article, whatever it says.
NOTICE_MOST = 120
# What is gone (an article, a page, a piece of information), then that it is: never a bare
# "不存在". Searched in texts of `NOTICE_MOST` characters at most.
_NOTICE = re.compile(
    r"(?:文章|信息|資訊|资讯|内容|內容|页面|頁面|网页|網頁|新闻|新聞|稿件|主题|主題|帖子|记录|記錄"
    r"|文档|文檔|栏目|欄目|链接|鏈接|地址)[^。！!？?\n]{0,16}?"
    r"(?:不存在|找不到|未找到|已(?:经|經|被)?(?:被)?(?:删除|刪除|撤销|撤銷|撤回|撤稿|下线|下線|屏蔽|关闭|關閉|过期|過期))"
    r"|\b(?:page|article|post|content|story)\b[^.!?\n]{0,24}?"
    r"\b(?:not (?:be )?found|(?:has been|was) (?:removed|deleted|withdrawn)"
    r"|no longer (?:exists|available)|does not exist)"
    r"|\b404\b[^.!?。！\n]{0,8}?(?:not found|error|错误|錯誤|页面|頁面)"
    r"|(?:错误|錯誤|error)\s*404\b",
    re.IGNORECASE,
)
# A notice speaks to its reader as error pages do (抱歉, 您访问的, 指定的, 返回首页, "the page
# you requested"): a short article saying that a rumour's claim does not exist, even one
# asking 请您不信谣, does not.
_ADDRESSED = re.compile(
    r"抱歉|对不起|對不起|[您你](?:所|要)?(?:访问|訪問|查看|瀏覽|浏览|请求|請求|查找)的?"
    r"|指定的|所(?:请求|請求|访问|訪問)|返回(?:首页|首頁|上一?页|上一?頁)|秒后|秒後"
    r"|\bsorry\b|\byou (?:requested|are looking for)\b|\brequested\b|\b404\b",
    re.IGNORECASE,
)


def redirected_away(requested: str, final: str, lists: Collection[str] = ()) -> str | None:
    """Why `final`, where redirects or refreshes took the article link `requested`, is not
    the article: it is one of the `lists` (the pages the item was listed on), the site's home
    page, or the index page of a section above the article. None when it may be the article."""
    if _same(final, requested):
        return None
    if any(_same(final, page) for page in lists):
        return f"redirected to the list page {final}"
    landed = urlsplit(final)
    folder, _, name = landed.path.rpartition("/")
    if landed.query or name.lower() not in _INDEX_NAMES:
        return None
    if not folder:
        return f"redirected to the site's home page {final}"
    asked = urlsplit(requested).path
    asked_folder, _, asked_name = asked.rpartition("/")
    if asked_name.lower() in _INDEX_NAMES:  # `abc/index.html` sent to `abc/`: itself
        asked = asked_folder
    if asked.startswith(folder + "/") and asked.rstrip("/") != folder:
        return f"redirected to the section's index page {final}"
    return None


def notice(text: str) -> bool:
    """Whether `text`, all a page (or its content) says, is only a notice that the article
    does not exist or was removed."""
    if len(text) > NOTICE_MOST * 4:  # before collapsing spaces: a 1 MB text costs nothing
        return False
    text = " ".join(text.split())
    if len(text) > NOTICE_MOST:
        return False
    return _NOTICE.search(text) is not None and _ADDRESSED.search(text) is not None


def gone_notice(page: lxml.html.HtmlElement, content_html: str) -> str | None:
    """The notice that the article is gone a page shows in its place: Discuz!'s message box
    (`<div id="messagetext">`), or the content read from the page when that is all it says."""
    for box in page.xpath('//*[@id="messagetext"]'):
        said = text_of(box)
        return said if notice(said) else None
    if len(content_html) > NOTICE_MOST * 40:  # a notice's markup is short: not made text at all
        return None
    said = " ".join(html_to_text(content_html).split())
    return said if notice(said) else None


def _same(one: str, other: str) -> bool:
    return _comparable(one) == _comparable(other)


def _comparable(url: str) -> tuple[str, str, str, str]:
    parts = urlsplit(urldefrag(url).url)
    return parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query
