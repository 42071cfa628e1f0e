"""The schema as ordered migrations, versioned by `PRAGMA user_version`.

Add new migrations at the end; never edit one that has shipped. Version N means the first N
scripts have run.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        effective_url TEXT,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        title TEXT,
        site_url TEXT,
        charset TEXT,
        last_attempt REAL,
        last_success REAL,
        last_status INTEGER,
        last_result TEXT,
        last_error TEXT,
        error_streak INTEGER NOT NULL DEFAULT 0,
        next_fetch REAL,
        fetches INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        fetch_seconds REAL NOT NULL DEFAULT 0
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        source_id TEXT NOT NULL REFERENCES sources (id),
        key TEXT NOT NULL,
        entry_id TEXT NOT NULL UNIQUE,
        upstream_id TEXT,
        url TEXT,
        title TEXT NOT NULL,
        content TEXT NOT NULL,
        summary TEXT NOT NULL,
        author TEXT,
        origin_name TEXT,
        origin_url TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        published TEXT,
        updated TEXT,
        sort_ts REAL NOT NULL,
        first_seen REAL NOT NULL,
        last_changed REAL NOT NULL,
        content_hash TEXT NOT NULL,
        listing_hash TEXT,
        UNIQUE (source_id, key)
    );
    CREATE INDEX items_by_source ON items (source_id, sort_ts DESC, id DESC);
    CREATE INDEX items_by_time ON items (sort_ts DESC, id DESC);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
