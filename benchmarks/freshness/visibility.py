"""The poller: when each acknowledged version is in all three read models of the SQLite file."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from benchmarks.freshness.writes import Write

TABLES = ("v1_sessions", "v2_sessions", "application_sessions_sessions")
CHUNK = 900  # keys per statement: parameters stay under SQLite's oldest limit, 999
MMAP_BYTES = 256 << 20  # reads of the file without a syscall per page: a cheaper poller
SETTLE_POLL = 0.005


class Visibility:
    """A poller thread: the first moment each awaited version is in all three tables.

    A thread, so it polls on time whatever the load generator's event loop is doing (sqlite3
    lets go of the GIL while it reads). It keeps one read-only connection to the read-model
    file (WAL: it never blocks the projectors) and asks only for the keys still awaited, in one
    statement per chunk, so the three tables are read in one snapshot. A version counts as
    visible at the moment that statement started: the stamp errs late by at most one poll.

    To stay cheap (it shares the machine with the server it measures), a tick on which no
    other connection committed (`PRAGMA data_version` unchanged) asks only for the keys
    awaited since the last tick: nothing else can have changed.
    """

    def __init__(self, database: Path, every: float) -> None:
        self._uri = database.as_uri() + "?mode=ro"
        self._every = every
        self._lock = threading.Lock()
        self._awaited: dict[str, list[Write]] = {}
        self._new: set[str] = set()  # keys awaited since the last query
        self._seen_data: int | None = None  # `PRAGMA data_version` before the last full query
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="freshness-poller", daemon=True)
        self.cpu = 0.0  # the poller thread's own CPU seconds so far
        self.ticks = 0
        self.queries = 0
        self.errors = 0
        self.last_error = ""

    def __enter__(self) -> Visibility:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._thread.join(timeout=5.0)

    def expect(self, write: Write) -> None:
        with self._lock:
            self._awaited.setdefault(write.key, []).append(write)
            self._new.add(write.key)

    def forget(self, write: Write) -> None:
        with self._lock:
            left = [w for w in self._awaited.get(write.key, []) if w is not write]
            if left:
                self._awaited[write.key] = left
            else:
                self._awaited.pop(write.key, None)

    def forget_all(self) -> None:
        with self._lock:
            self._awaited.clear()

    def awaited(self) -> int:
        with self._lock:
            return sum(len(writes) for writes in self._awaited.values())

    async def settled(self, within: float, check: Callable[[], None]) -> bool:
        """Whether every awaited version was seen within `within` seconds.

        `check` raises if the server died: then nothing more will be seen, no use waiting.
        """
        deadline = time.perf_counter() + within
        while self.awaited():
            check()
            if time.perf_counter() >= deadline:
                return False
            await asyncio.sleep(SETTLE_POLL)
        return True

    def _run(self) -> None:
        started = time.thread_time()
        connection: sqlite3.Connection | None = None
        try:
            while not self._stopping.is_set():
                tick = time.perf_counter()
                connection = self._poll(connection)
                self.ticks += 1
                self.cpu = time.thread_time() - started
                rest = self._every - (time.perf_counter() - tick)
                if rest > 0:
                    time.sleep(rest)
        finally:
            if connection is not None:
                connection.close()

    def _poll(self, connection: sqlite3.Connection | None) -> sqlite3.Connection | None:
        """One round over the awaited keys; the connection to use next time (None: reopen)."""
        with self._lock:
            everything, new, self._new = list(self._awaited), self._new, set()
        if not everything:
            return connection
        try:
            connection = connection or read_only(self._uri)
            keys = self._to_ask(connection, everything, new)
            for at, seen in _visible_versions(connection, keys):
                self.queries += 1
                self._stamp(seen, at)
        except sqlite3.Error as error:  # e.g. tables not created yet: try again next tick
            self.errors += 1
            self.last_error = f"{type(error).__name__}: {error}"
            self._seen_data = None
            if connection is not None:
                connection.close()
            return None
        return connection

    def _to_ask(
        self, connection: sqlite3.Connection, everything: list[str], new: set[str]
    ) -> list[str]:
        """Every awaited key after a commit elsewhere, else only the newly awaited ones.

        The data version is read before the query: a commit landing in between is seen by the
        query and changes the version again, so the next tick asks for everything once more.
        """
        data = int(connection.execute("PRAGMA data_version").fetchone()[0])
        if data != self._seen_data:
            self._seen_data = data
            return everything
        return [key for key in everything if key in new]

    def _stamp(self, seen: dict[str, int], at: float) -> None:
        with self._lock:
            for key, version in seen.items():
                writes = self._awaited.get(key)
                if writes is None:
                    continue
                for write in writes:
                    if write.version <= version:
                        write.visible = at
                left = [w for w in writes if w.visible is None]
                if left:
                    self._awaited[key] = left
                else:
                    del self._awaited[key]


def read_only(uri: str) -> sqlite3.Connection:
    """Autocommit, so every statement reads the latest commit."""
    connection = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=1.0)
    connection.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    return connection


def _visible_versions(
    connection: sqlite3.Connection, keys: list[str]
) -> Iterator[tuple[float, dict[str, int]]]:
    """Per chunk of keys: when its statement started, and each key's version in all tables."""
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        at = time.perf_counter()
        rows = connection.execute(_query(len(chunk)), chunk).fetchall()
        yield at, {str(key): int(version) for key, version in rows}


@functools.lru_cache(maxsize=CHUNK + 1)
def _query(count: int) -> str:
    """Each key's lowest version over the tables; a key missing from one is not returned."""
    first, *others = TABLES
    joins = " ".join(
        f"JOIN {table} t{n} ON t{n}.session_key = t0.session_key"
        for n, table in enumerate(others, 1)
    )
    versions = ", ".join(f"t{n}.version" for n in range(len(TABLES)))
    marks = ",".join("?" * count)
    return (
        f"SELECT t0.session_key, MIN({versions}) FROM {first} t0 {joins} "
        f"WHERE t0.session_key IN ({marks})"
    )


def mismatched(database: Path, expected: dict[str, int]) -> int:
    """Sessions whose version differs from the acknowledged one in any table (or is missing)."""
    connection = read_only(database.as_uri() + "?mode=ro")
    try:
        differ = 0
        for table in TABLES:
            stored = dict(connection.execute(f"SELECT session_key, version FROM {table}"))
            differ += sum(stored.get(key) != version for key, version in expected.items())
        return differ
    finally:
        connection.close()
