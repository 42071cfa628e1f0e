"""Discuz! X forum threads (`viewthread.htm`): what the stock template writes around a post.

The thread's heading (`<h1 class="ts">`) holds its category's link before the subject, in
`<span id="thread_subject">`, on lines of their own. A post's text (`td.t_f`) opens with the
edit stamp (`<i class="pstatus"> 本帖最后由 … 编辑 </i>`), a code block ends with its copy
button's text (`复制代码`), and files attached to the post are listed after it, outside the
text, in `div.pattl` (`<p class="attnm"><a href="forum.php?mod=attachment&aid=…">方案.zip</a>`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from itertools import islice

import lxml.html

from feeds.htmltree import text_of

__all__ = ["thread_subject", "tidy_post", "without_forum_name"]

_MOST_FILES = 20
_BREAKS = 2  # `<i class="pstatus">…</i><br /><br />`
_REACH = 3  # from the post's text up to the block listing its files


def thread_subject(headings: Iterable[lxml.html.HtmlElement]) -> str | None:
    """The subject a thread's heading shows in `<span id="thread_subject">`, or None."""
    for heading in headings:
        for span in heading.iter("span"):
            if span.get("id") == "thread_subject" and (subject := text_of(span)):
                return subject
    return None


def tidy_post(post: lxml.html.HtmlElement) -> None:
    """Leave out of a post's text (`td.t_f`) its edit stamp and copy buttons, and append to it
    a link to each file attached to the post; links are already absolute (`prepare_links`)."""
    for element in list(post.iter("i", "em")):
        parent = element.getparent()
        if parent is not None and (
            (element.tag == "i" and _has_class(element, "pstatus"))
            or (element.tag == "em" and _has_class(parent, "blockcode"))
        ):
            _drop_with_breaks(element)
    for link in islice(_attached_files(post), _MOST_FILES):
        paragraph = lxml.html.Element("p")
        paragraph.text = "附件："
        attached = lxml.html.Element("a", href=link.get("href") or "")
        attached.text = text_of(link)
        paragraph.append(attached)
        post.append(paragraph)


def _drop_with_breaks(element: lxml.html.HtmlElement) -> None:
    """Remove `element` and the line breaks right after it that it leaves opening the text."""
    for _ in range(_BREAKS):
        after = element.getnext()
        if (element.tail or "").strip() or after is None or after.tag != "br":
            break
        after.drop_tree()
    element.drop_tree()


def _attached_files(post: lxml.html.HtmlElement) -> Iterable[lxml.html.HtmlElement]:
    """The links of the files listed in the post's `div.pattl`: after its text's table, in the
    post's block."""
    holder = post
    for ancestor in islice(post.iterancestors(), _REACH):
        holder = ancestor
        if ancestor.tag == "table":
            break
    for block in islice(holder.itersiblings("div"), _REACH):
        if not _has_class(block, "pattl"):
            continue
        for paragraph in block.iter("p"):
            if _has_class(paragraph, "attnm"):
                yield from (a for a in paragraph.iter("a") if a.get("href") and text_of(a))


def without_forum_name(description: str, names: Collection[str]) -> str:
    """`description` without the `,{name}` Discuz! appends to it, for one of the site's `names`."""
    comma = max(description.rfind(","), description.rfind("，"))
    if comma < 0 or description[comma + 1 :].strip() not in names:
        return description
    return description[:comma].rstrip()


def _has_class(element: lxml.html.HtmlElement, name: str) -> bool:
    return name in (element.get("class") or "").split()
