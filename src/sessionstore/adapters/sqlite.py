"""Read-model storage in a SQLite file (WAL), over a few connections kept open.

Writers take the write lock at BEGIN (IMMEDIATE); readers read a snapshot (a deferred
BEGIN), so queries never wait for a projector's write. Read models are projections that can
be rebuilt: their commits are not fsynced one by one (see `_connect`). Connections are
reused: opening one per transaction cost a connect and a WAL checkpoint each time.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

KEPT_OPEN = 4
_writers: dict[str, threading.Lock] = {}  # one per file: this process's writers queue here
_writers_lock = threading.Lock()


def _writer_turn(path: str) -> threading.Lock:
    """Writers of one file in this process (the three projectors of `run`) take turns on a
    lock that wakes the next at once, where SQLite's busy handler would sleep and retry."""
    with _writers_lock:
        return _writers.setdefault(str(Path(path).resolve()), threading.Lock())


class SQLiteDatabase:
    blob = "BLOB"

    def __init__(self, path: str) -> None:
        self.path = path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._turn = _writer_turn(path)
        self._lock = threading.Lock()
        self._open = 0
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        # WAL + NORMAL: a commit is atomic but not fsynced. Rows and offsets commit together,
        # so a power cut loses the last batches whole and the projector reads them again.
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._connect()
            with self._lock:
                self._open += 1
        try:
            yield conn
        finally:
            with self._lock:
                keep = self._open <= KEPT_OPEN
                if not keep:
                    self._open -= 1
            if keep:
                self._idle.put(conn)
            else:
                conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._turn, self._connection() as conn:
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Cursor]:
        """A consistent snapshot that takes no write lock."""
        with self._connection() as conn:
            cur = conn.cursor()
            cur.execute("BEGIN")
            try:
                yield cur
            finally:
                conn.rollback()

    def lock(self, cur: Any, table: str) -> None:
        """BEGIN IMMEDIATE already keeps every other writer out."""

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
