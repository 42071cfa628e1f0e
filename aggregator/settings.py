"""Every config key, declared once with its meaning: the loader, the docs test and README use it."""

from __future__ import annotations

SERVICE_KEYS: dict[str, str] = {
    "title": "title of the merged feed `all` and of the index page",
    "description": "description of the merged feed `all`",
    "base_url": "public URL prefix for self links",
    "host": "address the HTTP server listens on",
    "port": "port the HTTP server listens on",
    "database": "SQLite file, relative to the config file's folder",
    "timezone": "IANA zone for upstream dates without an offset",
    "cache_max_age": "`Cache-Control: max-age` of published feeds",
    "cache_max_bytes": "rendered documents kept in memory by each server process, in bytes",
    "websub_hub": "optional WebSub hub advertised in feeds and pinged on change",
    "admin_host": "address of a separate admin listener (default: `host`)",
    "admin_port": "port of a separate admin listener; set, the admin API answers only there",
    "workers": "HTTP server processes sharing `port` (SO_REUSEPORT); one of them also fetches",
    "image_proxy_hosts": "hosts (and their subdomains) whose pictures published content loads "
    "through this service's `/images/`, without a referrer",
    "log_level": "least severe log lines written: `debug` (fetches that found nothing new "
    "too), `info`, `warning` or `error`",
}

FETCH_KEYS: dict[str, str] = {
    "interval": "default time between two fetches of a source",
    "timeout": "limit for one whole request, every redirect hop included",
    "max_bytes": "largest body accepted, before and after decompression",
    "max_entries": "entries read of one document: the newest when all are dated, else the first",
    "concurrency": "requests in flight, all hosts together",
    "per_host": "requests in flight to one host",
    "user_agent": "User-Agent header sent upstream",
    "retention": "items dated and first seen longer ago than this are pruned, unless still listed",
    "max_interval": "upper bound when backing off or honouring upstream cache hints",
    "respect_robots": "honour robots.txt for html sources and followed pages",
    "failing_after": "consecutive failures after which a source is marked failing",
    "proxy": "`http://host:port` proxy for upstream requests and WebSub pings (default: "
    "`HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY`)",
}

SOURCE_KEYS: dict[str, str] = {
    "id": "stable identifier `[a-z0-9_-]+`, used in URLs",
    "name": "display name, also matched against origin credits",
    "aliases": "other names other sites credit this source by",
    "url": "feed or list page: http(s), file: URL or path relative to the config",
    "type": "`feed` (RSS/Atom/RDF/JSON Feed, detected), `html` or `json`",
    "interval": "overrides `fetch.interval`",
    "tags": "tags of every item of the source",
    "language": "language code of the source",
    "publisher": "`{ name, url }` of the party that publishes the source",
    "encoding": "charset that overrides the document's declaration",
    "follow_hosts": "hosts besides the source's own that article links may use",
    "iframe_hosts": "hosts whose iframes (video players) survive sanitising",
    "full_content": "feed sources: read each item's article page with `[sources.article]`",
    "enabled": "`false` stops fetching and publishing the source, keeping its items",
    "dedupe": "take part in cross-source stories",
    "respect_robots": "overrides `fetch.respect_robots`",
    "tls_verify": "`false` accepts a broken certificate (expired, self-signed, another host's), "
    "still encrypted",
    "user_agent": "overrides `fetch.user_agent` for this source's requests and its robots.txt",
    "headers": '`{ Name = "value" }` headers sent with every request of the source '
    "(`Referer`, `Cookie`)",
    "list": "html and json sources: how items are found on the list page or in its answer",
    "article": "selectors that read an article page",
    "detail": "json sources: the API a record without its body is read from",
}

FEED_KEYS: dict[str, str] = {
    "id": "identifier used in `/feeds/{id}.rss|.atom|.json`",
    "title": "feed title",
    "description": "feed description",
    "sources": "source ids to include (default: all)",
    "tags": "include the sources with any of these tags",
    "include": "keep items whose title or text has any of these words",
    "exclude": "drop items whose title or text has any of these words",
    "limit": "default number of entries",
}

TOP_KEYS: dict[str, str] = {
    "service": "the server and the merged feed `all`",
    "fetch": "defaults for fetching",
    "sources": "upstream sources",
    "feeds": "published merged feeds besides `all`",
    "stories": "how copies of one story across sources are matched",
}

STORIES_KEYS: dict[str, str] = {
    "mirror_hosts": "`{ mirror = canonical }` hosts whose links compare as the same site",
    "split": "`[[stories.split]]` tables whose `urls` stand alone: corrections of wrong merges",
    "withdraw": "`[[stories.withdraw]]` tables whose `urls` are published nowhere",
}
