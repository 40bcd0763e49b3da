"""The one generic consume loop: poll -> decode -> fold -> store rows + offsets -> repeat.

The projector never commits offsets to Kafka: they are stored with the rows, in the same
transaction, and a (re)assigned partition continues from there (design rule 4).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import anyio.to_thread

from sessionstore.adapters.kafka import Subscriber
from sessionstore.adapters.readmodel_store import ReadModelStore
from sessionstore.config import KafkaSettings

log = logging.getLogger(__name__)


class Projector:
    """Keeps one read model current from the topic, as a member of its consumer group."""

    def __init__(self, readmodels: ReadModelStore, kafka: KafkaSettings, group: str) -> None:
        self.readmodels = readmodels
        self.name = readmodels.projection.name
        self.subscriber = Subscriber(kafka, group, self._positions)
        self.applied = 0

    async def _positions(self, partitions: Sequence[int]) -> dict[int, int]:
        return await anyio.to_thread.run_sync(
            self.readmodels.positions, self.subscriber.cluster_id, self.subscriber.topic, partitions
        )

    async def consume_once(self) -> int:
        records = await self.subscriber.poll()
        if not records:
            return 0
        batch = await anyio.to_thread.run_sync(
            self.readmodels.apply, records, self.subscriber.cluster_id
        )
        self.applied += batch.applied
        log.debug(
            "%s: %d record(s): %d applied, %d duplicate(s), %d parked",
            self.name,
            len(records),
            batch.applied,
            batch.duplicates,
            len(batch.parked),
        )
        return len(records)

    async def run(self, stop: asyncio.Event, started: Callable[[], None] = lambda: None) -> None:
        """Consume until `stop`; `started` is called once the consumer has joined."""
        await self.subscriber.start()
        started()
        log.info("projector %s consuming %s", self.name, self.subscriber.topic)
        try:
            while not stop.is_set():
                await self.consume_once()
        finally:
            await self.subscriber.stop()
