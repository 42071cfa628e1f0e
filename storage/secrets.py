"""SQL for the keys a store keeps (migration 10 makes them)."""

from __future__ import annotations

from storage.connection import Reader, StorageError


async def secret(db: Reader, name: str) -> bytes:
    rows = await db.read("SELECT value FROM secrets WHERE name = ?", (name,))
    if not rows:
        raise StorageError(f"{db.path}: no {name} key in the store")
    return bytes(rows[0][0])
