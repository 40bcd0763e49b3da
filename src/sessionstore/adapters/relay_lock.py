"""The relay's lock: any number of relays may run on one event store; the one holding the
lock publishes, the others stand by. Both kinds die with their process, so a SIGKILLed
relay's standby takes over at its next try.

PostgreSQL: a session-level advisory lock on a connection of its own (the server drops it
when the connection goes). SQLite: an flock on `<database file>.relay-lock`.
"""

from __future__ import annotations

import fcntl
import zlib
from typing import IO, Protocol

import psycopg

from sessionstore.config import eventstore_env


class RelayLock(Protocol):
    def try_acquire(self) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...


class FileLock:
    def __init__(self, path: str) -> None:
        self._path = path
        self._file: IO[str] | None = None

    def try_acquire(self) -> bool:
        if self._file is None:
            self._file = open(self._path, "a")  # noqa: SIM115 - held while the lock is
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the flock
            self._file = None


class AdvisoryLock:
    def __init__(self, dsn: str, name: str) -> None:
        self._dsn = dsn
        self._key = zlib.crc32(name.encode())  # a stable 32-bit key for the lock's name
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def try_acquire(self) -> bool:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=5)
        row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
        return bool(row and row[0])

    def held(self) -> bool:
        """Still ours: the connection that holds it answers."""
        if self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()  # the server drops the lock with the session
            self._conn = None


def relay_lock(database_url: str, topic: str) -> RelayLock:
    """One lock per event store and topic: relays to different topics do not exclude."""
    env = eventstore_env(database_url)
    if "SQLITE_DBNAME" in env:
        return FileLock(f"{env['SQLITE_DBNAME']}.relay-lock.{topic}")
    where = f"{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}"
    name = f"sessionstore.relay:{where}:{env['POSTGRES_SCHEMA']}:{topic}"
    return AdvisoryLock(database_url.split("?")[0], name)
