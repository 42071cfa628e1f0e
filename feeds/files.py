"""Files a page links to that are not pages: a notice's PDF, an office document, an archive, a
picture. Government lists link such files as their items, and read as a page, a PDF's bytes
were published as its item's text.

A file is known by its address's extension, by the media type its server names, or by its
first bytes, whatever the server names.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Office documents, China's OFD and WPS formats, and archives: what notices attach.
_BY_EXTENSION = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "wps": "application/vnd.ms-works",
    "et": "application/vnd.ms-excel",
    "ofd": "application/ofd",
    "zip": "application/zip",
    "rar": "application/vnd.rar",
    "7z": "application/x-7z-compressed",
}
_EXTENSION = re.compile(r"\.([a-z0-9]{1,4})$", re.IGNORECASE)
_UNNAMED = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_PAGES = re.compile(r"text/.*|.*[/+](?:html|xml|json)")
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),  # and every OOXML, OFD and ODF document
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # .doc, .xls, .ppt, .wps
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
)


def document_type(url: str) -> str | None:
    """The media type of the document `url`'s path names by its extension, if it names one."""
    try:
        found = _EXTENSION.search(urlsplit(url).path)
    except ValueError:  # "http://[::1/": an IPv6 host without its "]"
        return None
    return _BY_EXTENSION.get(found.group(1).lower()) if found else None


def names_a_file(media_type: str | None) -> bool:
    """True when a server's `Content-Type` (its media type alone) says the body is a file, so
    that it need not be read: not text, markup or JSON, nor the type that names nothing."""
    kind = (media_type or "").lower()
    return kind not in _UNNAMED and not _PAGES.fullmatch(kind)


def file_type(media_type: str | None, body: bytes) -> str | None:
    """The media type of a body that is a file and not a page; None for a page."""
    if names_a_file(media_type):
        return (media_type or "").lower()
    # whatever the server says: one that names every answer `text/html` sends PDFs so too
    return next((kind for magic, kind in _SIGNATURES if body.startswith(magic)), None)
