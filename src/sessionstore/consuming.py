"""The one generic consume loop: poll -> decode -> fold -> store rows + offsets -> repeat.

The projector never commits offsets to Kafka: they are stored with the rows, in the same
transaction, and a (re)assigned partition continues from there (design rule 4).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import anyio.to_thread

from sessionstore import metrics
from sessionstore.adapters.kafka import Subscriber
from sessionstore.adapters.readmodel_writer import (
    ReadModelWriter,
    apply_together,
    positions_together,
)
from sessionstore.config import KafkaSettings

log = logging.getLogger(__name__)


class Projector:
    """Keeps read models current from the topic, as a member of its consumer group.

    One consumer for several read models of one database (those of `run`) fetches and
    decodes each record once and writes every model in one transaction: one writer, where a
    projector per model would contend for SQLite's single write lock.
    """

    def __init__(
        self,
        readmodels: ReadModelWriter | Sequence[ReadModelWriter],
        kafka: KafkaSettings,
        group: str,
    ) -> None:
        self.readmodels = [readmodels] if isinstance(readmodels, ReadModelWriter) else readmodels
        self.name = "+".join(rm.projection.name for rm in self.readmodels)
        self.subscriber = Subscriber(kafka, group, self._positions)
        self._next: dict[int, int] = {}  # partition -> the next offset stored (for the lag)

    async def _positions(self, partitions: Sequence[int]) -> dict[int, int]:
        positions = await anyio.to_thread.run_sync(
            positions_together,
            self.readmodels,
            self.subscriber.cluster_id,
            self.subscriber.topic,
            partitions,
        )
        self._next = {p: positions.get(p, 0) for p in partitions}
        return positions

    async def consume_once(self) -> int:
        records = await self.subscriber.poll()
        if not records:
            self._report_lag()
            return 0
        batches = await anyio.to_thread.run_sync(
            apply_together, self.readmodels, records, self.subscriber.cluster_id
        )
        self._next.update({p: offset for (_, p), offset in batches[0].offsets.items()})
        self._report_lag()
        for rm, batch in zip(self.readmodels, batches, strict=True):
            metrics.APPLIED.labels(rm.projection.name).inc(batch.applied)
            log.debug(
                "%s: %d record(s): %d applied, %d duplicate(s), %d parked",
                rm.projection.name,
                len(records),
                batch.applied,
                batch.duplicates,
                len(batch.parked),
            )
        return len(records)

    def _report_lag(self) -> None:
        for partition, end in self.subscriber.ends().items():
            lag = max(0, end - self._next.get(partition, 0))
            for rm in self.readmodels:
                metrics.PROJECTION_LAG.labels(rm.projection.name, str(partition)).set(lag)

    async def run(self, stop: asyncio.Event, started: Callable[[], None] = lambda: None) -> None:
        """Consume until `stop`; `started` is called once the consumer has joined."""
        await self.subscriber.start()
        for rm in self.readmodels:
            metrics.PARKED.labels(rm.projection.name).set_function(rm.parked_count)
        started()
        log.info("projector %s consuming %s", self.name, self.subscriber.topic)
        try:
            while not stop.is_set():
                await self.consume_once()
        finally:
            await self.subscriber.stop()
