"""The event store's write path on each backend: group commit and store-wide numbers."""

from __future__ import annotations

import functools
from collections.abc import Callable

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
from sessionstore.adapters.write_watch import PostgresWriteWatch, SqliteWriteWatch
from sessionstore.domain.keys import LEGACY_SEQUENCES
from sessionstore.ports import WriteWatch


class StorageWritePath:
    """eventsourcing's recorder for reads, the group committer for writes, block numbers."""

    def __init__(
        self,
        inner: ApplicationRecorder,
        writer: GroupWriter,
        numbers: BlockNumbers,
        watch_writes: Callable[[], WriteWatch],
    ):
        self.committer = GroupCommitter(writer)
        self.recorder = GroupCommitRecorder(inner, self.committer)
        self.numbers = numbers
        self.watch_writes = watch_writes  # a new watch of every process's writes

    def close(self) -> None:
        self.committer.close()


def write_path(inner: ApplicationRecorder) -> StorageWritePath:
    if isinstance(inner, PostgresApplicationRecorder):
        table = inner.events_table_name
        numbers = postgres_numbers(inner.datastore, table, LEGACY_SEQUENCES)
        listen = functools.partial(PostgresWriteWatch, inner)
        return StorageWritePath(inner, PostgresGroupWriter(inner), numbers, listen)
    if isinstance(inner, SQLiteApplicationRecorder):
        path, table = inner.datastore.pool.db_name, inner.events_table_name
        numbers = sqlite_numbers(path, table, LEGACY_SEQUENCES)
        look = functools.partial(SqliteWriteWatch, path)
        return StorageWritePath(inner, SqliteGroupWriter(path, table), numbers, look)
    raise TypeError(f"no write path for {type(inner).__name__}")
