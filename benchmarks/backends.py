"""Fresh, throw-away storage for one HTTP benchmark run: a temp dir, and PostgreSQL schemas.

Everything made here is removed on the way out, also when the benchmark fails.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from sessionstore.config import eventstore_env


@dataclass(frozen=True)
class Backend:
    name: str
    directory: Path
    database_url: str  # the server's event store
    readmodel_url: str  # the server's read models: always a SQLite file of its own
    baseline_env: dict[str, str]  # the baseline Application's persistence settings


Opener = Callable[[str], contextlib.AbstractContextManager[Backend]]


@contextlib.contextmanager
def sqlite(_: str) -> Iterator[Backend]:
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        directory = Path(tmp)
        yield Backend(
            name="sqlite file",
            directory=directory,
            database_url=f"sqlite:///{directory / 'events.db'}",
            readmodel_url=f"sqlite:///{directory / 'readmodels.db'}",
            baseline_env=eventstore_env(f"sqlite:///{directory / 'baseline.db'}"),
        )


@contextlib.contextmanager
def postgresql(server_url: str) -> Iterator[Backend]:
    """Two fresh schemas in `server_url`'s database: the server's and the baseline's."""
    tag = uuid.uuid4().hex[:8]
    schemas = [f"bench_http_{tag}", f"bench_base_{tag}"]
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp, _schemas(server_url, schemas):
        directory = Path(tmp)
        yield Backend(
            name="postgresql",
            directory=directory,
            database_url=f"{server_url}?schema={schemas[0]}",
            readmodel_url=f"sqlite:///{directory / 'readmodels.db'}",
            baseline_env=eventstore_env(f"{server_url}?schema={schemas[1]}"),
        )


@contextlib.contextmanager
def _schemas(server_url: str, names: list[str]) -> Iterator[None]:
    """Created together (or not at all), dropped on the way out."""
    with _connect(server_url) as conn, conn.transaction():
        for name in names:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield
    finally:
        with _connect(server_url) as conn:
            conn.execute("SET lock_timeout = '10s'")
            for name in names:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
                )


def _connect(server_url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(server_url, autocommit=True, connect_timeout=5)


OPENERS: dict[str, Opener] = {"sqlite": sqlite, "postgresql": postgresql}
