"""SQLite storage: schema, migrations and every SQL statement of the project."""

from storage.database import Database
from storage.records import (
    FetchOutcome,
    FetchState,
    ItemRecord,
    SourceStatus,
    StoredItem,
    StoryContext,
    StoryCopy,
    StoryView,
    WriteSummary,
)

__all__ = [
    "Database",
    "FetchOutcome",
    "FetchState",
    "ItemRecord",
    "SourceStatus",
    "StoredItem",
    "StoryContext",
    "StoryCopy",
    "StoryView",
    "WriteSummary",
]
