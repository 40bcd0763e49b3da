"""The crash tests' workload and what they read back: the topic, the relay's position, folds."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from decimal import Decimal

from aiokafka import AIOKafkaConsumer, TopicPartition

from sessionstore import codec
from sessionstore.adapters.kafka import OutgoingRecord, Publisher, ensure_topic
from sessionstore.adapters.readmodel_writer import ReadModelWriter
from sessionstore.application import SessionStore
from sessionstore.config import KafkaSettings, Settings
from sessionstore.domain.cart import CartItem
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.events import ReturnedCartItem
from sessionstore.readmodels.projections import PROJECTIONS
from tests.integration.support import notifications

READ_WITHIN = 15.0  # the relay's position already says every event was acknowledged
PAD = 48_000  # bytes of attributes per update: one relay batch spans many produce requests
Event = tuple[bytes, int]  # (Kafka key = session key, version)


def create(store: SessionStore, sid: str, i: int) -> None:
    store.update_session(
        1,
        sid,
        SessionUpdate(
            profile_id=f"p{i % 4}",
            cart_items=(
                CartItem(sku="A", quantity=3, price=Decimal("10.50")),
                CartItem(sku="B", quantity=1, price=Decimal("3.25")),
            ),
            coupon_codes=(f"C{i % 3}",),
            discounts={"5 off": Decimal(5)},
        ),
    )


def pad(store: SessionStore, sid: str, r: int) -> None:
    store.update_session(1, sid, SessionUpdate(attributes={"note": f"{r}-{sid}" * (PAD // 10)}))


def return_one(store: SessionStore, sid: str) -> None:
    store.return_items(1, sid, (ReturnedCartItem(sku="A", quantity=1),))


def lifecycles(store: SessionStore, prefix: str, count: int, rounds: int) -> list[str]:
    """One whole life after another: updated, closed, then returned (some twice), cancelled,
    or reopened."""
    ids = [f"{prefix}-{i}" for i in range(count)]
    for i, sid in enumerate(ids):
        create(store, sid, i)
        for r in range(rounds):
            pad(store, sid, r)
        finish(store, sid, i)
    return ids


def finish(store: SessionStore, sid: str, i: int) -> None:
    store.update_session(1, sid, SessionUpdate(state="closed"))
    if i % 4 == 3:
        store.reopen_session(1, sid)
        store.update_session(1, sid, SessionUpdate(attributes={"reopened": True}))
        return
    return_one(store, sid)
    if i % 4 == 0:
        return_one(store, sid)
    elif i % 4 == 1:
        store.update_session(1, sid, SessionUpdate(state="cancelled"))


def later_changes(store: SessionStore, ids: list[str]) -> None:
    """Cancel the sessions returned once; change and close the reopened ones."""
    for i, sid in enumerate(ids):
        if i % 4 == 2:
            store.update_session(1, sid, SessionUpdate(state="cancelled"))
        elif i % 4 == 3:
            store.update_session(1, sid, SessionUpdate(attributes={"later": i}, state="closed"))


def stored_events(store: SessionStore) -> dict[Event, bytes]:
    """Every session event in the store: (key, version) -> the stored bytes."""
    return {
        (str(n.originator_id).encode(), n.originator_version): n.state
        for n in notifications(store)
        if n.topic.startswith("session.")
    }


def last_session_notification(store: SessionStore) -> int:
    return max(n.id for n in notifications(store) if n.topic.startswith("session."))


def latest_versions(events: dict[Event, bytes]) -> dict[str, int]:
    latest: dict[str, int] = defaultdict(int)
    for key, version in events:
        latest[key.decode()] = max(latest[key.decode()], version)
    return dict(latest)


class RelayPosition:
    """The relay process's durable position, read from the event store's tracking table."""

    def __init__(self, store: SessionStore, kafka: KafkaSettings) -> None:
        self._tracking = store.factory.tracking_recorder()
        self._name = f"relay:{kafka.topic}@{kafka.cluster_id}"

    def __call__(self) -> int:
        return self._tracking.max_tracking_id(self._name) or 0


class Topic:
    """A plain consumer (no group) on every partition of the test's topic."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self.partitions = [TopicPartition(kafka.topic, p) for p in range(kafka.partitions)]
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
        )

    async def __aenter__(self) -> Topic:
        await self._consumer.start()
        self._consumer.assign(self.partitions)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._consumer.stop()

    async def end(self) -> int:
        """Grows with every produce request (Tansu's end offsets undercount the records)."""
        return sum((await self._consumer.end_offsets(self.partitions)).values())

    async def read_until(self, wanted: set[Event]) -> dict[bytes, list[tuple[int, int, bytes]]]:
        """From offset 0 until every wanted event was seen: key -> [(partition, version, value)]."""
        await self._consumer.seek_to_beginning(*self.partitions)
        by_key: dict[bytes, list[tuple[int, int, bytes]]] = defaultdict(list)
        missing = set(wanted)
        deadline = time.monotonic() + READ_WITHIN
        while missing and time.monotonic() < deadline:
            batches = await self._consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for r in records:
                    version = codec.decode_session_event(r.value).originator_version
                    by_key[r.key].append((r.partition, version, r.value))
                    missing.discard((r.key, version))
        assert not missing, f"{len(missing)} stored event(s) never reached the topic"
        return by_key


def write_one(store: SessionStore) -> None:
    """A new session, committed just before a kill: no process can have handled it yet."""
    store.update_session(1, f"at-the-kill-{uuid.uuid4().hex[:8]}", SessionUpdate(profile_id="k"))


def assert_equal_to_folds(store: SessionStore, readmodels: ReadModelWriter) -> None:
    """Every session's document byte-equal to the fold of the store's events for it."""
    render = PROJECTIONS[readmodels.projection.name].render
    keys = latest_versions(stored_events(store))
    assert dict(readmodels.queries.versions()) == keys
    for key in keys:
        session = store.session_at(uuid.UUID(key))
        expected = codec.encode_document(render(session))
        name = readmodels.projection.name
        assert readmodels.queries.document(1, session.integration_id) == expected, (
            name,
            session.integration_id,
        )


def produce(bootstrap: str, topic: str, records: list[OutgoingRecord]) -> None:
    async def send() -> None:
        kafka = await ensure_topic(Settings(topic=topic).kafka(bootstrap, embedded=True))
        publisher = Publisher(kafka)
        await publisher.start()
        try:
            await publisher.publish(records)
        finally:
            await publisher.stop()

    asyncio.run(send())
