"""A request's validators, read as RFC 9110 says: every `If-None-Match` line, every date form."""

from __future__ import annotations

from datetime import datetime

from aiohttp import hdrs, web


def asked_etags(request: web.Request) -> set[str]:
    """The entity tags of every `If-None-Match` line (a proxy may split the list over several
    lines), without their weak marks: a GET compares them weakly."""
    return {
        tag.strip().removeprefix("W/")
        for line in request.headers.getall(hdrs.IF_NONE_MATCH, ())
        for tag in line.split(",")
    }


def none_match(request: web.Request, *etags: str) -> bool | None:
    """Whether `If-None-Match` names one of `etags` (or `*`); None when the request has none."""
    if hdrs.IF_NONE_MATCH not in request.headers:
        return None
    asked = asked_etags(request)
    return "*" in asked or any(etag in asked for etag in etags)


def modified_since(request: web.Request) -> datetime | None:
    """`If-Modified-Since` in any of HTTP's three date forms (IMF, RFC 850, asctime), in UTC."""
    return request.if_modified_since
