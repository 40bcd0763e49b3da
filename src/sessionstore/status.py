"""`sessionstore status`: is everything caught up? The relay's position against the event
store's head, each projection's stored offsets against the topic's end, parked records.

Exit status 0 when nothing lags and nothing is parked, 1 otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import click
import msgspec
from rich.console import Console
from rich.table import Table

from sessionstore.adapters.kafka import partition_ends
from sessionstore.adapters.readmodel_writer import ReadModelWriter
from sessionstore.application import SessionStore
from sessionstore.bootstrap import build_store
from sessionstore.config import KafkaSettings, Settings
from sessionstore.relay import unpublished
from sessionstore.runtime import kafka_connection, open_readmodels


class RelayStatus(msgspec.Struct, frozen=True):
    position: int  # the last notification id known to be on Kafka
    head: int  # the event store's last notification id
    lag: int  # session events after the position (other notifications are never published)


class PartitionStatus(msgspec.Struct, frozen=True):
    offset: int  # the next offset the projection will read
    end: int
    lag: int


class ProjectionStatus(msgspec.Struct, frozen=True):
    lag: int
    parked: int
    partitions: dict[str, PartitionStatus]


class Status(msgspec.Struct, frozen=True):
    relay: RelayStatus
    projections: dict[str, ProjectionStatus]

    @property
    def caught_up(self) -> bool:
        projections = self.projections.values()
        return self.relay.lag == 0 and all(p.lag == 0 and p.parked == 0 for p in projections)


async def gather(settings: Settings, names: Sequence[str]) -> Status:
    """The status on the configured Kafka (the broker the running parts use)."""
    if not settings.kafka_bootstrap:
        raise click.ClickException(
            "status needs SESSIONSTORE_KAFKA_BOOTSTRAP, the broker the relay and projectors "
            "use (a `run` process reports the same on its GET /metrics)"
        )
    store = build_store(settings)
    readmodels = open_readmodels(settings, list(names))
    try:
        async with kafka_connection(settings) as kafka:
            return Status(
                relay=relay_status(store, kafka),
                projections=await projection_status(readmodels, kafka),
            )
    finally:
        for rm in readmodels.values():
            rm.close()
        store.close()


def relay_status(store: SessionStore, kafka: KafkaSettings) -> RelayStatus:
    name = f"relay:{kafka.topic}@{kafka.cluster_id}"
    position = store.factory.tracking_recorder().max_tracking_id(name) or 0
    head = store.recorder.max_notification_id() or 0
    return RelayStatus(position=position, head=head, lag=unpublished(store, position))


async def projection_status(
    readmodels: dict[str, ReadModelWriter], kafka: KafkaSettings
) -> dict[str, ProjectionStatus]:
    stored = {name: rm.positions(kafka.cluster_id, kafka.topic) for name, rm in readmodels.items()}
    lowest = {p: min(s.get(p, 0) for s in stored.values()) for s in stored.values() for p in s}
    ends = await partition_ends(kafka, lowest)
    answer = {}
    for name, rm in readmodels.items():
        partitions = {
            str(p): PartitionStatus(
                offset=stored[name].get(p, 0),
                end=end,
                lag=max(0, end - stored[name].get(p, 0)),
            )
            for p, end in sorted(ends.items())
        }
        answer[name] = ProjectionStatus(
            lag=sum(part.lag for part in partitions.values()),
            parked=rm.parked_count(),
            partitions=partitions,
        )
    return answer


def report(status: Status, as_json: bool, names: Sequence[str]) -> None:
    if as_json:
        click.echo(msgspec.json.encode(status).decode())
        return
    relay = status.relay
    click.echo(f"relay: at notification {relay.position} of {relay.head}, {relay.lag} to publish")
    table = Table(title="projections")
    for column in ("projection", "partition", "offset", "end", "lag"):
        table.add_column(column)
    for name in names:
        projection = status.projections[name]
        for partition, part in projection.partitions.items():
            table.add_row(name, partition, str(part.offset), str(part.end), str(part.lag))
    Console().print(table)
    for name in names:
        projection = status.projections[name]
        click.echo(f"{name}: lag {projection.lag}, parked {projection.parked}")
    click.echo("caught up" if status.caught_up else "NOT caught up")
