"""The server as a process: restarts keep every session; concurrent writers lose nothing."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from talon_one import IntegrationApi

from tests.e2e.sdk import API_KEYS, KEY, closed_session, integration_api, new_id, update
from tests.e2e.server import Server

pytestmark = pytest.mark.slow

AUTH = {"Authorization": f"ApiKey-v1 {KEY}"}
WRITERS = 8


def test_concurrent_http_updates_of_one_session_succeed_or_get_409_and_none_is_lost(
    server: Server,
    api: IntegrationApi,
) -> None:
    integration_id = new_id()
    update(api, integration_id, attributes={"writer": -1})
    start = threading.Barrier(WRITERS)

    def put(client: httpx.Client, i: int) -> httpx.Response:
        start.wait(timeout=30)
        return client.put(
            f"/v2/customer_sessions/{integration_id}",
            json={"customerSession": {"attributes": {f"seen-{i}": True}}},
        )

    with (
        httpx.Client(base_url=server.base_url, headers=AUTH, timeout=30) as client,
        ThreadPoolExecutor(WRITERS) as pool,
    ):
        responses = list(pool.map(lambda i: put(client, i), range(WRITERS)))

    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 409}, [r.text for r in responses]
    for conflict in (r for r in responses if r.status_code == 409):
        assert conflict.json()["message"] == (
            "Too many requests are updating this session at the same time"
        )
    session = api.get_customer_session(integration_id).customer_session
    assert session is not None
    assert session.update_count == statuses.count(200) + 1
    assert len([k for k in session.attributes or {} if k.startswith("seen-")]) == statuses.count(
        200
    )


def test_a_restarted_server_serves_the_same_sessions_from_the_same_sqlite_file(
    tmp_path: Path,
) -> None:
    server = Server(tmp_path / "events.db", API_KEYS)
    try:
        with integration_api(server.start()) as api:
            integration_id, closed = closed_session(api)
        server.stop()

        with integration_api(server.start()) as api:
            again = api.get_customer_session(integration_id).customer_session
            later = update(api, new_id())
    finally:
        server.stop()

    assert again == closed
    assert later.id > closed.id


@pytest.mark.parametrize("path", ["X%2Freopen", "X%00", "X%0Aforged", "bad%FFid"])
def test_over_real_http_a_hostile_id_is_a_400_and_session_x_is_untouched(
    server: Server, api: IntegrationApi, path: str
) -> None:
    integration_id, _ = closed_session(api)
    authority = server.base_url.removeprefix("http://")
    connection = http.client.HTTPConnection(authority, timeout=30)
    try:  # http.client sends the path exactly as given
        connection.request("PUT", f"/v2/customer_sessions/{integration_id}{path}", headers=AUTH)
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()

    assert response.status == 400, body
    assert body["errors"][0]["source"]["parameter"] == "customerSessionId"
    session = api.get_customer_session(integration_id).customer_session
    assert session is not None
    assert session.state == "closed"
