"""`If-None-Match` read as RFC 9110 says: every line of it, tags compared weakly."""

from __future__ import annotations

from aiohttp import hdrs, web


def none_match(request: web.Request, *etags: str) -> bool | None:
    """Whether `If-None-Match` names one of `etags` (or `*`); None when the request has none.
    A proxy may split the list over several lines; a GET compares tags without `W/`."""
    if hdrs.IF_NONE_MATCH not in request.headers:
        return None
    asked = {
        tag.strip().removeprefix("W/")
        for line in request.headers.getall(hdrs.IF_NONE_MATCH)
        for tag in line.split(",")
    }
    return "*" in asked or any(etag in asked for etag in etags)
