"""The only module that imports aiokafka: producer, consumer and topic creation.

Settings follow broker-notes.md 3.2: acks="all" everywhere, idempotence as a setting (the
embedded broker cannot do it), explicit topic creation, short fetch waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from sessionstore.config import CONNECT_TIMEOUT, KafkaSettings

log = logging.getLogger(__name__)
TOPIC_EXISTS = 36


class OutgoingRecord(msgspec.Struct, frozen=True):
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


class IncomingRecord(msgspec.Struct, frozen=True):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


async def ensure_topic(settings: KafkaSettings) -> KafkaSettings:
    """Create the topic with the configured partitions; never rely on auto-creation.

    Returns the settings with the cluster's id: positions are remembered per cluster, so a
    new (empty) embedded broker is filled again from the start instead of skipping ahead.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap)
    await admin.start()
    try:
        cluster = (await admin.describe_cluster()).get("cluster_id") or "unknown"
        topic = NewTopic(settings.topic, settings.partitions, settings.replication)
        response = await admin.create_topics([topic])
        for name, code, *_ in getattr(response, "topic_errors", []):
            if code not in (0, TOPIC_EXISTS):
                raise RuntimeError(f"cannot create topic {name}: error {code}")
    finally:
        await admin.close()
    return msgspec.structs.replace(settings, cluster_id=str(cluster))


@contextlib.contextmanager
def _quiet(logger: str, needle: str) -> Iterator[None]:
    """Drop a library's log records about a failure this adapter reports itself (the
    fallback from idempotence is a WARNING, not the library's ERROR before it)."""

    def other(record: logging.LogRecord) -> bool:
        return needle not in record.getMessage()

    target = logging.getLogger(logger)
    target.addFilter(other)
    try:
        yield
    finally:
        target.removeFilter(other)


class Publisher:
    """Sends a batch and returns only once the broker acknowledged every record."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.topic = settings.topic
        self.cluster_id = settings.cluster_id
        self._settings = settings
        self._producer = self._create(settings.idempotence)

    def _create(self, idempotence: bool) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self._settings.bootstrap,
            acks="all",
            enable_idempotence=idempotence,
            linger_ms=1,
            max_batch_size=1 << 20,
            request_timeout_ms=10_000,  # a lost broker fails the relay's send within 10 s
        )

    async def start(self) -> None:
        """A broker that cannot produce idempotently (Tansu) gets a plain producer, unless
        SESSIONSTORE_KAFKA_IDEMPOTENCE asked for idempotence explicitly: correctness rests on
        the relay's position and the projectors' version guard, not on idempotence."""
        try:
            with _quiet("aiokafka.producer.sender", "InitProducerIdRequest"):
                await self._producer.start()
        except KafkaError as error:
            await self._producer.stop()
            if not (self._settings.idempotence and self._settings.idempotence_by_default):
                raise
            log.warning(
                "%s cannot produce idempotently (%r); producing without idempotence",
                self._settings.bootstrap,
                error,
            )
            self._producer = self._create(idempotence=False)
            await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, records: Sequence[OutgoingRecord]) -> list[tuple[int, int]]:
        """Send and wait for every acknowledgement; the (partition, offset) each got."""
        pending = [
            await self._producer.send(self.topic, r.value, key=r.key, headers=list(r.headers))
            for r in records
        ]
        return [(meta.partition, meta.offset) for meta in await asyncio.gather(*pending)]


PositionsFor = Callable[[Sequence[int]], Awaitable[dict[int, int]]]


class _SeekToStoredOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, continue from the offsets stored beside the read model (rule 4)."""

    def __init__(self, consumer: AIOKafkaConsumer, topic: str, positions: PositionsFor) -> None:
        self._consumer = consumer
        self._topic = topic
        self._positions = positions
        # aiokafka starts fetching (from auto_offset_reset) before this listener has sought:
        # no record may be handed out until it has, or stored offsets would be rewound
        self.positioned = asyncio.Event()
        self.sought_at: dict[int, float] = {}  # partition -> when (ms) it was last sought

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.positioned.clear()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        partitions = sorted(tp.partition for tp in assigned if tp.topic == self._topic)
        try:
            stored = await self._positions(partitions)
            unknown = [TopicPartition(self._topic, p) for p in partitions if p not in stored]
            beginnings = await self._consumer.beginning_offsets(unknown) if unknown else {}
            # every seek at once, with no await in between: a poll sees all of them or none
            for partition in partitions:
                tp = TopicPartition(self._topic, partition)
                offset = stored[partition] if partition in stored else beginnings[tp]
                self._consumer.seek(tp, offset)
                self.sought_at[partition] = time.time() * 1000
        finally:
            self.positioned.set()
        log.info(
            "assigned partitions %s of %s; continuing from %s",
            partitions,
            self._topic,
            stored or "the beginning",
        )


class Subscriber:
    """A consumer-group member that never commits to Kafka: offsets live with the rows."""

    def __init__(self, settings: KafkaSettings, group: str, positions: PositionsFor) -> None:
        self.topic = settings.topic
        self.cluster_id = settings.cluster_id
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms,
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            metadata_max_age_ms=5_000,
        )
        self._listener = _SeekToStoredOffsets(self._consumer, self.topic, positions)

    async def start(self) -> None:
        await self._consumer.start()
        self._consumer.subscribe([self.topic], listener=self._listener)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def poll(self, timeout_ms: int = 500, max_records: int = 500) -> list[IncomingRecord]:
        if not self._listener.positioned.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listener.positioned.wait(), timeout_ms / 1000)
            return []
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        if not self._listener.positioned.is_set():
            return []  # fetched before a rebalance's seeks, which will position every partition
        await self._rewind_where_the_log_shrank(batches)
        return _incoming(batches)

    def ends(self) -> dict[int, int]:
        """Each assigned partition's end as the last fetch saw it (its high watermark: right
        on both brokers, where the embedded one's `end_offsets` undercount)."""
        ends = {tp.partition: self._consumer.highwater(tp) for tp in self._consumer.assignment()}
        return {p: end for p, end in ends.items() if end is not None}

    async def _rewind_where_the_log_shrank(self, batches: dict[Any, list[Any]]) -> None:
        """A partition whose log now ends before this consumer's position went back in time
        (a broker that lost its data, under the same cluster id): read it again from its
        beginning; the version guard skips what was applied already.

        The end is the high watermark of a fetch made after the last seek, which is right on
        both Apache Kafka and the embedded broker (whose `end_offsets` undercount).
        """
        for tp in self._consumer.assignment():
            end = self._consumer.highwater(tp)
            if batches.get(tp) or end is None:
                continue
            fetched_at = self._consumer.last_poll_timestamp(tp) or 0
            if fetched_at <= self._listener.sought_at.get(tp.partition, 0):
                continue
            position = await self._consumer.position(tp)
            if position > end:
                log.warning(
                    "%s[%d] now ends at offset %d, before the %d this projector reached: the "
                    "topic went back in time; reading the partition again from its beginning",
                    tp.topic,
                    tp.partition,
                    end,
                    position,
                )
                await self._consumer.seek_to_beginning(tp)
                self._listener.sought_at[tp.partition] = time.time() * 1000


def _incoming(batches: dict[Any, list[Any]]) -> list[IncomingRecord]:
    return [
        IncomingRecord(
            topic=r.topic,
            partition=r.partition,
            offset=r.offset,
            key=r.key,
            value=r.value,
            headers=tuple(r.headers or ()),
        )
        for records in batches.values()
        for r in records
    ]


async def read_until_end(
    settings: KafkaSettings,
    start: dict[int, int] | None = None,
    batch: int = 2000,
    ends_known: Callable[[int], None] = lambda _: None,
    timeout: float = CONNECT_TIMEOUT,
) -> AsyncIterator[list[IncomingRecord]]:
    """Every record from `start` (default: the beginning) up to each partition's end when
    its first fetch answered; `ends_known` is told how many records that is, once known.

    The end is the fetch's high watermark, right on Apache Kafka and on the embedded broker
    (whose `end_offsets` answer the first offset of a partition's last batch + 1, so they can
    stop a replay inside that batch: broker-notes, the offsets row). A broker that answers
    no fetch within `timeout` seconds is a TimeoutError.
    """
    async with _every_partition(settings) as (consumer, partitions):
        begin = {}
        for tp in partitions:
            if start and tp.partition in start:
                consumer.seek(tp, start[tp.partition])
            else:
                await consumer.seek_to_beginning(tp)
            begin[tp] = await consumer.position(tp)
        ends: dict[TopicPartition, int] = {}
        deadline = time.monotonic() + timeout
        while len(ends) < len(partitions) or any(
            [await consumer.position(tp) < end for tp, end in ends.items()]
        ):
            records = _incoming(await consumer.getmany(timeout_ms=500, max_records=batch))
            known = len(ends)
            for tp in partitions:
                highwater = consumer.highwater(tp)
                if tp not in ends and highwater is not None:
                    ends[tp] = highwater
            if known < len(partitions) == len(ends):
                ends_known(sum(end - begin[tp] for tp, end in ends.items()))
            if records:
                yield records
            elif len(ends) < len(partitions) and time.monotonic() > deadline:
                raise TimeoutError(
                    f"no fetch of {settings.topic} at {settings.bootstrap} answered within "
                    f"{timeout:.0f} s"
                )


@contextlib.asynccontextmanager
async def _every_partition(
    settings: KafkaSettings,
) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
    """A consumer assigned every partition of the topic, without a consumer group: replays
    and status must not disturb the projectors' groups."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap,
        enable_auto_commit=False,
        # not "latest": an answer to that initial reset, still in flight, would be taken for
        # the answer to a later seek_to_beginning and start a partition at its end
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
    )
    await consumer.start()
    try:
        await consumer.topics()  # fetches the metadata partitions_for_topic reads
        partitions = [
            TopicPartition(settings.topic, p)
            for p in sorted(consumer.partitions_for_topic(settings.topic) or ())
        ]
        consumer.assign(partitions)
        yield consumer, partitions
    finally:
        await consumer.stop()


async def partition_ends(
    settings: KafkaSettings, positions: dict[int, int], timeout: float = 5.0
) -> dict[int, int]:
    """Each partition's end, from the high watermark of a fetch made at `positions` (the
    embedded broker's `end_offsets` undercount after batched produces; the watermark is
    right on both brokers)."""
    async with _every_partition(settings) as (consumer, partitions):
        for tp in partitions:
            consumer.seek(tp, positions.get(tp.partition, 0))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ends = {tp.partition: consumer.highwater(tp) for tp in partitions}
            if all(end is not None for end in ends.values()):
                return {p: int(end) for p, end in ends.items() if end is not None}
            await consumer.getmany(timeout_ms=100, max_records=1)
    raise TimeoutError(f"no fetch of {settings.topic} answered within {timeout:.0f} s")


async def cluster_of(settings: KafkaSettings, timeout: float) -> str:
    """The cluster id of the broker at the bootstrap address; raises if none answers in time."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap, request_timeout_ms=int(timeout * 1000)
    )
    try:
        await asyncio.wait_for(admin.start(), timeout)
        described = await asyncio.wait_for(admin.describe_cluster(), timeout)
        return str(described.get("cluster_id") or "unknown")
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
