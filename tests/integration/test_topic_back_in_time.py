"""A topic that went back in time (a broker restarted empty under the same cluster id): the
projector notices that a partition's log now ends before its position and reads it again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from sessionstore.adapters.broker import EmbeddedBroker
from sessionstore.adapters.kafka import ensure_topic
from sessionstore.adapters.readmodel_tables import open_database
from sessionstore.adapters.readmodel_writer import ReadModelWriter
from sessionstore.adapters.relay_lock import relay_lock
from sessionstore.application import SessionStore
from sessionstore.config import KafkaSettings, Settings
from sessionstore.consuming import Projector
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.keys import session_key
from sessionstore.parts import Parts
from sessionstore.readmodels.projections import PROJECTIONS
from sessionstore.runtime import run_relay
from tests.integration.stream_support import read_topic, relay_all, wait_until

pytestmark = pytest.mark.timeout(120)


async def test_a_projector_reads_a_partition_again_when_its_log_ends_before_its_position(
    tmp_path: Path, sqlite_store: SessionStore
) -> None:
    for i in range(12):  # enough to put two or more records on every partition
        sqlite_store.update_session(1, f"before-{i}", SessionUpdate(attributes={"i": i}))
    readmodels = ReadModelWriter(
        open_database(f"sqlite:///{tmp_path / 'rm.db'}"), PROJECTIONS["v2"]
    )
    with EmbeddedBroker(tmp_path / "first.log") as first:
        port, cluster = first.port, first.cluster
        kafka = await ensure_topic(Settings(topic="sessions").kafka(first.bootstrap, embedded=True))
        await relay_all(sqlite_store, kafka)
        await project_until(
            readmodels, kafka, lambda: len(list(readmodels.queries.versions())) == 12
        )
    reached = readmodels.positions(cluster, "sessions")
    assert sorted(reached) == [0, 1, 2]
    assert min(reached.values()) >= 2

    # the broker comes back empty under the same cluster id (Kafka re-created without its
    # volume): the topic is created again, the relay's position survived, so only new events
    with EmbeddedBroker(tmp_path / "second.log", port=port, cluster=cluster):
        await ensure_topic(kafka)
        sqlite_store.update_session(1, "after", SessionUpdate(attributes={"new": True}))
        assert await relay_all(sqlite_store, kafka) == 1
        await project_until(
            readmodels, kafka, lambda: readmodels.queries.document(1, "after") is not None
        )
    readmodels.close()


async def project_until(
    readmodels: ReadModelWriter, kafka: KafkaSettings, done: Callable[[], bool]
) -> None:
    """A projector process's life: start from the stored offsets, run until `done`, stop."""
    stop = asyncio.Event()
    running = asyncio.create_task(Projector(readmodels, kafka, "group-rewind").run(stop))
    try:
        await wait_until(done, "the projector to apply what it should")
    finally:
        stop.set()
        await running


async def test_the_relay_publishes_everything_again_when_the_topic_started_again(
    tmp_path: Path, sqlite_store: SessionStore, sqlite_url: str
) -> None:
    for i in range(12):
        sqlite_store.update_session(1, f"before-{i}", SessionUpdate(attributes={"i": i}))
    parts, stop = Parts(first_delay=0.1), asyncio.Event()
    first = EmbeddedBroker(tmp_path / "first.log").start()
    port, cluster = first.port, first.cluster
    kafka = await ensure_topic(Settings(topic="sessions").kafka(first.bootstrap, embedded=True))
    lock = relay_lock(sqlite_url, kafka.topic)
    relaying = asyncio.create_task(run_relay(parts, sqlite_store, kafka, lock, stop))
    try:
        first_log = await read_topic(kafka, 12)
        assert len({r.partition for r in first_log}) == 3  # every partition has a mark
        first.stop()

        with EmbeddedBroker(tmp_path / "second.log", port=port, cluster=cluster) as second:
            assert second.cluster == cluster
            await ensure_topic(kafka)  # back empty, under the same id
            sqlite_store.update_session(1, "after", SessionUpdate(attributes={"new": True}))
            again = await read_topic(kafka, 13)  # the new one, and all before it again
    finally:
        stop.set()
        await relaying
        first.stop()
    names = [*(f"before-{i}" for i in range(12)), "after"]
    assert {r.key for r in again} == {str(session_key(1, name)).encode() for name in names}
