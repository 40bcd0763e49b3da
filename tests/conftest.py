"""Shared fixtures: a store on a real SQLite file, or on the real PostgreSQL in a fresh schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from sessionstore.adapters.broker import EmbeddedBroker
from sessionstore.adapters.kafka import ensure_topic
from sessionstore.application import SessionStore
from sessionstore.bootstrap import build_store
from sessionstore.config import KafkaSettings, Settings

POSTGRES = os.environ.get("SESSIONSTORE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        psycopg.connect(POSTGRES, connect_timeout=3).close()
    except psycopg.OperationalError as error:  # pragma: no cover - CI starts PostgreSQL
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES}: {error}")
    yield f"{POSTGRES}?schema={schema}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


other_postgres_url = pytest.fixture(postgres_url.__wrapped__, name="other_postgres_url")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Run the test once on a SQLite file and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[SessionStore]:
    app = build_store(Settings(database_url=database_url))
    yield app
    app.close()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[SessionStore]:
    app = build_store(Settings(database_url=sqlite_url))
    yield app
    app.close()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """One real embedded broker process for the run; tests use fresh topics and groups."""
    with EmbeddedBroker(tmp_path_factory.mktemp("broker") / "broker.log") as running:
        yield running


@pytest.fixture
async def kafka(broker: EmbeddedBroker) -> KafkaSettings:
    """A fresh topic, created with its 3 partitions, on the shared broker."""
    settings = Settings(topic=f"sessions-{uuid.uuid4().hex[:10]}").kafka(
        broker.bootstrap, embedded=True
    )
    return await ensure_topic(settings)
