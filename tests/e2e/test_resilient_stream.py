"""`sessionstore run` through bad records and a lost broker: the API answers throughout and
every session written before, during and after reaches every read model."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from sessionstore.adapters.broker import EmbeddedBroker, free_port
from sessionstore.adapters.kafka import OutgoingRecord
from sessionstore.domain.keys import session_key
from tests.e2e.pipeline import produce
from tests.e2e.processes import STOP_WITHIN, launcher, poll_until, start_run, stream_env
from tests.e2e.server import executable

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
PROJECTIONS = ("v1", "v2", "application-sessions")


def run_env(directory: Path, bootstrap: str, topic: str) -> dict[str, str]:
    return stream_env(
        f"sqlite:///{directory / 'events.db'}",
        f"sqlite:///{directory / 'readmodels.db'}",
        bootstrap,
        topic,
    )


def status(client: httpx.Client) -> int:
    try:
        return client.get("/health").status_code
    except httpx.TransportError:
        return 0


def put(client: httpx.Client, sid: str) -> None:
    body = {
        "customerSession": {
            "profileId": f"p-{sid}",
            "cartItems": [{"sku": "A", "quantity": 1, "price": 5}],
        }
    }
    response = client.put(f"/v2/customer_sessions/{sid}", json=body)
    assert response.status_code == 200, response.text


def projected_everywhere(client: httpx.Client, ids: list[str]) -> bool:
    return all(
        client.get(f"/readmodels/{name}/1/{sid}").status_code == 200
        for sid in ids
        for name in PROJECTIONS
    )


def parked_json(env: dict[str, str]) -> list[dict[str, object]]:
    done = subprocess.run(
        [executable(), "parked", "--json"], env=env, capture_output=True, timeout=60, check=True
    )
    items: list[dict[str, object]] = json.loads(done.stdout)
    return items


def test_junk_and_an_unknown_event_type_on_the_topic_are_parked_while_run_serves_on(
    tmp_path: Path, broker: EmbeddedBroker
) -> None:
    topic = f"sessions-{uuid.uuid4().hex[:10]}"
    env = run_env(tmp_path, broker.bootstrap, topic)
    stranger = str(session_key(1, "from-a-newer-writer"))
    unknown = {
        "type": "session.from_the_future",
        "originatorId": stranger,
        "originatorVersion": 1,
        "timestamp": "2026-12-01T10:00:00Z",
    }
    with launcher(tmp_path) as running:
        process, client = start_run(running, env)
        with client:
            put(client, "before")
            produce(
                broker.bootstrap,
                topic,
                [
                    OutgoingRecord(key=b"junk", value=b"this is not JSON", headers=()),
                    OutgoingRecord(
                        key=stranger.encode(), value=json.dumps(unknown).encode(), headers=()
                    ),
                ],
            )
            put(client, "after")
            poll_until(
                lambda: projected_everywhere(client, ["before", "after"]),
                "both sessions in every read model",
                process,
            )
            assert status(client) == 200
            parked = parked_json(env)
            for name in PROJECTIONS:
                keys = sorted(str(p["key"]) for p in parked if p["projection"] == name)
                assert keys == sorted(["junk", stranger]), parked
            assert all({"partition", "offset", "reason"} <= set(p) for p in parked)
        assert process.terminate(within=STOP_WITHIN) == 0

        process, client = start_run(running, env)  # the parked records do not crash a restart
        with client:
            put(client, "after-restart")
            poll_until(
                lambda: projected_everywhere(client, ["after-restart"]),
                "the session written after the restart in every read model",
                process,
            )
            assert len(parked_json(env)) == 2 * len(PROJECTIONS)
        assert process.terminate(within=STOP_WITHIN) == 0
    assert not running.tracebacks()


def test_a_lost_broker_turns_health_503_writes_go_on_and_all_arrive_once_it_is_back(
    tmp_path: Path,
) -> None:
    port = free_port()
    topic = "customer-sessions"
    with EmbeddedBroker(tmp_path / "broker-1.log", port=port) as first:
        env = run_env(tmp_path, first.bootstrap, topic)
        with launcher(tmp_path) as running:
            process, client = start_run(running, env)
            with client:
                put(client, "before-outage")
                poll_until(
                    lambda: projected_everywhere(client, ["before-outage"]),
                    "the first session in every read model",
                    process,
                )
                first.stop()
                lost_at = time.monotonic()
                poll_until(lambda: status(client) == 503, "/health to answer 503", process)
                assert time.monotonic() - lost_at < 10
                health = client.get("/health").json()
                assert health["parts"]["kafka"] == "failed"
                assert "kafka" in health["errors"]
                put(client, "during-outage")

                with EmbeddedBroker(tmp_path / "broker-2.log", port=port):  # fresh, empty
                    back_at = time.monotonic()
                    poll_until(
                        lambda: projected_everywhere(client, ["before-outage", "during-outage"]),
                        "every session in every read model once the broker is back",
                        process,
                    )
                    put(client, "after-outage")
                    poll_until(
                        lambda: (
                            projected_everywhere(client, ["after-outage"]) and status(client) == 200
                        ),
                        "the last session projected and /health 200",
                        process,
                    )
                    assert time.monotonic() - back_at < 60
                    assert process.terminate(within=STOP_WITHIN) == 0
        assert not running.tracebacks()
