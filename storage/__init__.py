"""SQLite storage: schema, migrations and every SQL statement of the project."""

from storage.connection import StorageError
from storage.database import Database, ReadOnlyDatabase, Reads
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
from storage.search import ItemFilter, match_expression

__all__ = [
    "Database",
    "FetchOutcome",
    "FetchState",
    "ItemFilter",
    "ItemRecord",
    "ReadOnlyDatabase",
    "Reads",
    "SourceStatus",
    "StorageError",
    "StoredItem",
    "StoryContext",
    "StoryCopy",
    "StoryView",
    "WriteSummary",
    "match_expression",
]
