"""Hanweb JCMS column pages: their records sit as CDATA in a `<script type="text/xml">`
datastore, which the site's `jpage` script turns into markup in the browser. Expanded in the
script's place, they are elements the operator's list selectors match as on any other list.

Only the first page's datastore is read: jpage asks for the later ones by POST.
"""

from __future__ import annotations

import re
from itertools import islice

import lxml.html
from lxml import etree

from feeds.errors import ParseError
from feeds.htmltree import parse_html

# Per page: a first page holds 45 records; a hostile one's cost an XML parse and one HTML each.
_MAX_RECORDS, _MAX_CHARS = 2_000, 1_000_000
_DATASTORE = re.compile(r"\s*<datastore[\s>]")


def expand_datastores(doc: lxml.html.HtmlElement, *, url: str) -> None:
    """Put each Hanweb datastore's records, parsed as the page is, in place of its script, in
    page order. A script that is no well-formed datastore stays as it is: half a datastore
    would read as a whole list."""
    records_left, chars_left = _MAX_RECORDS, _MAX_CHARS
    for script in list(doc.iter("script")):
        if records_left <= 0:
            break
        text = script.text or ""
        if len(text) > chars_left or not _DATASTORE.match(text):
            continue
        chars_left -= len(text)
        records = _records(text, records_left)
        if not records:
            continue
        records_left -= len(records)
        for markup in records:
            _insert_before(script, markup, url)
        script.drop_tree()


def _records(text: str, most: int) -> list[str]:
    """The markup of the first `most` records of the datastore `text`, none when it is no
    well-formed `<datastore>`. Its entities are never expanded, nor anything fetched."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        remove_comments=True, remove_pis=True,
    )  # fmt: skip
    try:
        root = etree.fromstring(text, parser)
    except etree.LxmlError:
        return []
    if root.tag != "datastore":
        return []
    return ["".join(record.itertext()) for record in islice(root.iter("record"), most)]


def _insert_before(script: lxml.html.HtmlElement, markup: str, url: str) -> None:
    """One record's markup before `script`, parsed alone: a record's broken markup cannot
    swallow the records after it."""
    try:
        body = parse_html(markup, url=url).find("body")
    except ParseError:  # a record of blanks, or of nothing libxml2 reads
        return
    if body is None:
        return
    before, parent = script.getprevious(), script.getparent()
    if body.text and before is not None:
        before.tail = (before.tail or "") + body.text
    elif body.text and parent is not None:
        parent.text = (parent.text or "") + body.text
    for child in list(body):
        script.addprevious(child)
