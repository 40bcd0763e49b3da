"""Outbox relay: the event store's notification log -> Kafka, with a durable position.

No dual write (design rule 1): commands only save events; the relay reads the notifications
after its recorded position, publishes them, waits for the broker's acknowledgement, and only
then records the new position in the event store's own database. A crash anywhere repeats
messages, it never loses one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

import anyio.to_thread
from eventsourcing.persistence import Notification, Tracking

from sessionstore import metrics
from sessionstore.adapters.kafka import OutgoingRecord, Publisher
from sessionstore.application import SessionStore
from sessionstore.domain.events import SESSION_TAGS
from sessionstore.parts import first_set
from sessionstore.ports import WriteWatch

log = logging.getLogger(__name__)
RECORD_EVERY = 0.2  # seconds between two writes of the relay's position
COUNT_UP_TO = 100_000  # unpublished session events counted, at most
WATCH_EVERY = 0.002  # seconds between two looks at the store's write watch, while idle


def unpublished(store: SessionStore, position: int) -> int:
    """Session events stored after notification `position`, counted up to COUNT_UP_TO (the
    store's other notifications are never published, so they never count)."""
    pending = store.recorder.select_notifications(
        start=position + 1, limit=COUNT_UP_TO, topics=SESSION_TAGS
    )
    return len(pending)


def outgoing(notification: Notification) -> OutgoingRecord:
    """Key = the session key, value = the stored bytes unchanged, headers for tools."""
    return OutgoingRecord(
        key=str(notification.originator_id).encode(),
        value=notification.state,
        headers=(
            ("type", notification.topic.encode()),
            ("version", str(notification.originator_version).encode()),
            ("notification-id", str(notification.id).encode()),
        ),
    )


def _set_from_thread(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
    if not loop.is_closed():
        loop.call_soon_threadsafe(event.set)


async def _until_written(
    stop: asyncio.Event, written: asyncio.Event, watch: WriteWatch, idle: float
) -> None:
    """Until a write of this process, one of another process (asked every WATCH_EVERY), or
    `idle` seconds."""
    deadline = time.monotonic() + idle
    while not (stop.is_set() or written.is_set() or watch.changed()):
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await first_set(stop, written, timeout=min(WATCH_EVERY, left))


class TopicWentBack(RuntimeError):
    """The broker gave a record an offset below one it gave before: the partition's log
    started again (a broker that lost its data under the same cluster id)."""


class LostRelayLock(RuntimeError):
    """Another relay may be publishing now: this one must stop before its next batch."""


class Relay:
    def __init__(
        self,
        store: SessionStore,
        publisher: Publisher,
        *,
        still_ours: Callable[[], bool] = lambda: True,
        offsets: dict[int, int] | None = None,
        from_start: bool = False,
        batch: int = 500,
        idle: float = 0.5,
    ) -> None:
        """`still_ours`: asked before each batch whether this relay still holds the lock;
        `offsets`: partition -> the highest offset produced so far, kept by the caller across
        restarts; `from_start`: publish everything again (the topic went back in time)."""
        self.name = f"relay:{publisher.topic}@{publisher.cluster_id}"
        self._store = store
        self._publisher = publisher
        self._tracking = store.factory.tracking_recorder()
        self._batch = batch
        self._idle = idle
        self._position: int | None = None  # read once: this relay is the only one moving it
        self._still_ours = still_ours
        self._offsets = {} if offsets is None else offsets
        self._from_start = from_start
        self._recorded = 0  # the durable position: tracking only ever moves forward
        self._recorded_at = 0.0
        self._recording: asyncio.Future[None] | None = None  # the position being written
        self.published = 0

    def position(self) -> int:
        """The last notification id known to be on Kafka (0: none yet)."""
        return self._tracking.max_tracking_id(self.name) or 0

    def pending(self, position: int) -> Sequence[Notification]:
        return self._store.recorder.select_notifications(
            start=position + 1, limit=self._batch, topics=SESSION_TAGS
        )

    def _next_batch(self) -> Sequence[Notification]:
        """The notifications after the position, if this relay still holds the lock (one
        thread hop for both)."""
        if self._position is None:
            self._recorded = self.position()
            self._position = 0 if self._from_start else self._recorded
        notifications = self.pending(self._position)
        if notifications and not self._still_ours():
            raise LostRelayLock("the relay lock is no longer held; standing by again")
        return notifications

    def lag(self) -> int:
        """Session events stored after what this relay published (asked at a metrics scrape,
        never on the relay's own path)."""
        return unpublished(
            self._store, self._recorded if self._position is None else self._position
        )

    async def relay_once(self) -> int:
        """Publish the next batch; return how many events it held."""
        notifications = await anyio.to_thread.run_sync(self._next_batch)
        if not notifications:
            return 0
        produced = await self._publisher.publish([outgoing(n) for n in notifications])
        self._check_offsets(produced)
        self._position = notifications[-1].id
        if time.monotonic() - self._recorded_at >= RECORD_EVERY:
            self._record_meanwhile()
        self.published += len(notifications)
        log.debug("relayed %d event(s) up to notification %d", len(notifications), self._position)
        return len(notifications)

    def _record_meanwhile(self) -> None:
        """Record the position while publishing goes on: the write waits its turn behind
        the commands' commits (SQLite's busy handler sleeps), which must not hold up the
        next batch. One write at a time; one that failed fails the relay here."""
        if self._recording is not None:
            if not self._recording.done():
                return
            self._recording.result()
        self._recording = asyncio.ensure_future(self.record())

    async def record(self) -> None:
        """Make the position durable. Not after every batch: a crash repeats at most the
        last RECORD_EVERY seconds of events (the projectors skip what they have), and the
        relay writes to the event store far less often."""
        self._recorded_at = time.monotonic()
        if self._position is not None and self._position > self._recorded:
            tracking = Tracking(self.name, self._position)
            await anyio.to_thread.run_sync(self._tracking.insert_tracking, tracking)
            self._recorded = tracking.notification_id

    def _check_offsets(self, produced: list[tuple[int, int]]) -> None:
        for partition, offset in produced:
            before = self._offsets.get(partition, -1)
            if offset <= before:
                raise TopicWentBack(
                    f"{self._publisher.topic}[{partition}] gave offset {offset} after {before}: "
                    "its log started again"
                )
            self._offsets[partition] = offset

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop`: woken at once by this process's own writes, within
        WATCH_EVERY by those of other processes (the store's write watch), and reading
        every `idle` seconds whatever it heard."""
        log.info("relay starting after notification %d", self.position())
        loop, written = asyncio.get_running_loop(), asyncio.Event()
        unlisten = self._store.write_path.committer.listen(lambda: _set_from_thread(loop, written))
        watch = await anyio.to_thread.run_sync(self._store.write_path.watch_writes)  # connects
        metrics.RELAY_LAG.set_function(self.lag)
        try:
            while not stop.is_set():
                written.clear()  # before reading: a write after this read wakes the wait below
                watch.changed()
                if await self.relay_once() == 0:
                    self._record_meanwhile()
                    await _until_written(stop, written, watch, self._idle)
            if self._recording is not None:
                await self._recording
            await self.record()
        finally:
            unlisten()
            watch.close()
