"""Store-wide numbers (session ids, profile numbers, return ids) without contention.

Each process reserves a block of numbers from the database in one short transaction and hands
them out from memory, so independent commands never conflict over a number: on PostgreSQL
from a native SEQUENCE, on SQLite from a one-row-per-sequence table updated under the write
lock. Numbers are recorded in the events that use them, so replays give the same numbers.
A block not used up when the process stops leaves a gap; a number is never given twice.

Upgrade: stores written before this existed kept their numbers as `sequence.allocated`
events, the number being the version of the sequence's aggregate. When a sequence is first
created, it starts above the highest number those events gave (docs/decisions.md, "Numbers").
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg import sql

BLOCK = 32

Reserve = Callable[[str, int], Sequence[int]]


class BlockNumbers:
    """Hands out each sequence's numbers from blocks reserved `block` at a time."""

    def __init__(self, reserve: Reserve, block: int = BLOCK) -> None:
        self._reserve = reserve
        self._block = block
        self._free: dict[str, deque[int]] = {}
        self._lock = threading.Lock()

    def next(self, name: str) -> int:
        with self._lock:
            free = self._refilled(name)
            return free.popleft()

    def available(self, name: str) -> bool:
        """Whether `next` can answer from memory, without reserving a block."""
        return bool(self._free.get(name))

    def peek(self, name: str) -> int:
        """The number `next` would give, without taking it (for dry runs)."""
        with self._lock:
            return self._refilled(name)[0]

    def _refilled(self, name: str) -> deque[int]:
        free = self._free.setdefault(name, deque())
        if not free:
            free.extend(self._reserve(name, self._block))
        return free


def sqlite_numbers(path: str, table: str, legacy: Mapping[str, UUID]) -> BlockNumbers:
    """Sequences as rows of a table in the event store's SQLite file."""

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)

    with connect() as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS sessionstore_numbers "
            "(name TEXT PRIMARY KEY, last INTEGER NOT NULL)"
        )
        for name, key in legacy.items():
            (highest,) = conn.execute(
                f"SELECT COALESCE(MAX(originator_version), 0) FROM {table} WHERE originator_id = ?",
                (key.hex,),
            ).fetchone()
            conn.execute(
                "INSERT OR IGNORE INTO sessionstore_numbers (name, last) VALUES (?, ?)",
                (name, highest),
            )
        conn.execute("COMMIT")
    conn.close()

    def reserve(name: str, count: int) -> Sequence[int]:
        with connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            (last,) = conn.execute(
                "UPDATE sessionstore_numbers SET last = last + ? WHERE name = ? RETURNING last",
                (count, name),
            ).fetchone()
            conn.execute("COMMIT")
        conn.close()
        return range(last - count + 1, last + 1)

    return BlockNumbers(reserve)


def postgres_numbers(
    datastore: PostgresDatastore, table: str, legacy: Mapping[str, UUID]
) -> BlockNumbers:
    """Sequences as native PostgreSQL SEQUENCEs: nextval never waits for another transaction."""
    schema = datastore.schema

    def qualified(name: str) -> str:
        return f"{schema}.sessionstore_{name}_numbers"

    with datastore.get_connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('sessionstore.numbers'))")
        for name, key in legacy.items():
            row = conn.execute("SELECT to_regclass(%s) AS found", (qualified(name),)).fetchone()
            if row and row["found"] is not None:
                continue
            conn.execute(
                sql.SQL("CREATE SEQUENCE {}").format(
                    sql.Identifier(schema, f"sessionstore_{name}_numbers")
                )
            )
            legacy_max = sql.SQL(
                "SELECT MAX(originator_version) AS n FROM {} WHERE originator_id = %s"
            ).format(sql.Identifier(schema, table))
            highest = conn.execute(legacy_max, (key,)).fetchone()
            if highest and highest["n"]:
                conn.execute("SELECT setval(%s, %s)", (qualified(name), highest["n"]))

    def reserve(name: str, count: int) -> Sequence[int]:
        with datastore.get_connection() as conn:
            rows = conn.execute(
                "SELECT nextval(%s) AS n FROM generate_series(1, %s)", (qualified(name), count)
            ).fetchall()
        return sorted(int(row["n"]) for row in rows)

    return BlockNumbers(reserve)
