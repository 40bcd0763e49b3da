"""The event store's write path on each backend: group commit and store-wide numbers."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from sessionstore.adapters import log_reader
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
from sessionstore.ports import LogPages, WriteWatch


class StorageWritePath:
    """eventsourcing's recorder for reads, the group committer for writes, block numbers."""

    def __init__(
        self,
        inner: ApplicationRecorder,
        writer: GroupWriter,
        numbers: BlockNumbers,
        watch_writes: Callable[[], WriteWatch],
        log_pages: LogPages,
        log_count: Callable[[Sequence[str]], int],
    ):
        self.committer = GroupCommitter(writer)
        self.recorder = GroupCommitRecorder(inner, self.committer)
        self.numbers = numbers
        self.watch_writes = watch_writes  # a new watch of every process's writes
        self.log_pages = log_pages  # the log read in bulk (see log_reader)
        self.log_count = log_count  # how many events of these topics it holds

    def close(self) -> None:
        self.committer.close()


def write_path(inner: ApplicationRecorder) -> StorageWritePath:
    if isinstance(inner, PostgresApplicationRecorder):
        table = inner.events_table_name
        numbers = postgres_numbers(inner.datastore, table, LEGACY_SEQUENCES)
        listen = functools.partial(PostgresWriteWatch, inner)
        pages = functools.partial(log_reader.postgres_pages, inner)
        count = functools.partial(log_reader.postgres_count, inner)
        return StorageWritePath(inner, PostgresGroupWriter(inner), numbers, listen, pages, count)
    if isinstance(inner, SQLiteApplicationRecorder):
        path, table = inner.datastore.pool.db_name, inner.events_table_name
        numbers = sqlite_numbers(path, table, LEGACY_SEQUENCES)
        look = functools.partial(SqliteWriteWatch, path)
        pages = functools.partial(log_reader.sqlite_pages, path, table)
        count = functools.partial(log_reader.sqlite_count, path, table)
        group = SqliteGroupWriter(path, table)
        return StorageWritePath(inner, group, numbers, look, pages, count)
    raise TypeError(f"no write path for {type(inner).__name__}")
