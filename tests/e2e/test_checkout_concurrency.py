"""A checkout's load on a real server: 32 clients, each on its own sessions; one or two
worker processes on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.sdk import API_KEYS, KEY
from tests.e2e.server import Server

pytestmark = pytest.mark.slow

CLIENTS = 32
SESSIONS = 3
UPDATES = 4


@pytest.fixture(
    params=[
        ("sqlite", 1),
        ("sqlite", 2),
        pytest.param(("postgres", 1), marks=pytest.mark.postgres),
        pytest.param(("postgres", 2), marks=pytest.mark.postgres),
    ],
    ids=lambda p: f"{p[0]}-{p[1]}-worker",
)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    backend, workers = request.param
    url = "" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    running = Server(tmp_path / "events.db", API_KEYS, database_url=url, workers=workers)
    try:
        running.start()
        yield running
    finally:
        running.stop()
    assert "Traceback" not in running.output()


def checkout(base_url: str, client_number: int, start: threading.Barrier) -> list[int]:
    """One client: its own connection, its own sessions, one PUT per cart change."""
    statuses = []
    headers = {"Authorization": f"ApiKey-v1 {KEY}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        start.wait(timeout=30)
        for step in range(UPDATES):
            for s in range(SESSIONS):
                cart = [{"sku": f"SKU-{step}", "quantity": 1 + step, "price": 9.99}]
                response = client.put(
                    f"/v2/customer_sessions/c{client_number}-s{s}",
                    json={
                        "customerSession": {"profileId": f"p{client_number}", "cartItems": cart},
                        "responseContent": ["customerSession"],
                    },
                )
                statuses.append(response.status_code)
    return statuses


def test_32_clients_writing_their_own_sessions_all_get_200_and_every_change_is_kept(
    server: Server,
) -> None:
    start = threading.Barrier(CLIENTS)

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(lambda i: checkout(server.base_url, i, start), range(CLIENTS)))

    statuses = [status for answer in answers for status in answer]
    assert statuses == [200] * CLIENTS * SESSIONS * UPDATES
    ids = set()
    headers = {"Authorization": f"ApiKey-v1 {KEY}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        for c in range(CLIENTS):
            for s in range(SESSIONS):
                session = client.get(f"/v2/customer_sessions/c{c}-s{s}").json()["customerSession"]
                assert session["updateCount"] == UPDATES
                assert session["cartItems"][0]["quantity"] == UPDATES
                ids.add(session["id"])
    assert len(ids) == CLIENTS * SESSIONS


def test_one_session_written_over_new_connections_keeps_every_change(server: Server) -> None:
    """Each PUT on a new connection may reach another worker, whose state in memory is stale:
    the group commit's version check catches it and the write is planned again, never lost."""
    headers = {"Authorization": f"ApiKey-v1 {KEY}", "Connection": "close"}
    for step in range(20):
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
            response = client.put(
                "/v2/customer_sessions/hopping",
                json={"customerSession": {"attributes": {f"step-{step}": step}}},
            )
            assert response.status_code == 200, response.text

    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        session = client.get("/v2/customer_sessions/hopping").json()["customerSession"]
    assert session["updateCount"] == 20
    assert session["attributes"] == {f"step-{step}": step for step in range(20)}
