"""The tables of one projection, over one database adapter: what the projector's writer,
the rebuild and the readers' queries share.

Each projection has four tables: `<name>_sessions` (one row per session: the rendered
document, its working state and the columns the Management API filters on), `_offsets`
(the next Kafka offset per partition, written with the rows: design rule 4), `_gaps` and
`_parked` (records set aside, see readmodels/progress.py). A rebuild writes the same tables
under a prefix (`shadow_`) and swaps them in.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from sessionstore import codec
from sessionstore.adapters import parked
from sessionstore.adapters.filters import micros
from sessionstore.config import CONNECT_TIMEOUT, eventstore_env, postgres_schema
from sessionstore.domain.session import Session
from sessionstore.readmodels.items import joined
from sessionstore.readmodels.progress import Gap
from sessionstore.readmodels.projections import Projection


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Database(Protocol):
    """A SQLite file or a PostgreSQL schema; SQL uses `?` placeholders, types in DDL vary."""

    blob: str

    def transaction(self) -> AbstractContextManager[Cursor]: ...
    def reading(self) -> AbstractContextManager[Cursor]: ...
    def lock(self, cur: Cursor, table: str) -> None: ...
    def close(self) -> None: ...


PARTS = ("sessions", "offsets", "gaps", "parked")
COLUMNS = (
    "session_key",
    "application_id",
    "integration_id",
    "session_id",
    "version",
    "state",
    "profile",
    "coupon",
    "referral",
    "store_integration_id",
    "created_us",
    "aggregate",
    "document",
)
Row = tuple[Any, ...]


class Tables:
    """A projection's tables (under `prefix`) in `database`."""

    def __init__(self, database: Database, projection: Projection, prefix: str = "") -> None:
        self.database = database
        self.projection = projection
        self.name = f"{prefix}{projection.table}"

    def create(self) -> None:
        with self.database.transaction() as cur:
            self.create_in(cur)

    def create_in(self, cur: Cursor) -> None:
        blob, t = self.database.blob, self.name
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {t}_sessions (session_key TEXT PRIMARY KEY, "
            "application_id BIGINT NOT NULL, integration_id TEXT NOT NULL, "
            "session_id BIGINT NOT NULL, version BIGINT NOT NULL, state TEXT NOT NULL, "
            "profile TEXT NOT NULL, coupon TEXT NOT NULL, referral TEXT NOT NULL, "
            "store_integration_id TEXT NOT NULL, created_us BIGINT NOT NULL, "
            f"aggregate {blob} NOT NULL, document {blob} NOT NULL, "
            # constraints, not named indexes: they move with the table when it is swapped in
            "UNIQUE (application_id, integration_id), UNIQUE (application_id, session_id))"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {t}_offsets (cluster TEXT NOT NULL, "
            "topic TEXT NOT NULL, kafka_partition INTEGER NOT NULL, "
            "next_offset BIGINT NOT NULL, PRIMARY KEY (cluster, topic, kafka_partition))"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {t}_gaps (session_key TEXT NOT NULL, "
            "expected BIGINT NOT NULL, received BIGINT NOT NULL, "
            "kafka_partition INTEGER NOT NULL, kafka_offset BIGINT NOT NULL, "
            "PRIMARY KEY (session_key, received))"
        )
        parked.create(cur, t, blob)

    def drop_in(self, cur: Cursor) -> None:
        for part in PARTS:
            cur.execute(f"DROP TABLE IF EXISTS {self.name}_{part}")

    @property
    def upsert(self) -> str:
        """Insert or replace a session's row (one of `row()`)."""
        updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
        return (
            f"INSERT INTO {self.name}_sessions ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in COLUMNS)}) "
            f"ON CONFLICT (session_key) DO UPDATE SET {updates}"
        )

    def row(self, session: Session, columns: Row) -> Row:
        """The session's row in this projection: its `columns()` and its document."""
        return (*columns, codec.encode_document(self.projection.render(session)))

    def stored_states(
        self, cur: Cursor, keys: Sequence[str], decode: Callable[[bytes], Session]
    ) -> dict[str, Session]:
        """The stored working states of these sessions, in one query."""
        if not keys:
            return {}
        cur.execute(
            f"SELECT session_key, aggregate FROM {self.name}_sessions "
            f"WHERE session_key IN ({', '.join('?' for _ in keys)})",
            keys,
        )
        return {str(key): decode(as_bytes(state)) for key, state in cur.fetchall()}

    def store_gaps(self, cur: Cursor, gaps: Sequence[Gap]) -> None:
        cur.executemany(
            f"INSERT INTO {self.name}_gaps VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (session_key, received) DO NOTHING",
            [(g.session_key, g.expected, g.received, g.partition, g.offset) for g in gaps],
        )

    def store_offsets(self, cur: Cursor, cluster: str, offsets: dict[tuple[str, int], int]) -> None:
        cur.executemany(
            f"INSERT INTO {self.name}_offsets VALUES (?, ?, ?, ?) "
            "ON CONFLICT (cluster, topic, kafka_partition) "
            "DO UPDATE SET next_offset = excluded.next_offset",
            [(cluster, topic, partition, offset) for (topic, partition), offset in offsets.items()],
        )

    def positions(
        self, cluster: str, topic: str, partitions: Sequence[int] | None = None
    ) -> dict[int, int]:
        """Stored next offsets; none for a cluster never seen (a new embedded broker)."""
        with self.database.reading() as cur:
            cur.execute(
                f"SELECT kafka_partition, next_offset FROM {self.name}_offsets "
                "WHERE cluster = ? AND topic = ?",
                (cluster, topic),
            )
            stored = {int(p): int(o) for p, o in cur.fetchall()}
        return {p: o for p, o in stored.items() if partitions is None or p in partitions}


def columns(session: Session) -> Row:
    """A session's columns but its document, its working state included: the same in every
    projection's table."""
    return (
        str(session.key),
        session.application_id,
        session.integration_id,
        session.session_id,
        session.version,
        session.state,
        session.profile_id,
        joined(session.coupon_codes),
        session.referral_code,
        session.store_integration_id or "",
        micros(session.created),
        codec.encode_state(session),
    )


def as_bytes(value: Any) -> bytes:
    """A BLOB/BYTEA column's value as bytes (sqlite3 gives bytes, psycopg memoryview)."""
    return bytes(value) if not isinstance(value, str) else value.encode()


def holds_readmodels(
    url: str, projections: Sequence[Projection], timeout: int = CONNECT_TIMEOUT
) -> bool:
    """Whether the database at `url` has the session tables of these projections, without
    creating anything (a mistyped SQLite path stays absent)."""
    env = eventstore_env(url)
    tables = [f"{p.table}_sessions" for p in projections]
    if "SQLITE_DBNAME" in env:
        path = env["SQLITE_DBNAME"]
        if not Path(path).is_file():
            return False
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        return all(table in names for table in tables)
    schema = postgres_schema(url) or "public"
    from sessionstore.adapters.postgres import connect

    with connect(url, timeout) as conn:
        found = conn.execute(
            "SELECT count(to_regclass(quote_ident(%s) || '.' || quote_ident(t))) "
            "FROM unnest(%s::text[]) AS t",
            (schema, tables),
        ).fetchone()
    return found is not None and found[0] == len(tables)


def open_database(url: str) -> Database:
    """`sqlite:///path` or `postgresql://...[?schema=name]`, as for the event store."""
    from sessionstore.adapters.postgres import PostgresDatabase
    from sessionstore.adapters.sqlite import SQLiteDatabase

    env = eventstore_env(url)
    if "SQLITE_DBNAME" in env:
        return SQLiteDatabase(env["SQLITE_DBNAME"])
    return PostgresDatabase(url.split("?")[0], postgres_schema(url))
