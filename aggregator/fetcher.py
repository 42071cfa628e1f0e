"""HTTP(S) and file fetching: limits, politeness and transport errors mapped in one place."""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import aiohttp

from aggregator.config import FetchConfig
from aggregator.contentcoding import ACCEPTED, CodingError, Decoder, TooLarge, Unfinished
from aggregator.errors import BodyTooLarge, FetchError, Refused, RetryLater
from aggregator.netpolicy import check_discovered, host_of, port_problem
from aggregator.proxies import Proxies
from feeds.files import document_type, file_type, names_a_file

MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
_PERMANENT = {301, 308}
_CHUNK = 64 * 1024
_PEEK = 16  # bytes enough for every file signature `feeds.files` knows
_CONDITIONS = frozenset(("If-None-Match", "If-Modified-Since"))
_QUOTED = 200  # characters of a transport error kept
_DIGITS = 16  # a delay in seconds longer than this is no delay (10**15 s is 30 million years)
_SSL_DECORATION = re.compile(r"^\[[A-Z0-9_]+: [A-Z0-9_]+\]\s*|\s*\(_ssl\.c:\d+\)$")


@dataclass(frozen=True, slots=True)
class Response:
    url: str  # where the body came from, after redirects
    status: int
    body: bytes
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    cache_control: str | None = None
    expires: str | None = None
    date: str | None = None  # the upstream's clock, which its `Expires` is reckoned by
    permanent_url: str | None = None  # set when every redirect hop was permanent
    refresh: str | None = None  # a `Refresh` header: "0; url=…", as a meta refresh says it
    content_type: str | None = None  # the media type alone, lower case, when one was sent
    length: int | None = None  # `Content-Length`, when sent
    # With `pages_only`: the media type of an answer that is a file, not a page (its body left
    # unread past what told it)
    file: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """`Retry-After` as seconds from now: a delay in seconds, or an HTTP date (in UTC, as
    HTTP dates are, whatever form it takes); None for anything else."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # headers are read as Latin-1: "\xb2" is "²"
        return float(value) if len(value) < _DIGITS else None  # 400 digits: "infs"
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now)
    except (TypeError, ValueError, OverflowError):  # the year 99999999999
        return None


def _header(resp: aiohttp.ClientResponse, name: str) -> str | None:
    """A response header as text any store can hold. aiohttp reads bytes that are not UTF-8
    as lone surrogates, which SQLite refuses: an `ETag` or a `Location` in Latin-1 failed the
    whole run. Such bytes are percent-encoded, as browsers encode them in a `Location`."""
    value = resp.headers.get(name)
    if value is None or value.isascii():
        return value
    return printable(value)


# Surrogates that are no undecodable byte (`surrogateescape` writes those as U+DC80–U+DCFF).
_LONE_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def printable(text: str) -> str:
    """`text` with the bytes it could not decode percent-encoded, and any other lone surrogate
    (a JSON answer's `\\ud800` escape, quoted in its error) as U+FFFD."""
    text = _LONE_SURROGATE.sub("\ufffd", text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        return "".join(chr(byte) if byte < 0x80 else f"%{byte:02X}" for byte in raw)
    return text


@dataclass(slots=True)
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0  # requests holding or awaiting the semaphore


class HostSlots:
    """At most `per_host` requests at a time to each host.

    A host's semaphore lives only while a request holds or awaits it: one kept for every
    host ever fetched would grow with the number of sources (and the article hosts they
    link to) for the life of the process.
    """

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._slots: dict[str, _HostSlot] = {}

    def __len__(self) -> int:
        return len(self._slots)

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        entry = self._slots.get(host)
        if entry is None:
            entry = self._slots[host] = _HostSlot(asyncio.Semaphore(self._per_host))
        entry.users += 1
        try:
            async with entry.semaphore:
                yield
        finally:
            entry.users -= 1
            if not entry.users:
                del self._slots[host]


# A source's host is asked again within seconds (its list pages, then its articles) or not for
# minutes. aiohttp's default of 15 s kept a socket open to every host fetched in that window:
# 2,300 of them, about 30 MB, in a first fetch of 10,000 sources, and more the faster it ran.
IDLE_CONNECTION_SECONDS = 2.0


class Fetcher:
    """One shared `ClientSession` with global and per-host concurrency limits.

    The limits are our semaphores, not the connector's, so that `reconfigure` (a config
    reload) can change them, the timeout and the user agent without a new session.
    """

    def __init__(self, config: FetchConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None
        self._all = asyncio.Semaphore(config.concurrency)
        self._hosts = HostSlots(config.per_host)
        self._proxies = Proxies(config.proxy)

    async def __aenter__(self) -> Fetcher:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=0, ttl_dns_cache=300, keepalive_timeout=IDLE_CONNECTION_SECONDS
            ),
            max_field_size=16 * 1024,
            # Decoded here (`contentcoding`): aiohttp takes a gzip stream cut short for a whole.
            auto_decompress=False,
            # An upstream's cookies are not kept: one sent `Domain=cn` cookies to every other
            # source under `.cn`, whose requests then grew past servers' header limits.
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()

    def reconfigure(self, config: FetchConfig) -> None:
        """Apply reloaded `[fetch]` settings; requests in flight keep the slots they hold."""
        if (config.concurrency, config.per_host) != (self.config.concurrency, self.config.per_host):
            self._all = asyncio.Semaphore(config.concurrency)
            self._hosts = HostSlots(config.per_host)
        if config.proxy != self.config.proxy:
            self._proxies = Proxies(config.proxy)
        self.config = config

    async def get(
        self,
        url: str,
        *,
        source_url: str,
        hosts: Collection[str],
        hosts_key: str = "follow_hosts",
        etag: str | None = None,
        last_modified: str | None = None,
        verify_tls: bool = True,
        headers: Sequence[tuple[str, str]] = (),
        host_slots: HostSlots | None = None,
        permit: Callable[[str], Awaitable[str | None]] | None = None,
        pages_only: bool = False,
        post: tuple[bytes, str] | None = None,
    ) -> Response:
        """GET `url`, following redirects only within `hosts` (see `netpolicy`; `hosts_key` is
        the setting that lists them, for the refusal's message); `verify_tls`
        False accepts any certificate (a source's `tls_verify = false`), on every hop.
        `headers` (a source's own, its User-Agent included) go with every hop. `host_slots`
        limits requests to one host instead of `fetch.per_host`. `permit` gives the reason a
        redirect's target may not be asked for (robots.txt), if any, before it is. With
        `pages_only`, an answer that is a file (`Response.file`) is read no further than what
        told it: an article link to a 30 MB PDF costs its headers, or its first bytes. With
        `post` (a body and its content type), asked by POST; a redirect other than 307 and 308
        is then followed by GET, as browsers do."""
        slots = self._hosts if host_slots is None else host_slots  # (empty is falsy)
        if urlsplit(url).scheme == "file":
            return await self._read_file(url)
        sent = {"Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, "
                "application/feed+json, text/html;q=0.8, */*;q=0.5",
                "Accept-Encoding": ACCEPTED, "User-Agent": self.config.user_agent}  # fmt: skip
        for name, value in headers:  # the last word on a header, however it is spelt
            for same in [key for key in sent if key.lower() == name.lower()]:
                del sent[same]
            sent[name] = value
        if post is not None and not any(key.lower() == "content-type" for key in sent):
            sent["Content-Type"] = post[1]  # unless the source's headers name another
        if etag:
            sent["If-None-Match"] = etag
        if last_modified:
            sent["If-Modified-Since"] = last_modified
        seen = {url}
        permanent_url: str | None = None
        all_permanent = True
        # `fetch.timeout` covers every hop together; waiting for a free slot is not a hop (a
        # redirect waited behind slow sources of its host, and timed out, under load).
        # The host's slot first: requests queued for a slow host (a list page's articles)
        # held every place of `fetch.concurrency` while they waited, and no other host was
        # asked for anything meanwhile.
        spent = 0.0
        for _ in range(MAX_REDIRECTS + 1):
            async with slots.slot(host_of(url)), self._all:
                started = time.monotonic()
                try:
                    outcome = await self._request(
                        url, sent, self.config.timeout - spent, verify_tls, pages_only, post
                    )
                finally:
                    spent += time.monotonic() - started
            if isinstance(outcome, Response):
                return outcome if permanent_url is None else _with_permanent(outcome, permanent_url)
            status, location = outcome
            try:
                target = urljoin(url, location)
            except ValueError:  # "http://[::1/": an IPv6 host without its "]"
                raise FetchError(
                    f"redirect to an invalid URL: {location!r}", url=url, status=status
                ) from None
            if problem := port_problem(target):  # aiohttp refuses it without saying why
                raise FetchError(
                    f"redirect to an invalid URL: {location!r} ({problem})", url=url, status=status
                )
            if target in seen:
                raise FetchError(f"redirect loop through {target}", url=url, status=status)
            if reason := await check_discovered(
                target, source_url=source_url, hosts=hosts, hosts_key=hosts_key
            ):
                raise Refused(f"redirect to {target} refused: {reason}", url=url, status=status)
            if permit is not None and (reason := await permit(target)):
                raise Refused(f"redirect to {target} refused: {reason}", url=url, status=status)
            moved = status in _PERMANENT
            if post is not None and status not in (307, 308):
                # a form answered by "see there": its answer is read there by GET, and the
                # form itself did not move (asked there by POST, it would be refused)
                post, moved = None, False
                for key in [key for key in sent if key.lower() == "content-type"]:
                    del sent[key]
            all_permanent = all_permanent and moved
            permanent_url = target if all_permanent else None
            seen.add(target)
            url = target
        raise FetchError(f"more than {MAX_REDIRECTS} redirects", url=url)

    async def _request(
        self,
        url: str,
        headers: dict[str, str],
        seconds_left: float,
        verify_tls: bool,
        pages_only: bool,
        post: tuple[bytes, str] | None = None,
    ) -> Response | tuple[int, str]:
        assert self._session is not None, "use Fetcher as an async context manager"
        try:
            if seconds_left <= 0:
                raise TimeoutError
            timeout = aiohttp.ClientTimeout(total=seconds_left)
            async with self._session.request(
                "GET" if post is None else "POST",
                url,
                data=None if post is None else post[0],
                headers=headers,
                allow_redirects=False,
                timeout=timeout,
                ssl=verify_tls,  # False: encrypted, unverified; pooled apart from verified
                proxy=self._proxies.for_url(url),
            ) as resp:
                location = _header(resp, "Location")
                reason = printable(resp.reason or "")
                if resp.status in _REDIRECTS and location is not None:
                    if not location.strip():
                        moved = f"HTTP {resp.status} {reason}".strip()
                        raise FetchError(f"{moved}, redirect to an empty Location", url=url,
                                         status=resp.status)  # fmt: skip
                    return resp.status, location
                if resp.status in (429, 503):
                    delay = retry_after_seconds(resp.headers.get("Retry-After"), time.time())
                    raise RetryLater(
                        f"HTTP {resp.status} {reason}".strip()
                        + _retry_text(delay, self.config.max_interval),
                        url=url,
                        status=resp.status,
                        retry_after=delay or 0.0,
                    )
                file = None
                if resp.status == 304:
                    if not _CONDITIONS & headers.keys():  # it stored nothing, and never will
                        raise FetchError("HTTP 304 Not Modified, though nothing was asked "
                                         "conditionally", url=url, status=304)  # fmt: skip
                    body = b""
                elif resp.status >= 400:
                    raise FetchError(f"HTTP {resp.status} {reason}".strip(), url=url,
                                     status=resp.status)  # fmt: skip
                elif pages_only:
                    file, body = await self._page_or_file(resp, url)
                else:
                    body = await self._read_body(resp, url)
                return Response(
                    url=url,
                    status=resp.status,
                    body=body,
                    charset=resp.charset,
                    etag=_header(resp, "ETag"),
                    last_modified=_header(resp, "Last-Modified"),
                    cache_control=_header(resp, "Cache-Control"),
                    expires=_header(resp, "Expires"),
                    date=_header(resp, "Date"),
                    refresh=_header(resp, "Refresh"),
                    content_type=resp.content_type if "Content-Type" in resp.headers else None,
                    length=resp.content_length,
                    file=file,
                )
        except TimeoutError as exc:
            raise FetchError(f"timed out after {self.config.timeout:g}s", url=url) from exc
        except aiohttp.ClientError as exc:
            raise FetchError(transport_problem(exc), url=url) from exc

    async def _page_or_file(
        self, resp: aiohttp.ClientResponse, url: str
    ) -> tuple[str | None, bytes]:
        """The media type of an answer that is a file (by its `Content-Type`, an `attachment`
        disposition, or, named as nothing or as a page, its first bytes), with the bytes read;
        else None and the whole body. Government servers send their PDFs as
        `application/octet-stream`, or as `text/html`."""
        disposition = resp.headers.get("Content-Disposition", "")
        if names_a_file(resp.content_type):
            return resp.content_type, b""
        if disposition.split(";", 1)[0].strip().lower() == "attachment":
            named = resp.content_disposition.filename if resp.content_disposition else None
            return document_type(f"/{named}" if named else "") or resp.content_type, b""
        if resp.headers.get("Content-Encoding"):  # its first bytes tell only once decoded
            body = await self._read_body(resp, url)
            return file_type(None, body), body
        head = await resp.content.read(_PEEK)
        if kind := file_type(None, head):
            return kind, head
        return None, await self._read_body(resp, url, head)

    async def _read_body(self, resp: aiohttp.ClientResponse, url: str, head: bytes = b"") -> bytes:
        limit = self.config.max_bytes
        if resp.content_length is not None and resp.content_length > limit:
            raise BodyTooLarge(
                f"body of {resp.content_length} bytes exceeds fetch.max_bytes ({limit})",
                url=url,
                status=resp.status,
            )
        chunks, size = [head], len(head)
        try:
            decoder = Decoder(resp.headers.get("Content-Encoding"), limit)
            async for chunk in resp.content.iter_chunked(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(
                        f"body exceeds fetch.max_bytes ({limit}) streamed",
                        url=url,
                        status=resp.status,
                    )
                chunks.append(decoder.feed(chunk))
            decoder.finish()
        except TooLarge:
            raise BodyTooLarge(
                f"body exceeds fetch.max_bytes ({limit}) once decompressed",
                url=url,
                status=resp.status,
            ) from None
        except Unfinished as exc:
            raise FetchError(f"body cut short: {exc}", url=url, status=resp.status) from None
        except CodingError as exc:
            raise FetchError(
                f"body cannot be decoded: {exc}", url=url, status=resp.status
            ) from None
        return b"".join(chunks)

    async def _read_file(self, url: str) -> Response:
        path = Path(url2pathname(urlsplit(url).path))

        def read() -> bytes:
            with path.open("rb") as handle:
                data = handle.read(self.config.max_bytes + 1)
            if len(data) > self.config.max_bytes:
                raise BodyTooLarge(
                    f"file exceeds fetch.max_bytes ({self.config.max_bytes})", url=url
                )
            return data

        try:
            body = await asyncio.to_thread(read)
        except OSError as exc:
            raise FetchError(f"cannot read file: {exc.strerror or exc}", url=url) from exc
        return Response(url=url, status=200, body=body)


def transport_problem(exc: aiohttp.ClientError) -> str:
    """An operator's reading of an aiohttp failure: what went wrong, not the class name."""
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return f"connection refused by the proxy {exc.host}:{exc.port}"
        why = exc.os_error.strerror or exc.os_error
        return f"cannot connect to the proxy {exc.host}:{exc.port}: {why}"
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return f"the proxy refused the request: HTTP {exc.status} {exc.message}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"DNS lookup failed for {exc.host}: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        error = exc.certificate_error
        why = getattr(error, "verify_message", None) or _ssl_text(error)
        return f"TLS failed: the certificate of {exc.host}:{exc.port} is not accepted: {why}"
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return f"TLS failed: handshake with {exc.host}:{exc.port}: {_ssl_text(exc.os_error)}"
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"TLS failed: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return f"connection refused by {exc.host}:{exc.port}"
        return f"cannot connect to {exc.host}:{exc.port}: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"not a URL that can be requested: {port_problem(str(exc.url)) or exc}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"body cut short: {_one_line(str(exc))}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"malformed HTTP response: {_one_line(exc.message)}"
    return f"connection failed: {_one_line(str(exc))}"


def _one_line(text: str) -> str:
    """A parser's complaint on one line, and short: it quotes up to 600 of the upstream's
    bytes over several lines, and `last_error` is one line of a table."""
    line = " ".join(printable(text).split())
    return line if len(line) <= _QUOTED else line[: _QUOTED - 1] + "…"


def _ssl_text(error: BaseException) -> str:
    """OpenSSL's words without the library tag and source line: `[SSL: WRONG_VERSION_NUMBER]
    wrong version number (_ssl.c:1006)` reads `wrong version number`."""
    text = str(error.args[-1]) if error.args else ""
    return _SSL_DECORATION.sub("", text).strip() or type(error).__name__


def _retry_text(delay: float | None, longest: float) -> str:
    """How long an upstream asked us to wait; `policy.next_delay` waits no longer than
    `fetch.max_interval` (or a source's longer interval)."""
    if not delay:
        return ""
    if delay > longest:
        return f", retry after {delay:.0f}s: longer than fetch.max_interval, which is waited"
    return f", retry after {delay:.0f}s"


def _with_permanent(response: Response, permanent_url: str) -> Response:
    return replace(response, permanent_url=permanent_url)
