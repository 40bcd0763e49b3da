"""Helpers for the stream tests: read a topic from the start, wait on read-model positions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from sessionstore.adapters.kafka import IncomingRecord, Publisher
from sessionstore.adapters.readmodel_writer import ReadModelWriter
from sessionstore.application import SessionStore
from sessionstore.config import KafkaSettings
from sessionstore.relay import Relay
from tests.integration.support import notifications

DEADLINE = 60.0


async def read_topic(kafka: KafkaSettings, at_least: int) -> list[IncomingRecord]:
    """Every record of every partition from offset 0, once `at_least` have arrived."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(kafka.topic, p) for p in range(kafka.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        found: list[IncomingRecord] = []
        deadline = time.monotonic() + DEADLINE
        while len(found) < at_least and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            found += [
                IncomingRecord(
                    topic=r.topic,
                    partition=r.partition,
                    offset=r.offset,
                    key=r.key,
                    value=r.value,
                    headers=tuple(r.headers),
                )
                for rs in batches.values()
                for r in rs
            ]
        return found
    finally:
        await consumer.stop()


def stored_versions(store: SessionStore) -> dict[str, int]:
    """The latest version of every session in the event store."""
    latest: dict[str, int] = {}
    for n in notifications(store):
        if n.topic.startswith("session."):
            latest[str(n.originator_id)] = n.originator_version
    return latest


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll a condition on stored positions with a deadline (never a bare sleep)."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def caught_up(readmodels: ReadModelWriter, store: SessionStore) -> Callable[[], bool]:
    return lambda: dict(readmodels.queries.versions()) == stored_versions(store)


async def relay_all(store: SessionStore, kafka: KafkaSettings) -> int:
    """Publish everything stored so far; return how many events were sent."""
    publisher = Publisher(kafka)
    await publisher.start()
    try:
        relay = Relay(store, publisher)
        while await relay.relay_once():
            pass
        return relay.published
    finally:
        await publisher.stop()
