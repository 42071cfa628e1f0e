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
    # 2: stories — every item belongs to one; existing items become one-item stories.
    """
    CREATE TABLE stories (
        id INTEGER PRIMARY KEY,
        entry_id TEXT NOT NULL UNIQUE,
        canonical_item INTEGER,
        origin_name TEXT,
        origin_url TEXT,
        origin_source TEXT,
        reason TEXT,
        created REAL NOT NULL
    );
    ALTER TABLE items ADD COLUMN story_id INTEGER REFERENCES stories (id);
    ALTER TABLE items ADD COLUMN match_rule TEXT;
    ALTER TABLE items ADD COLUMN norm_link TEXT;
    ALTER TABLE items ADD COLUMN norm_title TEXT;
    ALTER TABLE items ADD COLUMN published_ts REAL;
    ALTER TABLE items ADD COLUMN fingerprint INTEGER;
    CREATE INDEX items_by_link ON items (norm_link) WHERE norm_link IS NOT NULL;
    CREATE INDEX items_by_title ON items (norm_title, published_ts) WHERE norm_title IS NOT NULL;
    CREATE INDEX items_by_story ON items (story_id);
    CREATE TABLE item_bands (
        band INTEGER NOT NULL,
        item_id INTEGER NOT NULL,
        PRIMARY KEY (band, item_id)
    ) WITHOUT ROWID;
    CREATE INDEX item_bands_by_item ON item_bands (item_id);
    INSERT INTO stories (id, entry_id, canonical_item, created)
        SELECT id, entry_id, id, first_seen FROM items;
    UPDATE items SET story_id = id;
    """,
    # 3: search — a full-text index (see feeds/searchtext.py for why CJK bigrams over unicode61)
    # and an item-tag index, kept in step with `items` by triggers and backfilled here. The
    # triggers call aggregator_search_text(), which every connection registers on opening.
    """
    CREATE VIRTUAL TABLE items_search USING fts5 (
        text, tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO items_search (rowid, text)
        SELECT id, aggregator_search_text(title, summary, content) FROM items;
    CREATE TRIGGER items_search_insert AFTER INSERT ON items BEGIN
        INSERT INTO items_search (rowid, text)
            VALUES (new.id, aggregator_search_text(new.title, new.summary, new.content));
    END;
    CREATE TRIGGER items_search_update AFTER UPDATE OF title, summary, content ON items BEGIN
        UPDATE items_search SET text = aggregator_search_text(new.title, new.summary, new.content)
            WHERE rowid = new.id;
    END;
    CREATE TRIGGER items_search_delete AFTER DELETE ON items BEGIN
        DELETE FROM items_search WHERE rowid = old.id;
    END;
    CREATE TABLE item_tags (
        tag TEXT NOT NULL COLLATE NOCASE,
        item_id INTEGER NOT NULL,
        PRIMARY KEY (tag, item_id)
    ) WITHOUT ROWID;
    CREATE INDEX item_tags_by_item ON item_tags (item_id);
    INSERT OR IGNORE INTO item_tags (tag, item_id)
        SELECT tag.value, items.id FROM items, json_each(items.tags) AS tag
        WHERE tag.type = 'text';
    CREATE TRIGGER item_tags_insert AFTER INSERT ON items BEGIN
        INSERT OR IGNORE INTO item_tags (tag, item_id)
            SELECT value, new.id FROM json_each(new.tags) WHERE type = 'text';
    END;
    CREATE TRIGGER item_tags_update AFTER UPDATE OF tags ON items BEGIN
        DELETE FROM item_tags WHERE item_id = old.id;
        INSERT OR IGNORE INTO item_tags (tag, item_id)
            SELECT value, new.id FROM json_each(new.tags) WHERE type = 'text';
    END;
    CREATE TRIGGER item_tags_delete AFTER DELETE ON items BEGIN
        DELETE FROM item_tags WHERE item_id = old.id;
    END;
    """,
    # 4: the search text is built beside parsing, off the writer's thread, and written with
    # the item (storage/items.py); the triggers no longer call back into Python, so any
    # SQLite client can write items. Deletes still follow by trigger.
    """
    DROP TRIGGER items_search_insert;
    DROP TRIGGER items_search_update;
    """,
    # 5: each band row carries its item's fingerprint, so a band lookup is confirmed or refused
    # by Hamming distance from the band index alone; only near items' rows are then read. The
    # rows are rebuilt from the fingerprints (`feeds.fingerprint.bands`: band i is i << 16 | the
    # fingerprint's bits 16i to 16i + 15): items changed in place had kept their first bands.
    """
    ALTER TABLE item_bands ADD COLUMN fingerprint INTEGER;
    DELETE FROM item_bands;
    INSERT INTO item_bands (band, item_id, fingerprint)
        SELECT (band.i << 16) | ((items.fingerprint >> (16 * band.i)) & 65535), items.id,
            items.fingerprint
        FROM items, (SELECT 0 AS i UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) band
        WHERE items.fingerprint IS NOT NULL;
    """,
    # 6: a counter per source that moves whenever a document showing the source may read
    # differently (its items added or changed, a story of theirs joined or cut), so servers
    # re-render only those documents; any commit, even a 304's outcome, used to re-render all.
    """
    ALTER TABLE sources ADD COLUMN items_version INTEGER NOT NULL DEFAULT 0;
    """,
    # 7: the full-text index keeps no copy of the text it indexes (`content = ''`): the copy
    # was 45 % of the database, and of the bytes each stored item wrote. Deleting an item's
    # tokens then takes making them again from the item (the trigger, and the updates in
    # storage/items.py). `search_tokens` says how the index's tokens were made: opening a
    # store whose tokens were made another way rebuilds the index (storage/searchindex.py),
    # and that fills it after this migration.
    """
    DROP TRIGGER items_search_delete;
    DROP TABLE items_search;
    CREATE VIRTUAL TABLE items_search USING fts5 (
        text, content = '', tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER items_search_delete AFTER DELETE ON items BEGIN
        INSERT INTO items_search (items_search, rowid, text) VALUES (
            'delete', old.id, aggregator_search_text(old.title, old.summary, old.content)
        );
    END;
    CREATE TABLE search_tokens (made_by TEXT NOT NULL);
    """,
    # 8: every source is read in full once. Pages that forward with a meta refresh are now
    # followed, and the validators stored of such a page were its own: sent again, a page
    # that had not changed would answer 304 and never be followed.
    """
    UPDATE sources SET etag = NULL, last_modified = NULL, body_hash = NULL;
    """,
    # 9: when a source's document is next read whole, unchanged or not: a page it led to
    # failed, and is tried again then. Until now, its validators were dropped instead.
    """
    ALTER TABLE sources ADD COLUMN reread_at REAL;
    """,
    # 10: keys made once per store, kept with it (and its backups): the image proxy signs the
    # addresses it publishes with one, so they stay valid across restarts and processes.
    """
    CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
    INSERT INTO secrets (name, value) VALUES ('image_proxy', randomblob(32));
    """,
    # 11: when each source's items version last moved (Unix seconds): a document's
    # `Last-Modified` is no earlier, so an item dated before the newest, or one taken out,
    # does not earn a conditional request's 304. A store from before (or a backup of one,
    # restored) has no such date: its items count as changed at the upgrade.
    """
    ALTER TABLE sources ADD COLUMN items_changed REAL;
    UPDATE sources SET items_changed = (julianday('now') - 2440587.5) * 86400.0;
    """,
    # 12: when a story's canonical copy was last replaced by another (Unix seconds): the
    # merged entry shows that copy from then on, and its `updated` is no earlier.
    """
    ALTER TABLE stories ADD COLUMN changed REAL;
    """,
    # 13: each item's enclosures (podcast audio, attachments) as a JSON list of objects with
    # `url`, `type` and `length`. Items stored before have none, so every source is read in
    # full once, as after migration 8: an unchanged document would be neither asked for nor
    # parsed again, and its items never get theirs. Enclosures count in the content hash, so
    # only the items that have some are updated.
    """
    ALTER TABLE items ADD COLUMN enclosures TEXT NOT NULL DEFAULT '[]';
    UPDATE sources SET etag = NULL, last_modified = NULL, body_hash = NULL;
    """,
    # 14: a digest of the config that shaped each source's last stored read (selectors, type,
    # encoding…): a change reads the source whole once, its articles too, where an unchanged
    # list page was skipped and the new selectors never applied. Unknown before: no re-read.
    # And when each fetch was recorded (Unix seconds, in commit order, where an attempt's
    # start is not): a server finds the fetches another process recorded since it last looked.
    """
    ALTER TABLE sources ADD COLUMN rules TEXT;
    ALTER TABLE sources ADD COLUMN recorded REAL;
    """,
    # 15: the ids of the items each source's last document read lists (a JSON list): retention
    # keeps them, where an old item still listed upstream was pruned and came back as new at
    # the next read. Unknown before, so every source is read in full once, as after 13.
    """
    ALTER TABLE sources ADD COLUMN listed TEXT;
    UPDATE sources SET etag = NULL, last_modified = NULL, body_hash = NULL;
    """,
    # 16: the items without any key that finds copies: read at every start and reload, where
    # those a source stored while it had `dedupe = false` (or a split link) are matched again
    # once it takes part. A scan of every item's row would read the whole store, and one
    # by source every item of a source that keeps `dedupe = false`.
    """
    CREATE INDEX items_unkeyed ON items (source_id)
        WHERE norm_link IS NULL AND norm_title IS NULL AND fingerprint IS NULL;
    """,
    # 17: how many normalised characters each item's fingerprint was made of: equal titles
    # over bodies of about one length far apart are two stories (`feeds.stories`). Unknown
    # before, and such items are matched by title as they were.
    """
    ALTER TABLE items ADD COLUMN body_chars INTEGER;
    """,
    # 18: how the stored items' story keys were made (`feeds.stories.keys_made_by`; its one
    # row NULL: by an older release). Keys made otherwise miss new copies of their stories,
    # so a server starting on such a store makes them again, in the background
    # (aggregator/records.py `rekey_stories`); items are left as they are here.
    """
    CREATE TABLE story_keys (made_by TEXT);
    INSERT INTO story_keys (made_by) VALUES (NULL);
    """,
    # 19: the days each item's body names in its opening: equal titles over bodies naming none
    # of the same days are two stories (a daily bulletin and the next day's). Made for stored
    # items when their keys are made again (`KEY_RULES` 3).
    """
    ALTER TABLE items ADD COLUMN body_days TEXT;
    """,
    # 20: the settings the server last ran by (a digest of what the config file says) and
    # since when: every document's `Last-Modified` is no earlier. The file's own time said
    # when it was written, not when what it says changed: copied with its old time, a
    # withdrawal was dated before the documents it changed; saved unchanged, every document
    # was dated anew at the next start (`aggregator/configdate.py`).
    """
    CREATE TABLE config_state (digest TEXT NOT NULL, since REAL NOT NULL);
    """,
)
# The SQL function that makes an item's tokens (migration 3's backfill, migration 7's delete
# trigger, the index's rebuild); registered on the writer by `connection.py`.
SEARCH_TEXT_FUNCTION = "aggregator_search_text"

SCHEMA_VERSION = len(MIGRATIONS)
