"""`sessionstore run --no-demo`: API, relay, projectors and an embedded broker in one process.

Driven over HTTP only: writes on the Integration API, then the eventually consistent read
endpoints and Talon's Management API sessions; then SIGTERM and a restart on the same files.
"""

from __future__ import annotations

import os
import re
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import STOP_WITHIN, Process, free_port, launcher, poll_until, start_run
from tests.e2e.server import executable
from tests.integration.support import exact

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
CART = [
    {"sku": "SHOE", "quantity": 1, "price": 80.5},
    {"sku": "SOCK", "quantity": 2, "price": 4.25},
]
Sessions = dict[str, dict[str, Any]]


def run_env(directory: Path) -> dict[str, str]:
    """SQLite files in `directory`; no SESSIONSTORE_KAFKA_BOOTSTRAP: its own embedded broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSTORE_")}
    return env | {
        "SESSIONSTORE_DATABASE_URL": f"sqlite:///{directory / 'events.db'}",
        "SESSIONSTORE_READMODEL_URL": f"sqlite:///{directory / 'readmodels.db'}",
        "SESSIONSTORE_KAFKA_SESSION_TIMEOUT_MS": "2000",
    }


def put(client: httpx.Client, sid: str, **session: Any) -> None:
    body = {"customerSession": session, "responseContent": ["customerSession"]}
    response = client.put(f"/v2/customer_sessions/{sid}", json=body)
    assert response.status_code == 200, response.text


def drive(client: httpx.Client) -> list[str]:
    """Sessions in every state, created in this order; returns their integration ids."""
    put(client, "alice-open", profileId="alice", cartItems=CART, couponCodes=["SAVE10"])
    put(client, "alice-open", attributes={"giftNote": "hi"}, discounts={"10 off": 10})
    put(client, "alice-closed", profileId="alice", cartItems=CART, couponCodes=["SAVE10"])
    put(client, "alice-closed", discounts={"5 off": 5, "shipping": 2.5}, state="closed")
    put(client, "bob-returned", profileId="bob", cartItems=CART, state="closed")
    returned = {"return": {"returnedCartItems": [{"position": 1, "quantity": 1}]}}
    response = client.post("/v2/customer_sessions/bob-returned/returns", json=returned)
    assert response.status_code == 200, response.text
    put(client, "bob-cancelled", profileId="bob", cartItems=CART, state="closed")
    put(client, "bob-cancelled", state="cancelled")
    put(client, "carol-reopened", profileId="carol", cartItems=CART, couponCodes=["OTHER"])
    put(client, "carol-reopened", state="closed")
    assert client.put("/v2/customer_sessions/carol-reopened/reopen").status_code == 200
    put(client, "carol-reopened", cartItems=CART[:1])
    put(client, "anonymous", cartItems=CART, state="closed")
    return [
        "alice-open",
        "alice-closed",
        "bob-returned",
        "bob-cancelled",
        "carol-reopened",
        "anonymous",
    ]


def document(client: httpx.Client, path: str) -> dict[str, Any] | None:
    response = client.get(path)
    return exact(response.text) if response.status_code == 200 else None


def projected(client: httpx.Client, ids: list[str]) -> Sessions | None:
    """The V2 sessions once all three read models show every session as the write side does."""
    written = {sid: exact(client.get(f"/v2/customer_sessions/{sid}").text) for sid in ids}
    sessions = {sid: answer["customerSession"] for sid, answer in written.items()}
    for sid, session in sessions.items():
        if document(client, f"/readmodels/v2/1/{sid}") != session:
            return None
        for other in ("v1", "application-sessions"):
            stored = document(client, f"/readmodels/{other}/1/{sid}")
            if stored is None or stored["state"] != session["state"]:
                return None
    return sessions


def wait_projected(client: httpx.Client, ids: list[str], process: Process) -> Sessions:
    found: dict[str, Sessions] = {}

    def ready() -> bool:
        sessions = projected(client, ids)
        if sessions is not None:
            found["sessions"] = sessions
        return sessions is not None

    poll_until(ready, "every read model to show every session", process)
    return found["sessions"]


def listed(client: httpx.Client, **query: Any) -> tuple[list[str], bool]:
    response = client.get("/v1/applications/1/sessions", params=query)
    assert response.status_code == 200, response.text
    page = exact(response.text)
    assert all(row["totalDiscounts"] == 0 for row in page["data"])
    return [row["integrationId"] for row in page["data"]], page["hasMore"]


def assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    body = response.json()
    assert body["message"] == "Not found"
    assert [error["title"] for error in body["errors"]] == ["not_found"]


def test_run_serves_the_projections_and_keeps_them_across_a_restart(tmp_path: Path) -> None:
    env = run_env(tmp_path)
    with launcher(tmp_path) as running:
        process, client = start_run(running, env)
        with client:
            ids = drive(client)
            sessions = wait_projected(client, ids, process)

            assert listed(client) == (ids, False)
            assert listed(client, sort="-created") == (ids[::-1], False)
            assert set(listed(client, state="closed")[0]) == {"alice-closed", "anonymous"}
            assert listed(client, state="partially_returned") == (["bob-returned"], False)
            assert listed(client, coupon="SAVE10") == (["alice-open", "alice-closed"], False)
            assert listed(client, profile="bob") == (["bob-returned", "bob-cancelled"], False)
            assert listed(client, profile="aro", partialMatch="true") == (["carol-reopened"], False)
            assert listed(client, pageSize=4) == (ids[:4], True)
            assert listed(client, pageSize=4, skip=4) == (ids[4:], False)
            one = document(client, f"/v1/applications/1/sessions/{sessions['alice-closed']['id']}")
            assert one == document(client, "/readmodels/application-sessions/1/alice-closed")
            assert one is not None
            assert one["totalDiscounts"] == Decimal("7.5")  # the list shows 0
            assert_not_found(client.get("/readmodels/v2/1/never-written"))
            assert_not_found(client.get("/readmodels/v3/1/alice-open"))
            assert_not_found(client.get("/v1/applications/1/sessions/999999"))
        assert process.terminate(within=STOP_WITHIN) == 0

        process, client = start_run(running, env)  # a new, empty embedded broker; the same files
        with client:
            for sid, session in sessions.items():
                assert document(client, f"/readmodels/v2/1/{sid}") == session
            put(client, "after-restart", profileId="dave", cartItems=CART)
            put(client, "alice-closed", state="cancelled")
            again = wait_projected(client, [*ids, "after-restart"], process)
            assert again["alice-closed"]["state"] == "cancelled"
            assert listed(client, profile="dave") == (["after-restart"], False)
        assert process.terminate(within=STOP_WITHIN) == 0
    assert not running.tracebacks()


def test_run_with_api_keys_runs_its_demo_with_the_first_key_and_demo_takes_a_key(
    tmp_path: Path,
) -> None:
    env = run_env(tmp_path) | {"SESSIONSTORE_API_KEYS": "demo-key=5,other=6"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with launcher(tmp_path) as running:
        process = running.start(env, "run", "--host", "127.0.0.1", "--port", str(port))
        shown = re.compile(rf"{re.escape(base)}/readmodels/v2/5/(demo-[0-9a-f]+)")
        poll_until(lambda: shown.search(process.output()) is not None, "the demo", process)
        demo_id = shown.search(process.output()).group(1)  # type: ignore[union-attr]
        keyed = {"Authorization": "ApiKey-v1 demo-key"}
        with httpx.Client(base_url=base, headers=keyed, timeout=10) as client:
            stored = client.get(f"/v2/customer_sessions/{demo_id}")
            assert stored.json()["customerSession"]["state"] == "cancelled", stored.text
            assert client.get("/health").status_code == 200

        demo = [executable(), "demo", "--url", base]
        with_key = subprocess.run([*demo, "--api-key", "demo-key"], capture_output=True, text=True)
        assert with_key.returncode == 0, with_key.stderr
        without = subprocess.run(demo, capture_output=True, text=True)
        assert without.returncode == 1
        assert without.stderr.strip().splitlines() == [
            f"{base} answered 401: " + ("send a known key as `Authorization: ApiKey-v1 <key>`")
        ]
        process.check_alive()
