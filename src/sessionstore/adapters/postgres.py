"""Read-model storage in PostgreSQL, optionally in its own schema (`?schema=name`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool


def connect(url: str, timeout: int) -> psycopg.Connection[tuple[Any, ...]]:
    """An autocommit connection to the URL's database (its `?schema=` left out), or
    psycopg's own reason within `timeout` seconds (say, `database "nodb" does not exist`)."""
    return psycopg.connect(url.split("?")[0], autocommit=True, connect_timeout=timeout)


def like_pool(pool: Any, **settings: Any) -> psycopg.Connection[Any]:
    """A connection of its own, made as eventsourcing's pool makes its connections (its
    settings may be callables, asked at each connect), autocommit, with these `settings`."""
    conninfo = pool.conninfo() if callable(pool.conninfo) else pool.conninfo
    kwargs = pool.kwargs() if callable(pool.kwargs) else pool.kwargs
    return psycopg.connect(
        conninfo, **{"connect_timeout": 5, **(kwargs or {}), "autocommit": True, **settings}
    )


class _Cursor:
    """Lets the shared SQL use `?` placeholders, as sqlite3 does."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(statement.replace("?", "%s"), params)

    def executemany(self, statement: str, params: Sequence[Sequence[Any]]) -> Any:
        return self._cursor.executemany(statement.replace("?", "%s"), params)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        rows: list[Any] = self._cursor.fetchall()
        return rows


class PostgresDatabase:
    blob = "BYTEA"

    def __init__(self, dsn: str, schema: str = "") -> None:
        self.schema = schema
        self._pool = ConnectionPool(
            dsn, min_size=1, max_size=8, open=True, configure=self._configure
        )
        if schema:
            with self._pool.connection() as conn:
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                )

    def _configure(self, conn: Any) -> None:
        if self.schema:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            conn.commit()

    @contextmanager
    def transaction(self) -> Iterator[_Cursor]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield _Cursor(cur)

    def reading(self) -> AbstractContextManager[_Cursor]:
        """Reads need no more than a transaction on PostgreSQL (MVCC)."""
        return self.transaction()

    def lock(self, cur: Any, table: str) -> None:
        cur.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")

    def close(self) -> None:
        self._pool.close()
