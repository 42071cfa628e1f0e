"""When what the config says last changed, kept in the store: every document's
`Last-Modified` is no earlier.

The file's own time says when it was written, not when what it says changed: a withdrawal
deployed with the file's time kept (`cp -p`, `rsync -a`) was dated before the documents it
changed, and a reader asking by date got 304 and the withdrawn item; a config saved with a
comment more dated every document anew at the next start, and readers asking by date
downloaded each again. The server records the digest of the settings it runs by and since
when; every process dates by that record when its settings are the same.
"""

from __future__ import annotations

import time
from dataclasses import replace

from aggregator.config import Config
from storage import Database


async def dated(db: Database, config: Config, *, record: bool) -> Config:
    """`config` dated since its settings hold: as recorded when they are the recorded ones;
    else, by the server (`record`), from now (the first a store records: from the file's
    time, so an upgrade dates nothing anew); else by the file's time."""
    state = await db.config_state()
    if state is not None and state[0] == config.digest:
        return replace(config, modified=state[1])
    if not record:
        return config
    since = config.modified if state is None else max(time.time(), state[1])
    await db.set_config_state(config.digest, since)
    return replace(config, modified=since)
