"""Has anyone written to the event store since I last asked? Cheap enough to ask every few
milliseconds, so a relay in a process of its own hears of other processes' writes at once.

SQLite: `PRAGMA data_version` on a connection of the watch's own, which changes whenever
another connection commits to the file. PostgreSQL: LISTEN on the channel every writer
NOTIFYs in its transaction (eventsourcing's, which the group committer notifies too). Either
may say yes when nothing new is there (the relay's own writes, say): the relay then reads
an empty batch. `changed()` answers from what has already arrived; only after a lost
PostgreSQL connection does it connect again (with the store down, nothing is written anyway).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql

from sessionstore.adapters.postgres import like_pool

RECONNECT_AFTER = 5.0  # seconds: a connect on the event loop at most this often


class SqliteWriteWatch:
    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._seen = self._version()

    def _version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def changed(self) -> bool:
        version = self._version()
        changed, self._seen = version != self._seen, version
        return changed

    def close(self) -> None:
        self._conn.close()


class PostgresWriteWatch:
    """On a connection of its own, made as eventsourcing's pool makes its connections."""

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self._pool = recorder.datastore.pool
        self._listen = sql.SQL("LISTEN {}").format(sql.Identifier(recorder.channel_name))
        self._conn: psycopg.Connection[Any] | None = None
        self._retry_at = 0.0  # after a lost connection: when to connect again
        self._listening()  # connects here, so that `changed()` only reads what arrived

    def _listening(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = like_pool(self._pool)
            self._conn.execute(self._listen)
        return self._conn

    @property
    def listening(self) -> bool:
        """Whether it holds its LISTEN connection now."""
        return self._conn is not None and not self._conn.closed

    def changed(self) -> bool:
        if self._conn is None and time.monotonic() < self._retry_at:
            return False  # the relay's own fallback poll reads meanwhile
        try:
            return bool(list(self._listening().notifies(timeout=0)))
        except psycopg.Error:
            self.close()  # listen again on a new connection, but not before RECONNECT_AFTER
            self._retry_at = time.monotonic() + RECONNECT_AFTER
            return True  # and look now: a write may have gone unheard

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()
