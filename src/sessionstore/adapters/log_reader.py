"""The notification log read in bulk, for rebuilds: the stored bytes of the events with the
given topics, in stored order, in pages, on a connection of its own.

eventsourcing's `select_notifications` builds a `Notification` (with a UUID) per row through
a dict-like row; a rebuild only needs each event's bytes (they carry the originator id and
version), and reading just those is several times faster.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql
from psycopg.rows import tuple_row

from sessionstore.adapters.postgres import like_pool

Page = list[tuple[int, bytes]]  # (notification id, the event's stored bytes)


def sqlite_pages(
    path: str, table: str, topics: Sequence[str], start: int, size: int
) -> Iterator[Page]:
    statement = (
        f"SELECT rowid, state FROM {table} WHERE rowid >= ? "
        f"AND topic IN ({', '.join('?' for _ in topics)}) ORDER BY rowid LIMIT ?"
    )
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        while page := conn.execute(statement, (start, *topics, size)).fetchall():
            yield page
            start = page[-1][0] + 1


def sqlite_count(path: str, table: str, topics: Sequence[str]) -> int:
    statement = f"SELECT COUNT(*) FROM {table} WHERE topic IN ({', '.join('?' for _ in topics)})"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return int(conn.execute(statement, tuple(topics)).fetchone()[0])


def postgres_count(recorder: PostgresApplicationRecorder, topics: Sequence[str]) -> int:
    statement = sql.SQL("SELECT COUNT(*) FROM {}.{} WHERE topic = ANY(%s)").format(
        sql.Identifier(recorder.datastore.schema), sql.Identifier(recorder.events_table_name)
    )
    with like_pool(recorder.datastore.pool, row_factory=tuple_row) as conn:
        row = conn.execute(statement, (list(topics),)).fetchone()
    return int(row[0]) if row else 0


def postgres_pages(
    recorder: PostgresApplicationRecorder, topics: Sequence[str], start: int, size: int
) -> Iterator[Page]:
    statement = sql.SQL(
        "SELECT notification_id, state FROM {}.{} WHERE notification_id >= %s "
        "AND topic = ANY(%s) ORDER BY notification_id LIMIT %s"
    ).format(sql.Identifier(recorder.datastore.schema), sql.Identifier(recorder.events_table_name))
    with like_pool(recorder.datastore.pool, row_factory=tuple_row) as conn:
        while page := [
            (int(i), bytes(state))
            for i, state in conn.execute(statement, (start, list(topics), size)).fetchall()
        ]:
            yield page
            start = page[-1][0] + 1
