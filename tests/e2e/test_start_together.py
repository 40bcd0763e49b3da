"""Any number of parts started at the same moment on a fresh PostgreSQL schema all come up."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from sessionstore.adapters.broker import EmbeddedBroker, free_port
from tests.conftest import POSTGRES
from tests.e2e.processes import STOP_WITHIN, launcher, poll_until, stream_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(300)]
PARTS = (
    ("serve",),
    ("relay",),
    ("project", "v1"),
    ("project", "v2"),
    ("project", "application-sessions"),
)


@pytest.fixture
def fresh_schemas() -> Iterator[list[str]]:
    """Names of schemas to start on; whichever were created are dropped afterwards."""
    names: list[str] = []
    yield names
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.parametrize("attempt", range(10))
def test_five_parts_started_at_once_on_a_fresh_schema_all_come_up(
    tmp_path: Path, broker: EmbeddedBroker, fresh_schemas: list[str], attempt: int
) -> None:
    schema = f"together_{uuid.uuid4().hex[:10]}"
    fresh_schemas.append(schema)
    url = f"{POSTGRES}?schema={schema}"
    env = stream_env(url, url, broker.bootstrap, f"sessions-{uuid.uuid4().hex[:10]}")
    with launcher(tmp_path) as running:
        ports = {part: free_port() for part in PARTS}
        processes = {
            part: running.start(env, *part, "--host", "127.0.0.1", "--port", str(port))
            for part, port in ports.items()
        }

        for part, process in processes.items():
            poll_until(lambda p=ports[part]: healthy(p), f"{part} to answer 200", process)
        for process in processes.values():
            assert process.terminate(within=STOP_WITHIN) == 0
    assert not running.tracebacks()
