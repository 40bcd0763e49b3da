"""The event store's write path on each backend: group commit and store-wide numbers."""

from __future__ import annotations

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from sessionstore.adapters.group_commit import (
    GroupCommitRecorder,
    GroupCommitter,
    GroupWriter,
    PostgresGroupWriter,
    SqliteGroupWriter,
)
from sessionstore.adapters.numbers import BlockNumbers, postgres_numbers, sqlite_numbers
from sessionstore.domain.keys import LEGACY_SEQUENCES


class StorageWritePath:
    """eventsourcing's recorder for reads, the group committer for writes, block numbers."""

    def __init__(self, inner: ApplicationRecorder, writer: GroupWriter, numbers: BlockNumbers):
        self.committer = GroupCommitter(writer)
        self.recorder = GroupCommitRecorder(inner, self.committer)
        self.numbers = numbers

    def close(self) -> None:
        self.committer.close()


def write_path(inner: ApplicationRecorder) -> StorageWritePath:
    if isinstance(inner, PostgresApplicationRecorder):
        table = inner.events_table_name
        numbers = postgres_numbers(inner.datastore, table, LEGACY_SEQUENCES)
        return StorageWritePath(inner, PostgresGroupWriter(inner), numbers)
    if isinstance(inner, SQLiteApplicationRecorder):
        path, table = inner.datastore.pool.db_name, inner.events_table_name
        numbers = sqlite_numbers(path, table, LEGACY_SEQUENCES)
        return StorageWritePath(inner, SqliteGroupWriter(path, table), numbers)
    raise TypeError(f"no write path for {type(inner).__name__}")
