"""Replay benchmark: rebuilding all three read models, each figure a ratio against a raw
read of the same data in the same run.

- from the store: `replay --into` against `select_notifications` in pages of 1,000 plus
  msgspec's decode of each event (the read a rebuild cannot do without);
- from Kafka (the embedded broker): `replay --source kafka` against a raw aiokafka consume of
  the same topic (every partition assigned, `getmany` to the end, no processing);
- memory: the peak RSS of a `sessionstore replay` process at N and at 4N events (flat: the
  same at both).

Events are written through the pure domain in bulk (not through HTTP) so that setting up
100k events takes seconds; the rebuilds are the real command's code path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.progress import Progress

from sessionstore import auditing, codec
from sessionstore.adapters.kafka import Publisher, ensure_topic
from sessionstore.application import SessionStore
from sessionstore.config import KafkaSettings, Settings
from sessionstore.domain import commands
from sessionstore.domain.cart import CartItem
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.commands import Stamp
from sessionstore.domain.events import SESSION_TAGS, SessionEvents
from sessionstore.domain.keys import session_key
from sessionstore.domain.session import fold
from sessionstore.readmodels.projections import PROJECTIONS
from sessionstore.relay import Relay

PER_SESSION = 5  # created, three updates, closed


def _life(number: int) -> list[SessionEvents]:
    key = session_key(1, f"bench-{number}")
    at = datetime.now(UTC)
    first = SessionUpdate(
        profile_id=f"p{number % 97}",
        cart_items=(CartItem(sku="A", quantity=1, price=Decimal("9.99")),),
    )
    events = commands.create_session(
        Stamp(key=key, version=0, at=at),
        first,
        application_id=1,
        integration_id=f"bench-{number}",
        session_id=number + 1,
        profile=None,
    )
    for step in range(3):
        session = fold(events)
        assert session is not None
        update = SessionUpdate(attributes={"step": step}, state="closed" if step == 2 else None)
        events += commands.update_session(
            session, Stamp(key=key, version=session.version, at=at), update, None
        )
    return codec.seal("", events)


def write_events(store: SessionStore, total: int) -> list[list[SessionEvents]]:
    histories = []
    with Progress(transient=True) as bar:
        task = bar.add_task("writing events", total=total)
        for first in range(0, total // PER_SESSION, 200):
            batch = [_life(n) for n in range(first, min(first + 200, total // PER_SESSION))]
            store.save(*(e for life in batch for e in life))
            histories += batch
            bar.advance(task, sum(map(len, batch)))
    return histories


class Figure(msgspec.Struct, frozen=True):
    """A rebuild's rate against its baseline's, measured on the same data in the same run."""

    what: str
    events: int
    seconds: float
    baseline: str
    baseline_seconds: float
    target: float  # at least this ratio

    @property
    def ratio(self) -> float:
        return self.baseline_seconds / self.seconds if self.seconds else 0.0


def _raw_read(store: SessionStore) -> tuple[float, int]:
    started, events, start = time.perf_counter(), 0, 1
    while page := store.recorder.select_notifications(start, 1000, topics=SESSION_TAGS):
        for notification in page:
            codec.decode_session_event(notification.state)
        events += len(page)
        start = page[-1].id + 1
    return time.perf_counter() - started, events


def from_store(store: SessionStore, settings: Settings, into: str) -> Figure:
    """`replay --into` (the command's own code) against the raw read the issue names:
    `select_notifications` in pages of 1,000 plus msgspec's decode of each event (its best
    of three runs, as for the Kafka baseline: the ratio errs against the rebuild)."""
    raw, events = min(_raw_read(store) for _ in range(3))  # the best of three
    started = time.perf_counter()
    summary = auditing.replay(settings, store, "store", into, list(PROJECTIONS), None, False)
    took = time.perf_counter() - started
    assert summary.events == events, (summary.events, events)
    return Figure("replay --source store", events, took, "raw read + decode", raw, 0.5)


async def publish(store: SessionStore, kafka: KafkaSettings) -> int:
    """Every stored session event onto the topic, as the relay would (large batches)."""
    publisher = Publisher(kafka)
    await publisher.start()
    try:
        relay = Relay(store, publisher, batch=5000)
        while await relay.relay_once():
            pass
        return relay.published
    finally:
        await publisher.stop()


async def raw_consume(kafka: KafkaSettings, events: int) -> float:
    """A raw aiokafka consume of the topic: every partition assigned, getmany to the end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(kafka.topic, p) for p in range(kafka.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        started, seen = time.perf_counter(), 0
        while seen < events:
            batches = await consumer.getmany(timeout_ms=1000)
            seen += sum(map(len, batches.values()))
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def from_kafka(store: SessionStore, settings: Settings, into: str, events: int) -> Figure:
    kafka = asyncio.run(ensure_topic(settings.kafka(settings.kafka_bootstrap, embedded=True)))
    published = asyncio.run(publish(store, kafka))
    assert published == events, (published, events)
    raw = min(asyncio.run(raw_consume(kafka, events)) for _ in range(3))  # the best of three
    started = time.perf_counter()
    summary = auditing.replay(settings, store, "kafka", into, list(PROJECTIONS), None, False)
    took = time.perf_counter() - started
    assert summary.events == events, (summary.events, events)
    return Figure("replay --source kafka", events, took, "raw aiokafka consume", raw, 0.3)


def peak_memory_mb(database_url: str, into: str) -> float:
    """The peak memory of a `sessionstore replay --into` with its worker processes: the
    largest sum, over the process and its children, of their proportional set size (PSS:
    pages shared after the fork counted once in all), sampled every 10 ms."""
    import psutil

    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSTORE_")}
    env |= {"SESSIONSTORE_DATABASE_URL": database_url, "SESSIONSTORE_LOG_LEVEL": "WARNING"}
    command = [str(Path(sys.executable).parent / "sessionstore"), "replay", "--into", into]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    child = subprocess.Popen(command, env=env, **quiet)
    parent, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        peak = max(peak, _tree_pss(parent))
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=0.01)  # the pause between two samples
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {child.returncode}")
    return peak / 1e6


def _tree_pss(process: Any) -> int:
    import psutil

    total = 0
    for each in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += each.memory_full_info().pss
    return total
