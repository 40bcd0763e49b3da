"""The auditors' commands: history, as-of, replay (with a zero-downtime swap) and verify."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sessionstore import codec
from sessionstore.adapters.readmodel_store import ReadModelStore, open_database
from sessionstore.application import SessionStore
from sessionstore.config import KafkaSettings, Settings
from sessionstore.domain.keys import session_key
from sessionstore.readmodels.history import history_items
from sessionstore.readmodels.projections import PROJECTIONS
from sessionstore.replay import Report, Summary, count_events, replay_from_kafka, replay_from_store
from sessionstore.replay import verify as verify_store
from sessionstore.runtime import kafka_connection

SHADOW = "shadow_"
err = Console(stderr=True)


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


def print_history(
    store: SessionStore, application_id: int, integration_id: str, as_json: bool
) -> None:
    events = store.session_events(session_key(application_id, integration_id))
    if not events:
        raise click.ClickException(f"no session {integration_id!r} in application {application_id}")
    items = history_items(events)
    if as_json:
        click.echo(codec.encode_document(items).decode())
        return
    table = Table(title=f"session {integration_id!r} (application {application_id})")
    for column in ("version", "timestamp", "type", "digest"):
        table.add_column(column)
    for item in items:
        table.add_row(str(item.version), item.timestamp.isoformat(), item.type, item.digest[:16])
    Console().print(table)


def targets(url: str, names: Sequence[str], prefix: str = "") -> list[ReadModelStore]:
    return [ReadModelStore(open_database(url), PROJECTIONS[n], prefix) for n in names]


def replay(
    settings: Settings,
    store: SessionStore,
    source: str,
    into: str,
    names: Sequence[str],
    since: datetime | None,
    swap: bool,
) -> Summary:
    """Rebuild from scratch into `into`; with `swap`, into shadow tables switched in live."""
    if (swap or source == "kafka") and not settings.kafka_bootstrap:
        raise click.UsageError(
            "--source kafka and --swap need SESSIONSTORE_KAFKA_BOOTSTRAP "
            "(the broker the live projectors read)"
        )
    built = targets(into, names, SHADOW if swap else "")
    for target in built:
        target.clear()
    if swap or source == "kafka":
        return asyncio.run(
            _replay_with_kafka(settings, store, source, into, names, built, since, swap)
        )
    with progress() as bar:
        task = bar.add_task("replaying the event store", total=count_events(store))
        return replay_from_store(store, built, lambda n: bar.advance(task, n), since)


async def _replay_with_kafka(
    settings: Settings,
    store: SessionStore,
    source: str,
    into: str,
    names: Sequence[str],
    built: list[ReadModelStore],
    since: datetime | None,
    swap: bool,
) -> Summary:
    live = targets(into, names) if swap else []
    async with kafka_connection(settings) as kafka:
        for shadow, current in zip(built, live, strict=False):
            shadow.copy_offsets_from(current)  # a store rebuild continues from here on Kafka
        with progress() as bar:
            if source == "store":
                task = bar.add_task("replaying the event store", total=count_events(store))
                summary = replay_from_store(store, built, lambda n: bar.advance(task, n), since)
            else:
                task = bar.add_task(f"replaying {kafka.topic}", total=None)
                summary = await replay_from_kafka(
                    kafka, built, lambda n: bar.advance(task, n), since
                )
        for shadow, current in zip(built, live, strict=False):
            await _swap_when_caught_up(kafka, shadow, current)
    return summary


async def _swap_when_caught_up(
    kafka: KafkaSettings, shadow: ReadModelStore, live: ReadModelStore
) -> None:
    while not live.swap_in(shadow):
        start = shadow.positions(kafka.cluster_id, kafka.topic)
        await replay_from_kafka(kafka, [shadow], lambda _: None, start=start)
    err.print(f"[green]swapped in[/] the rebuilt {live.projection.name} read model")


def print_report(report: Report) -> None:
    for finding in report.tampered:
        err.print(
            f"[red]TAMPERED[/] session {report.name(finding.session_key)} "
            f"version {finding.version}: {finding.problem}"
        )
    for projection, key, what in report.differing:
        err.print(f"[red]MISMATCH[/] {projection}: session {report.name(key)}: {what}")
    verdict = "[green]OK[/]" if report.ok else "[red]FAILED[/]"
    err.print(
        f"{verdict}: {report.sessions} sessions, {report.events} events; "
        f"{len(report.tampered)} tampered event(s), {len(report.differing)} read-model "
        "mismatch(es)"
    )


def verify(store: SessionStore, url: str, names: Sequence[str]) -> Report:
    readmodels = targets(url, names)
    with progress() as bar:
        task = bar.add_task("verifying", total=count_events(store))
        return verify_store(store, readmodels, lambda n: bar.advance(task, n))
