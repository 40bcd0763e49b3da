"""A projector continues from the offsets stored with its rows, never from Kafka's reset point.

Regression: aiokafka starts fetching from `auto_offset_reset` as soon as partitions are
assigned, while the rebalance listener is still reading the stored offsets; the projector
was handed those records (and rewound its stored offsets to them).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

import msgspec
import pytest
from aiokafka import AIOKafkaProducer

from sessionstore.adapters.kafka import IncomingRecord, Subscriber
from sessionstore.config import KafkaSettings

pytestmark = pytest.mark.timeout(60)
PER_PARTITION, STORED = 30, 20
DEADLINE = 30.0


async def fill(kafka: KafkaSettings) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    await producer.start()
    try:
        for offset in range(PER_PARTITION):
            for partition in range(kafka.partitions):
                await producer.send_and_wait(kafka.topic, b"%d" % offset, partition=partition)
    finally:
        await producer.stop()


async def test_no_record_is_handed_out_until_the_stored_offsets_were_sought(
    kafka: KafkaSettings,
) -> None:
    await fill(kafka)
    asked, release = asyncio.Event(), asyncio.Event()

    async def slow_positions(partitions: Sequence[int]) -> dict[int, int]:
        asked.set()
        await release.wait()  # the read-model database answers late
        return dict.fromkeys(partitions, STORED)

    settings = msgspec.structs.replace(kafka, session_timeout_ms=2000)
    subscriber = Subscriber(settings, f"positions-{uuid.uuid4().hex[:8]}", slow_positions)
    await subscriber.start()
    early: list[IncomingRecord] = []
    later: list[IncomingRecord] = []
    deadline = time.monotonic() + DEADLINE
    try:
        while not asked.is_set() and time.monotonic() < deadline:
            early += await subscriber.poll(timeout_ms=100)
        assert asked.is_set(), "the group never assigned the partitions"
        for _ in range(5):  # aiokafka has long fetched from offset 0 by now
            early += await subscriber.poll(timeout_ms=100)
        release.set()
        wanted = kafka.partitions * (PER_PARTITION - STORED)
        while len(later) < wanted and time.monotonic() < deadline:
            later += await subscriber.poll(timeout_ms=100)
    finally:
        release.set()
        await subscriber.stop()

    assert [(r.partition, r.offset) for r in early] == []
    assert sorted((r.partition, r.offset) for r in later) == [
        (partition, offset)
        for partition in range(kafka.partitions)
        for offset in range(STORED, PER_PARTITION)
    ]
