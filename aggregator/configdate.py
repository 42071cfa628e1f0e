"""When what the documents show last changed by the config or by this release's rules, kept
in the store: every document's `Last-Modified` is no earlier.

The file's own time says when it was written, not when what it says changed: a withdrawal
deployed with the file's time kept (`cp -p`, `rsync -a`) was dated before the documents it
changed, and a reader asking by date got 304 and the withdrawn item; a config saved with a
comment more dated every document anew at the next start. The server records the digest of
the settings it runs by, with `RENDER_RULES`, and since when; every process dates by that
record when its settings are the same.
"""

from __future__ import annotations

import time
from dataclasses import replace

from aggregator.config import Config
from storage import Database

# Renumber with any change to what a document shows for the same stored items and settings
# (feeds/render.py, aggregator/publish.py, aggregator/documents.py): the first start of such
# a release dates every document anew, or a reader asking by date kept the older rendering.
RENDER_RULES = 1


async def dated(db: Database, config: Config, *, record: bool) -> Config:
    """`config` dated since its settings hold: as recorded when they are the recorded ones;
    else from now, recorded by the server (`record`); a process that does not record takes
    the record at its next reload (`as_recorded`): the file's time could be older than the
    date of what readers hold."""
    state = await db.config_state()
    if found := _recorded(state, config):
        return found
    since = max(time.time(), state[1]) if state is not None else time.time()
    if not record:
        return replace(config, modified=since)
    await db.set_config_state(_digest(config), since)
    return replace(config, modified=since, dated_by_store=True)


async def as_recorded(db: Database, config: Config) -> Config:
    """`config`, unchanged since a process dated it, with the store's date once the server
    has recorded its settings; as it was until then."""
    return _recorded(await db.config_state(), config) or config


def _recorded(state: tuple[str, float] | None, config: Config) -> Config | None:
    """`config` dated as the store records its settings, or None when it records others."""
    if state is None or state[0] != _digest(config):
        return None
    return replace(config, modified=state[1], dated_by_store=True)


def _digest(config: Config) -> str:
    return f"{RENDER_RULES}/{config.digest}"
