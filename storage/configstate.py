"""SQL for the settings the server last ran by (migration 20): their digest, and since when."""

from __future__ import annotations

import sqlite3

from storage.connection import Reader


async def config_state(db: Reader) -> tuple[str, float] | None:
    rows = await db.read("SELECT digest, since FROM config_state")
    return (str(rows[0][0]), float(rows[0][1])) if rows else None


def set_config_state(conn: sqlite3.Connection, digest: str, since: float) -> None:
    conn.execute("DELETE FROM config_state")
    conn.execute("INSERT INTO config_state (digest, since) VALUES (?, ?)", (digest, since))
