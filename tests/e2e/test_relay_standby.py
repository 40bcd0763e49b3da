"""Two relays on one event store: exactly one publishes, the other stands by and takes over
within 15 s of a SIGKILL; on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from sessionstore.adapters.broker import EmbeddedBroker, free_port
from sessionstore.adapters.kafka import ensure_topic
from sessionstore.adapters.readmodel_tables import open_database
from sessionstore.adapters.readmodel_writer import ReadModelWriter
from sessionstore.application import SessionStore
from sessionstore.config import KafkaSettings, Settings
from sessionstore.readmodels.projections import PROJECTIONS
from tests.e2e.pipeline import Topic, latest_versions, lifecycles, stored_events
from tests.e2e.processes import Launcher, Process, launcher, poll_until, stream_env, wait_for
from tests.e2e.server import executable

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
TAKES_OVER_WITHIN = 15.0


def relay_state(port: int) -> str:
    try:
        return str(httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()["parts"]["relay"])
    except (httpx.TransportError, ValueError, KeyError):
        return ""


def start_relay(running: Launcher, env: dict[str, str], port: int) -> Process:
    return running.start(env, "relay", "--port", str(port))


async def test_two_relays_publish_each_event_once_and_the_standby_takes_over_a_killed_one(
    tmp_path: Path, store: SessionStore, database_url: str, own_broker: EmbeddedBroker
) -> None:
    kafka: KafkaSettings = await ensure_topic(
        Settings(topic="customer-sessions").kafka(own_broker.bootstrap, embedded=True)
    )
    readmodel_url = f"sqlite:///{tmp_path / 'readmodels.db'}"
    env = stream_env(database_url, readmodel_url, kafka.bootstrap, kafka.topic)
    first_port, second_port = free_port(), free_port()
    with launcher(tmp_path) as running:
        first = start_relay(running, env, first_port)
        poll_until(lambda: relay_state(first_port) == "running", "the first relay", first)
        second = start_relay(running, env, second_port)
        poll_until(lambda: relay_state(second_port) == "standby", "a standby relay", second)

        lifecycles(store, "both-running", count=20, rounds=3)
        before_kill = stored_events(store)
        async with Topic(kafka) as topic:
            on_topic = await topic.read_until(set(before_kill))
        published = [(key, version) for key, rows in on_topic.items() for _, version, _ in rows]
        assert len(published) == len(set(published)) == len(before_kill)  # none twice

        first.kill()
        killed_at = time.monotonic()
        lifecycles(store, "after-kill", count=5, rounds=2)
        everything = stored_events(store)
        async with Topic(kafka) as topic:
            await topic.read_until(set(everything))
        assert time.monotonic() - killed_at < TAKES_OVER_WITHIN
        assert relay_state(second_port) == "running"

        for name in PROJECTIONS:
            running.start(env, "project", name)
        views = {
            n: ReadModelWriter(open_database(readmodel_url), PROJECTIONS[n]) for n in PROJECTIONS
        }
        wanted = sum(latest_versions(everything).values())
        await wait_for(
            lambda: all(
                sum(v for _, v in rm.queries.versions()) == wanted for rm in views.values()
            ),
            "every read model to catch up",
            running,
        )
        verified = subprocess.run(
            [executable(), "verify"], env=env, capture_output=True, text=True, timeout=120
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr
        for view in views.values():
            view.close()
    assert not running.tracebacks()
