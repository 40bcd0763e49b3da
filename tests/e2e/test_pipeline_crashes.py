"""SIGKILL the relay and the projectors mid-stream: restarted, they lose nothing, repeat nothing.

Real processes (`sessionstore relay`, `sessionstore project NAME`), a real embedded broker of
the test's own (consumer groups are named per projection, so no test shares one), real SQLite
files and the real PostgreSQL. Every wait polls stored positions or read-model versions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sessionstore.adapters.broker import EmbeddedBroker
from sessionstore.adapters.kafka import ensure_topic
from sessionstore.adapters.readmodel_tables import open_database
from sessionstore.adapters.readmodel_writer import ReadModelWriter
from sessionstore.application import SessionStore
from sessionstore.bootstrap import build_store
from sessionstore.config import KafkaSettings, Settings
from sessionstore.domain.changes import SessionUpdate
from sessionstore.readmodels.projections import PROJECTIONS
from tests.e2e.pipeline import (
    RelayPosition,
    Topic,
    assert_equal_to_folds,
    create,
    last_session_notification,
    later_changes,
    latest_versions,
    lifecycles,
    pad,
    return_one,
    stored_events,
    write_one,
)
from tests.e2e.processes import Launcher, launcher, stream_env, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
TOPIC = "customer-sessions"


@pytest.fixture
async def kafka(own_broker: EmbeddedBroker) -> KafkaSettings:
    """The topic created up front, so it can be watched before the relay first runs."""
    return await ensure_topic(Settings(topic=TOPIC).kafka(own_broker.bootstrap, embedded=True))


def opened(url: str, *names: str) -> dict[str, ReadModelWriter]:
    """The test's own view of the read models (tables created before any projector starts)."""
    return {name: ReadModelWriter(open_database(url), PROJECTIONS[name]) for name in names}


def applied(readmodels: ReadModelWriter) -> int:
    return sum(version for _, version in readmodels.queries.versions())


async def kill_relay_mid_stream(
    running: Launcher, env: dict[str, str], store: SessionStore, kafka: KafkaSettings
) -> None:
    """Start the relay on a backlog; SIGKILL it once the topic grew, and while at least one
    stored event (written just before the kill) cannot have been published."""
    position = RelayPosition(store, kafka)
    async with Topic(kafka) as topic:
        before = await topic.end()
        relay = running.start(env, "relay")
        await wait_for(lambda: grown(topic, before), "the relay's first records", running)
        write_one(store)
        relay.kill()
    assert position() < last_session_notification(store), "the relay finished before the kill"


async def grown(topic: Topic, before: int) -> bool:
    return await topic.end() > before


async def relay_caught_up(running: Launcher, store: SessionStore, kafka: KafkaSettings) -> None:
    last, position = last_session_notification(store), RelayPosition(store, kafka)
    await wait_for(lambda: position() == last, "the relay to publish every event", running)


async def test_a_relay_killed_mid_stream_and_restarted_puts_every_stored_event_on_the_topic(
    tmp_path: Path, sqlite_store: SessionStore, sqlite_url: str, kafka: KafkaSettings
) -> None:
    ids = lifecycles(sqlite_store, "order", count=40, rounds=8)
    env = stream_env(sqlite_url, sqlite_url, kafka.bootstrap, kafka.topic)
    with launcher(tmp_path) as running:
        await kill_relay_mid_stream(running, env, sqlite_store, kafka)
        later_changes(sqlite_store, ids)  # while the relay is down
        lifecycles(sqlite_store, "while-down", count=5, rounds=2)
        running.start(env, "relay")
        await relay_caught_up(running, sqlite_store, kafka)
        assert not running.tracebacks()
    stored = stored_events(sqlite_store)
    async with Topic(kafka) as topic:
        on_topic = await topic.read_until(set(stored))

    assert sum(len(records) for records in on_topic.values()) >= len(stored)
    assert latest_versions(stored) == {
        key.decode(): max(version for _, version, _ in records) for key, records in on_topic.items()
    }
    for key, records in on_topic.items():
        assert len({partition for partition, _, _ in records}) == 1, key
        highest = 0
        for _, version, value in records:  # repeats allowed, never a version out of order
            assert version <= highest + 1, f"{key!r}: version {version} after {highest}"
            highest = max(highest, version)
            assert value == stored[(key, version)]  # the stored bytes, unchanged


async def test_a_projector_killed_mid_stream_and_restarted_ends_equal_to_the_folds(
    tmp_path: Path, sqlite_store: SessionStore, sqlite_url: str, kafka: KafkaSettings
) -> None:
    ids = lifecycles(sqlite_store, "order", count=40, rounds=8)
    readmodel_url = f"sqlite:///{tmp_path / 'readmodels.db'}"
    v2 = opened(readmodel_url, "v2")["v2"]
    env = stream_env(sqlite_url, readmodel_url, kafka.bootstrap, kafka.topic)
    with launcher(tmp_path) as running:
        running.start(env, "relay")
        projector = running.start(env, "project", "v2")
        await wait_for(lambda: applied(v2) > 0, "the projector's first batch", running)
        write_one(sqlite_store)
        projector.kill()
        total = sum(latest_versions(stored_events(sqlite_store)).values())
        assert 0 < applied(v2) < total, "the projector was not killed mid-stream"
        later_changes(sqlite_store, ids)  # while the projector is down
        lifecycles(sqlite_store, "while-down", count=5, rounds=2)
        running.start(env, "project", "v2")
        wanted = latest_versions(stored_events(sqlite_store))
        await wait_for(lambda: dict(v2.queries.versions()) == wanted, "v2 to catch up", running)
        assert not running.tracebacks()
    assert_equal_to_folds(sqlite_store, v2)


@pytest.mark.postgres
async def test_writes_made_while_relay_and_projectors_are_down_appear_after_they_restart(
    tmp_path: Path, postgres_url: str, kafka: KafkaSettings
) -> None:
    """On PostgreSQL. The relay dies after publishing second returns it never recorded, so
    its restart repeats them: a projector applying one twice would double a returned quantity."""
    store = build_store(Settings(database_url=postgres_url))
    readmodels = opened(postgres_url, *PROJECTIONS)
    env = stream_env(postgres_url, postgres_url, kafka.bootstrap, kafka.topic)

    def caught_up() -> Callable[[], bool]:
        """Whether every read model holds every session stored so far, at its latest version."""
        wanted = latest_versions(stored_events(store))
        return lambda: all(dict(rm.queries.versions()) == wanted for rm in readmodels.values())

    try:
        returned, growing = [f"returned-{i}" for i in range(20)], [f"open-{i}" for i in range(20)]
        for i, sid in enumerate(returned + growing):
            create(store, sid, i)
        for sid in returned:
            store.update_session(1, sid, SessionUpdate(state="closed"))
            return_one(store, sid)
        with launcher(tmp_path) as running:
            relay = running.start(env, "relay")
            projectors = [running.start(env, "project", name) for name in PROJECTIONS]
            await wait_for(caught_up(), "the first sessions to be projected", running)
            relay.kill()  # at rest: everything so far is published and recorded
            before = {name: applied(rm) for name, rm in readmodels.items()}
            for sid in returned:
                return_one(store, sid)  # small, first in the log...
            for r in range(10):
                for sid in growing:
                    pad(store, sid, r)  # ...then big ones, so the relay is killed in between
            await kill_relay_mid_stream(running, env, store, kafka)
            await wait_for(
                lambda: all(applied(rm) > before[name] for name, rm in readmodels.items()),
                "every projector to apply some of what the killed relay published",
                running,
            )
            for projector in projectors:
                projector.kill()
            for cancelled, closed in zip(returned[::2], growing[::2], strict=True):
                store.update_session(1, cancelled, SessionUpdate(state="cancelled"))  # all down
                store.update_session(1, closed, SessionUpdate(state="closed"))
            lifecycles(store, "while-down", count=5, rounds=2)
            assert not caught_up()()

            running.start(env, "relay")
            for name in PROJECTIONS:
                running.start(env, "project", name)
            await wait_for(caught_up(), "every read model to catch up", running)
            assert not running.tracebacks()
        for rm in readmodels.values():
            assert_equal_to_folds(store, rm)
    finally:
        for rm in readmodels.values():
            rm.close()
        store.close()
