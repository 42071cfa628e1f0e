"""SQLite storage: schema, migrations and every SQL statement of the project."""

from storage.connection import StorageError, latest_schema, made_otherwise, schema_version
from storage.copies import copy_backup
from storage.database import Database, ReadOnlyDatabase, Reads
from storage.records import (
    FetchOutcome,
    FetchState,
    HeldItem,
    ItemRecord,
    MatchKeys,
    SourceStatus,
    StoredItem,
    StoredText,
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
    "HeldItem",
    "ItemFilter",
    "ItemRecord",
    "MatchKeys",
    "ReadOnlyDatabase",
    "Reads",
    "SourceStatus",
    "StorageError",
    "StoredItem",
    "StoredText",
    "StoryContext",
    "StoryCopy",
    "StoryView",
    "WriteSummary",
    "copy_backup",
    "latest_schema",
    "made_otherwise",
    "match_expression",
    "schema_version",
]
