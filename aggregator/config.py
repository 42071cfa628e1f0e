"""Load `config.toml` into frozen records, reporting every fault at once with its key path."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import socket
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator.configtable import Table
from aggregator.errors import ConfigError
from aggregator.netpolicy import port_problem
from aggregator.settings import (
    FEED_KEYS,
    FETCH_KEYS,
    SERVICE_KEYS,
    SOURCE_KEYS,
    STORIES_KEYS,
    TOP_KEYS,
)
from feeds import selectors
from feeds.charset import canonical_codec
from feeds.jsonpaths import JsonDetailRules, JsonListRules, json_detail_rules, json_list_rules
from feeds.model import Party
from feeds.sanitize import web_url
from feeds.selectors import (
    ArticleRules,
    ListRules,
    SelectorErrors,
    article_rules,
    close_key,
    list_rules,
    unknown_key,
)

ENV_CONFIG = "AGGREGATOR_CONFIG"
# \A and \Z: `$` also matches before a final newline, and "abc\n" would go into URLs.
ID_PATTERN = re.compile(r"\A[a-z0-9_-]+\Z")
SOURCE_TYPES = ("feed", "html", "json")
MAX_WORKERS = 64  # server processes sharing the port, the main one included
# A host name or an IPv4 address, as `service.image_proxy_hosts` lists them (no scheme or port).
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")  # of a DNS name
MIN_SENSIBLE_INTERVAL = 60.0  # seconds; shorter intervals are warned about, not refused
_MINUTE, _DAY = 60.0, 86400.0
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024  # rendered feeds kept in memory, per server process


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    title: str
    description: str
    base_url: str
    host: str
    port: int
    database: Path
    timezone: ZoneInfo
    cache_max_age: float
    websub_hub: str | None
    admin_host: str | None = None  # None: `host`
    admin_port: int | None = None  # None: the admin API shares the public listener
    workers: int = 1
    image_proxy_hosts: tuple[str, ...] = ()  # pictures of these hosts served through /images/
    log_level: str = "info"
    cache_max_bytes: int = DEFAULT_CACHE_BYTES


@dataclass(frozen=True, slots=True)
class FetchConfig:
    interval: float
    timeout: float
    max_bytes: int
    concurrency: int
    per_host: int
    user_agent: str
    retention: float
    max_interval: float
    respect_robots: bool
    failing_after: int
    proxy: str | None = None
    max_entries: int = 1000


@dataclass(frozen=True, slots=True)
class SourceConfig:
    id: str
    name: str
    url: str
    type: str
    interval: float
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    language: str | None = None
    publisher: Party | None = None
    encoding: str | None = None
    follow_hosts: tuple[str, ...] = ()
    iframe_hosts: tuple[str, ...] = ()
    full_content: bool = False
    enabled: bool = True
    dedupe: bool = True
    respect_robots: bool = True
    tls_verify: bool = True
    user_agent: str | None = None  # None: `fetch.user_agent`
    headers: tuple[tuple[str, str], ...] = ()
    list: ListRules | JsonListRules | None = None  # JsonListRules for `type = "json"`
    article: ArticleRules | None = None
    detail: JsonDetailRules | None = None  # a json source's detail API

    @property
    def lists(self) -> bool:
        """Whether the source's own document is a list of articles (`html` or `json`), read
        with `[sources.list]`, rather than a feed."""
        return self.type != "feed"

    def rules_digest(self) -> str:
        """A digest of what shapes the items read from this source (its address, type,
        selectors, charset, tags…), not of when or whether it is read: stored with each read,
        a change makes the next read whole (`storage.FetchState.rules`)."""
        shaping: tuple[object, ...] = (
            self.url, self.type, self.encoding, self.list, self.article, self.full_content,
            self.tags, self.language, self.follow_hosts, self.iframe_hosts,
        )  # fmt: skip
        if self.detail is not None:  # only then: every other source's digest stays as it was
            shaping += (self.detail,)
        if self.lists or self.full_content:  # and how this release reads pages
            shaping += (selectors.PAGE_RULES,)
        return hashlib.sha256(repr(shaping).encode()).hexdigest()[:16]

    @property
    def request_headers(self) -> tuple[tuple[str, str], ...]:
        """What every request of this source sends besides the fetcher's own headers."""
        agent = (("User-Agent", self.user_agent),) if self.user_agent else ()
        return agent + self.headers


@dataclass(frozen=True, slots=True)
class FeedConfig:
    id: str
    title: str
    description: str
    sources: tuple[str, ...]  # resolved: the source ids this feed publishes
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    limit: int = 50
    # membership tests: a merged feed may publish thousands of sources
    source_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "source_set", frozenset(self.sources))


@dataclass(frozen=True, slots=True)
class StoriesConfig:
    mirror_hosts: dict[str, str] = field(default_factory=dict)
    split: frozenset[str] = frozenset()  # item URLs that never join another item's story
    withdrawn: frozenset[str] = frozenset()  # item URLs published nowhere


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    service: ServiceConfig
    fetch: FetchConfig
    sources: tuple[SourceConfig, ...]
    feeds: tuple[FeedConfig, ...]  # "all" first
    stories: StoriesConfig = field(default_factory=StoriesConfig)
    # when what the file says last changed (Unix seconds): the file's time as read, then the
    # one the store keeps for `digest` (`aggregator.configdate`); every document's
    # `Last-Modified` is no earlier
    modified: float = 0.0
    digest: str = field(default="", compare=False)  # of the settings as read, not the text
    # whether `modified` is the store's date for `digest` (`aggregator.configdate`), not the
    # file's: a process that read the file before the server recorded it asks again
    dated_by_store: bool = field(default=False, compare=False)
    # lookups by id: rendering asks once per entry, with thousands of sources configured
    _sources_by_id: dict[str, SourceConfig] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sources_by_id", {s.id: s for s in self.sources})

    def source(self, source_id: str) -> SourceConfig | None:
        return self._sources_by_id.get(source_id)

    def dated_as(self, running: Config) -> Config:
        """`running` when this differs from it in the file's time only (saved unchanged: a
        comment, a touch): no document changed then, and every process, one started later
        too, must date the documents it renders as the others do."""
        return running if replace(self, modified=running.modified) == running else self

    def feed(self, feed_id: str) -> FeedConfig | None:
        return next((f for f in self.feeds if f.id == feed_id), None)

    def warnings(self) -> list[str]:
        """Valid settings that are likely mistakes: an interval under a minute (`1ms` for
        `1m`) asks the upstream again as soon as the last fetch ends."""
        found = []
        if not self.sources:
            found.append("sources: none configured: nothing is fetched or published")
        default = self.fetch.interval
        inherit = sum(s.enabled and s.interval == default for s in self.sources)
        if default < MIN_SENSIBLE_INTERVAL and inherit:
            found.append(
                f"fetch.interval: {default:g}s is under a minute: "
                f"{inherit} source{'' if inherit == 1 else 's'} taking it "
                f"{'is' if inherit == 1 else 'are'} asked again that often"
            )
        # one line for the sources that take `fetch.interval`: one each was 2,000 lines
        for index, source in enumerate(self.sources):
            own = source.interval != default
            if source.enabled and own and source.interval < MIN_SENSIBLE_INTERVAL:
                found.append(
                    f"sources[{index}].interval: {source.interval:g}s is under a minute: "
                    f"{source.url} is asked again that often"
                )
        for index, feed in enumerate(self.feeds[1:]):  # the first is the implicit "all"
            if self.sources and not feed.sources:
                found.append(
                    f"feeds[{index}]: {quoted(feed.id)} selects no source, and stays empty "
                    "(its tags are compared with the sources' as written, case and all)"
                )
        return found


def quoted(text: str) -> str:
    """`text` in double quotes, as SPEC §3 quotes an id (`unknown source "hzfx"`), with a
    line break or a quote in it escaped."""
    return json.dumps(text, ensure_ascii=False)


def default_config_path() -> Path:
    return Path(os.environ.get(ENV_CONFIG, "config.toml"))


def load_config(path: Path) -> Config:
    """Read and validate `path`; raise `ConfigError` listing every problem found."""
    try:
        text = config_text(path.read_bytes())
        modified = min(path.stat().st_mtime, time.time())  # a clock ahead is not the future
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc.strerror or exc}"], path=str(path)) from exc
    except ValueError as exc:
        raise ConfigError([str(exc)], path=str(path)) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"], path=str(path)) from exc
    except RecursionError as exc:  # tomllib recurses once per nested array or inline table
        raise ConfigError(
            ["not valid TOML: arrays or inline tables nested too deeply"], path=str(path)
        ) from exc
    config = config_from_mapping(data, path=path, modified=modified)
    return replace(config, digest=settings_digest(data))


# Settings that change no published document: a change of them dates none anew.
_UNSHOWN_SERVICE_KEYS = frozenset(
    {"host", "port", "database", "admin_host", "admin_port", "workers", "log_level",
     "cache_max_bytes"}
)  # fmt: skip


def settings_digest(data: Mapping[str, Any]) -> str:
    """A digest of the settings a file gives that documents show, not of its text: a comment,
    the order of keys or how a string is quoted change nothing, nor do `[fetch]` (what the
    fetches store dates the documents by itself) and the process's own settings."""
    shown = {key: value for key, value in data.items() if key != "fetch"}
    if isinstance(service := data.get("service"), Mapping):
        shown["service"] = {k: v for k, v in service.items() if k not in _UNSHOWN_SERVICE_KEYS}
    canonical = json.dumps(shown, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def config_text(data: bytes) -> str:
    """The config file's text, without the byte order mark Windows editors write first; a
    `ValueError` naming the line and column of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode("utf-8")) + 1
        raise ValueError(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {column}"
            " (save the file as UTF-8)"
        ) from exc


def config_from_mapping(data: Mapping[str, Any], *, path: Path, modified: float = 0.0) -> Config:
    errors: list[str] = []
    folder = path.resolve().parent
    Table(data, "", TOP_KEYS, errors)
    service = _service(Table(data.get("service", {}), "service", SERVICE_KEYS, errors), folder)
    fetch = _fetch(Table(data.get("fetch", {}), "fetch", FETCH_KEYS, errors))
    sources = _sources(data.get("sources", []), fetch, folder, errors)
    feeds = _feeds(data.get("feeds", []), service, sources, errors)
    stories = _stories(Table(data.get("stories", {}), "stories", STORIES_KEYS, errors))
    if errors:
        raise ConfigError(_naming_sources(errors, data.get("sources")), path=str(path))
    return Config(
        path=path, service=service, fetch=fetch, sources=sources, feeds=feeds, stories=stories,
        modified=modified,
    )  # fmt: skip


def _stories(table: Table) -> StoriesConfig:
    mirrors = table.data.get("mirror_hosts", {})
    if not isinstance(mirrors, Mapping) or not all(isinstance(v, str) for v in mirrors.values()):
        table.fail("mirror_hosts", "must be a table of host = canonical host strings")
        mirrors = {}
    lowered = {k.lower(): v.lower() for k, v in mirrors.items()}
    return StoriesConfig(
        mirror_hosts=lowered,
        split=_item_urls(table, "split"),
        withdrawn=_item_urls(table, "withdraw"),
    )


def _item_urls(table: Table, key: str) -> frozenset[str]:
    """The `urls` of every `[[stories.{key}]]` table."""
    tables = table.data.get(key, [])
    if not isinstance(tables, list):
        table.fail(key, f"must be an array of tables ([[stories.{key}]])")
        return frozenset()
    urls: list[str] = []
    for index, entry in enumerate(tables):
        inner = Table(entry, f"stories.{key}[{index}]", {"urls": "item URLs"}, table.errors)
        found = [url.strip() for url in inner.strings("urls")]
        if not all(found):
            inner.fail("urls", "an empty URL matches no item")
        urls += filter(None, found)
    return frozenset(urls)


def _service(table: Table, folder: Path) -> ServiceConfig:
    base_url = table.get("base_url", str, "http://127.0.0.1:8080").rstrip("/")
    if not _web_address(base_url):
        table.fail("base_url", "must be an http(s) URL")
    zone_name = table.get("timezone", str, "Asia/Shanghai")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        table.fail("timezone", f"unknown time zone {zone_name!r}")
        zone = ZoneInfo("UTC")
    admin_port = None
    if "admin_port" in table.data:
        admin_port = table.positive_int("admin_port", 8081, 65535)
        same_host = table.data.get("admin_host", "") in ("", table.data.get("host", "127.0.0.1"))
        if same_host and admin_port == table.data.get("port", 8080):
            table.fail("admin_port", "must differ from service.port on the same host")
    workers = table.positive_int("workers", 1, MAX_WORKERS)
    if workers > 1 and not hasattr(socket, "SO_REUSEPORT"):
        table.fail("workers", "more than 1 needs SO_REUSEPORT, which this system lacks")
    hub = table.get("websub_hub", str, "") or None
    if hub and _scheme(hub) not in ("http", "https"):
        table.fail("websub_hub", "must be an http(s) URL")
    image_hosts = tuple(h.lower() for h in table.strings("image_proxy_hosts"))
    if bad := [h for h in image_hosts if not _proxied_host(h)]:
        table.fail(
            "image_proxy_hosts",
            f"must be host names such as mmbiz.qpic.cn (or host:port), not {bad[0]!r}",
        )
    return ServiceConfig(
        title=table.get("title", str, "Aggregator"),
        description=table.get("description", str, ""),
        base_url=base_url,
        host=_listen_host(table, "host", "127.0.0.1"),
        port=table.positive_int("port", 8080, 65535),
        database=_database(table, folder),
        timezone=zone,
        cache_max_age=table.duration("cache_max_age", 5 * _MINUTE, zero=True),
        websub_hub=hub,
        admin_host=_listen_host(table, "admin_host", "") or None,
        admin_port=admin_port,
        workers=workers,
        image_proxy_hosts=image_hosts,
        log_level=_log_level(table),
        cache_max_bytes=table.size("cache_max_bytes", DEFAULT_CACHE_BYTES),
    )


LOG_LEVELS = ("debug", "info", "warning", "error")


def _log_level(table: Table) -> str:
    level = table.get("log_level", str, "info")
    if level not in LOG_LEVELS:
        table.fail("log_level", f"must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
        return "info"
    return level


def _listen_host(table: Table, key: str, default: str) -> str:
    """A host name or an IP address to listen on: anything else passed `check` and made
    `serve` fail with the resolver's bare "Unknown error -2"."""
    host = table.get(key, str, default)
    if host == default or _is_host(host):
        return host
    table.fail(key, f"{host!r} is not a host name or an IP address (0.0.0.0: every interface)")
    return default


def _is_host(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        name = text.removesuffix(".")
        return 0 < len(name) <= 253 and all(_LABEL.fullmatch(part) for part in name.split("."))
    return True


def _database(table: Table, folder: Path) -> Path:
    """The SQLite file: an empty `database` named the config's folder, which SQLite cannot
    open, and every command but `check` failed on it."""
    name = table.get("database", str, "var/aggregator.sqlite3")
    path = folder / name
    if not name.strip() or "\x00" in name:
        table.fail("database", f"{name!r} must name a file, such as var/aggregator.sqlite3")
    elif name.endswith("/") or os.path.isdir(path):
        table.fail("database", f"{name!r} is a folder: name a file in it")
    return path


def _fetch(table: Table) -> FetchConfig:
    return FetchConfig(
        interval=table.duration("interval", 15 * _MINUTE),
        timeout=table.duration("timeout", 20.0),
        max_bytes=table.size("max_bytes", 10 * 1024 * 1024),
        concurrency=table.positive_int("concurrency", 32, 10_000),
        per_host=table.positive_int("per_host", 2, 1_000),
        user_agent=table.header_value("user_agent", "aggregator/0.1") or "aggregator/0.1",
        retention=table.duration("retention", 365 * _DAY),
        max_interval=table.duration("max_interval", _DAY),
        respect_robots=table.get("respect_robots", bool, True),
        failing_after=table.positive_int("failing_after", 10),
        proxy=_proxy(table),
        max_entries=table.positive_int("max_entries", 1000),
    )


def _proxied_host(entry: str) -> bool:
    """A host name, or `host:port` for a picture host on another port than 80 and 443."""
    name, colon, port = entry.partition(":")
    if colon and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        return False
    return bool(_HOST.fullmatch(name))


def _scheme(url: str) -> str | None:
    """The URL's scheme in lower case; None when it does not parse ("http://[x/")."""
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:
        return None


def _proxy(table: Table) -> str | None:
    """An http:// proxy URL; aiohttp speaks plain HTTP to proxies (https targets by CONNECT)."""
    proxy = table.get("proxy", str, "").strip()
    if not proxy:
        return None
    try:
        parts = urlsplit(proxy)
        valid = parts.scheme.lower() == "http" and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a bad port or IPv6 literal
        valid = False
    if not valid:
        table.fail("proxy", f"{proxy!r} must be an http://host:port URL")
    return proxy


def source_url_problem(raw: str) -> str | None:
    """Why a source's `url` is refused, or None. `opml import` skips an outline for the same
    reasons, so that one bad entry does not refuse the whole import."""
    scheme = _scheme(raw)
    if scheme is None or "\x00" in raw:
        return "not a URL or path"
    if scheme in ("http", "https"):
        if not urlsplit(raw).hostname:  # "https:host/feed", "http:///feed": nothing to ask
            return "no host"
        return port_problem(raw)
    if scheme != "file" and len(scheme) > 1:  # one letter: a Windows drive, a path
        return f"unsupported URL scheme {scheme!r} (http, https, file or a path)"
    return None


def _source_url(raw: str, folder: Path, table: Table) -> str:
    if problem := source_url_problem(raw):
        table.fail("url", f"{problem}: {raw!r}")
        return raw
    if _scheme(raw) in ("http", "https", "file"):
        return raw
    return (folder / raw).resolve().as_uri()


_SOURCE_AT = re.compile(r"sources\[(\d+)\]")


def _naming_sources(errors: list[str], raw: object) -> list[str]:
    """Each problem of a `[[sources]]` table ends with the source's id where it has one: with
    2,000 tables, `sources[1914]` alone had the operator count them."""
    tables = raw if isinstance(raw, list) else []
    named = []
    for error in errors:
        found = _SOURCE_AT.match(error)
        table = tables[int(found[1])] if found and int(found[1]) < len(tables) else None
        ident = table.get("id") if isinstance(table, dict) else None
        about_id = found is not None and error.startswith(f"{found[0]}.id:")
        if isinstance(ident, str) and ident and not about_id:
            error += f" (source {quoted(ident)})"
        named.append(error)
    return named


def _sources(
    raw: object, fetch: FetchConfig, folder: Path, errors: list[str]
) -> tuple[SourceConfig, ...]:
    if not isinstance(raw, list):
        errors.append("sources: must be an array of tables ([[sources]])")
        return ()
    seen: set[str] = set()
    result = []
    for index, item in enumerate(raw):
        table = Table(item, f"sources[{index}]", SOURCE_KEYS, errors)
        source_id = table.required_str("id")
        if source_id and not ID_PATTERN.fullmatch(source_id):
            table.fail("id", f"{source_id!r} must match [a-z0-9_-]+")
        elif source_id and source_id in seen:  # a missing id is said once, as missing
            table.fail("id", f"duplicate source id {source_id!r}")
        seen.add(source_id)
        kind = table.get("type", str, "feed")
        if kind not in SOURCE_TYPES:
            table.fail("type", f'must be "feed", "html" or "json", not {kind!r}')
        url = _source_url(table.required_str("url"), folder, table)
        listing, article = _rules(table, kind)
        full_content = table.get("full_content", bool, False)
        if full_content and kind != "feed":
            table.fail("full_content", 'applies to type = "feed" sources only')
        result.append(
            SourceConfig(
                id=source_id,
                name=table.get("name", str, source_id) or source_id,
                url=url,
                type=kind,
                interval=table.duration("interval", fetch.interval),
                aliases=table.strings("aliases"),
                tags=table.strings("tags"),
                language=table.get("language", str, "") or None,
                publisher=_party(table, "publisher"),
                encoding=_encoding(table),
                follow_hosts=tuple(h.lower() for h in table.strings("follow_hosts")),
                iframe_hosts=tuple(h.lower() for h in table.strings("iframe_hosts")),
                full_content=full_content,
                enabled=table.get("enabled", bool, True),
                dedupe=table.get("dedupe", bool, True),
                respect_robots=table.get("respect_robots", bool, fetch.respect_robots),
                tls_verify=table.get("tls_verify", bool, True),
                user_agent=table.header_value("user_agent", None) or None,
                headers=table.headers("headers"),
                list=listing,
                article=article,
                detail=_detail(table, kind),
            )
        )
    return tuple(result)


def _rules(table: Table, kind: str) -> tuple[ListRules | JsonListRules | None, ArticleRules | None]:
    listing: ListRules | JsonListRules | None = None
    article = None
    if "list" in table.data:
        if (raw := _subtable(table, "list")) is not None and kind != "feed":
            read = json_list_rules if kind == "json" else list_rules
            try:
                listing = read(raw, path=table.key_path("list"))
            except SelectorErrors as exc:
                table.errors.extend(exc.errors)
        if kind == "feed":
            table.fail("list", 'applies to type = "html" and "json" sources only')
    elif kind in ("html", "json"):
        table.fail("list", f'is required for type = "{kind}" sources ([sources.list] with "item")')
    if (raw := _subtable(table, "article")) is not None:
        try:
            article = article_rules(raw, path=table.key_path("article"))
        except SelectorErrors as exc:
            table.errors.extend(exc.errors)
    return listing, article


def _detail(table: Table, kind: str) -> JsonDetailRules | None:
    if (raw := _subtable(table, "detail")) is None:
        return None
    if kind != "json":
        table.fail("detail", 'applies to type = "json" sources only')
        return None
    try:
        return json_detail_rules(raw, path=table.key_path("detail"))
    except SelectorErrors as exc:
        table.errors.extend(exc.errors)
        return None


def _subtable(table: Table, key: str) -> Mapping[str, object] | None:
    value = table.data.get(key)
    if value is not None and not isinstance(value, Mapping):
        table.fail(key, f"must be a table ([sources.{key}])")
        return None
    return value


_PARTY_KEYS = frozenset({"name", "url"})


def _party(table: Table, key: str) -> Party | None:
    if key not in table.data:
        return None
    value = table.data[key]
    if not isinstance(value, Mapping) or not isinstance(value.get("name"), str):
        table.fail(key, "must be a table { name = ..., url = ... }")
        return None
    for name in sorted(set(value) - _PARTY_KEYS):
        table.fail(f"{key}.{name}", unknown_key(name, _PARTY_KEYS))
    url = value.get("url")
    if url is not None and not _web_address(url):
        # published as the site's link in every feed and OPML: `example.org/` is no address
        table.fail(f"{key}.url", "must be an http(s) URL such as https://example.org/")
        url = None
    # published as written only when it is a valid URI: `?b=<2>` made every Atom entry invalid
    return Party(name=value["name"], url=web_url(url, url) if url else None)


def _web_address(url: object) -> bool:
    if not isinstance(url, str) or _scheme(url) not in ("http", "https"):
        return False
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:
        return False


def _encoding(table: Table) -> str | None:
    label = table.get("encoding", str, "") or None
    if label and canonical_codec(label) is None:
        table.fail("encoding", f"unknown charset {label!r}")
        return None
    return label


_HINTED_SOURCES = 20  # unknown source names given the closest id


def _feeds(
    raw: object, service: ServiceConfig, sources: tuple[SourceConfig, ...], errors: list[str]
) -> tuple[FeedConfig, ...]:
    # A feed publishes its enabled sources: a disabled one's copy of a story, were it the
    # canonical one, would hide the story from the feed whose other sources have it.
    published = tuple(s.id for s in sources if s.enabled)
    result = [FeedConfig("all", service.title, service.description, published)]
    if not isinstance(raw, list):
        errors.append("feeds: must be an array of tables ([[feeds]])")
        return tuple(result)
    known_ids = {s.id for s in sources}
    hints = _HINTED_SOURCES  # each compares the name with every id: a few are enough
    for index, item in enumerate(raw):
        table = Table(item, f"feeds[{index}]", FEED_KEYS, errors)
        feed_id = table.required_str("id")
        if feed_id and not ID_PATTERN.fullmatch(feed_id):
            table.fail("id", f"{feed_id!r} must match [a-z0-9_-]+")
        elif feed_id and any(f.id == feed_id for f in result):
            table.fail("id", f"duplicate feed id {feed_id!r}")
        chosen = table.strings("sources")
        for name in chosen:
            if name not in known_ids:
                meant = close_key(name, known_ids) if hints > 0 else None
                hints -= 1
                hint = f" (did you mean {quoted(meant)}?)" if meant else ""
                table.fail("sources", f"unknown source {quoted(name)}{hint}")
        tags = table.strings("tags")
        # sets: 50 channels each naming 1,000 of 1,000 sources took `check` 1.3 s as lists
        chosen_ids, wanted_tags = set(chosen), set(tags)
        members = tuple(
            s.id
            for s in sources
            if s.enabled
            and (
                (not chosen_ids and not wanted_tags)
                or s.id in chosen_ids
                or not wanted_tags.isdisjoint(s.tags)
            )
        )
        result.append(
            FeedConfig(
                id=feed_id,
                title=table.get("title", str, feed_id),
                description=table.get("description", str, ""),
                sources=members,
                include=tuple(w.casefold() for w in table.strings("include")),
                exclude=tuple(w.casefold() for w in table.strings("exclude")),
                limit=table.positive_int("limit", 50, 500),
            )
        )
    return tuple(result)
