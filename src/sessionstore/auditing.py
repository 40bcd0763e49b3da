"""The auditors' commands: history, as-of, replay (with a zero-downtime swap) and verify."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from sessionstore import codec
from sessionstore.adapters.readmodel_queries import ReadModelQueries
from sessionstore.adapters.readmodel_rebuild import ShadowTables
from sessionstore.adapters.readmodel_tables import open_database
from sessionstore.application import SessionStore
from sessionstore.config import KafkaSettings, Settings, same_database
from sessionstore.domain.keys import session_key
from sessionstore.readmodels.history import history_items
from sessionstore.readmodels.projections import PROJECTIONS
from sessionstore.replay import (
    Rebuild,
    Report,
    Summary,
    count_events,
    rebuild_from_kafka,
    rebuild_from_store,
    touched_in_store,
    touched_on_topic,
)
from sessionstore.replay import verify as verify_store
from sessionstore.runtime import kafka_connection

err = Console(stderr=True)


class RateColumn(ProgressColumn):
    """Events per second so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "", style="progress.data.speed")


def progress() -> Progress:
    """A bar with the count, the rate and the time left."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
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


def queries(url: str, names: Sequence[str]) -> list[ReadModelQueries]:
    database = open_database(url)
    return [ReadModelQueries(database, PROJECTIONS[n]) for n in names]


def replay(
    settings: Settings,
    store: SessionStore,
    source: str,
    into: str,
    names: Sequence[str],
    since: datetime | None,
    swap: bool,
) -> Summary:
    """Rebuild into shadow tables of `into` and swap them in once the rebuild succeeded;
    with `swap` (the live read models), once they caught up with the live projectors."""
    if not swap and same_database(into, settings.readmodel_url or settings.database_url):
        raise click.UsageError(
            f"--into {into} holds the live read models (SESSIONSTORE_READMODEL_URL): "
            "use --swap to rebuild them while the projectors run, or --into another database"
        )
    if (swap or source == "kafka") and not settings.kafka_bootstrap:
        raise click.UsageError(
            "--source kafka and --swap need SESSIONSTORE_KAFKA_BOOTSTRAP "
            "(the broker the live projectors read)"
        )
    shadow = ShadowTables(open_database(into), [PROJECTIONS[n] for n in names])
    try:
        if swap or source == "kafka":
            return asyncio.run(_replay_with_kafka(settings, store, source, shadow, since, swap))
        wanted = touched_in_store(store, since) if since else None
        shadow.start(keep_all_but=wanted)
        summary = _from_store(store, Rebuild(shadow, wanted=wanted))
        shadow.swap_in(live=False)
        return summary
    finally:
        shadow.close()


def _from_store(store: SessionStore, rebuild: Rebuild) -> Summary:
    with progress() as bar:
        task = bar.add_task("replaying the event store", total=count_events(store))
        rebuild_from_store(store, rebuild, lambda n: bar.advance(task, n))
    return rebuild.finish()


async def _replay_with_kafka(
    settings: Settings,
    store: SessionStore,
    source: str,
    shadow: ShadowTables,
    since: datetime | None,
    swap: bool,
) -> Summary:
    """Connects to Kafka before anything is written (an unreachable broker changes nothing)."""
    async with kafka_connection(settings) as kafka:
        wanted = None
        if since and source == "store":
            wanted = touched_in_store(store, since)
        elif since:
            wanted = await touched_on_topic(kafka, since)
        shadow.start(keep_all_but=wanted, offsets=swap)  # a store rebuild continues from here
        if source == "store":
            summary = _from_store(store, Rebuild(shadow, wanted=wanted))
        else:
            rebuild = Rebuild(shadow, kafka.cluster_id, wanted)
            with progress() as bar:
                task = bar.add_task(f"replaying {kafka.topic}", total=None)
                await rebuild_from_kafka(
                    kafka,
                    rebuild,
                    lambda n: bar.advance(task, n),
                    total=lambda n: bar.update(task, total=n),
                )
            summary = rebuild.finish()
        if swap:
            await _swap_when_caught_up(kafka, shadow)
        else:
            shadow.swap_in(live=False)
    return summary


async def _swap_when_caught_up(kafka: KafkaSettings, shadow: ShadowTables) -> None:
    """Read the topic on from where the shadows stand until they are where the live
    projectors are, then swap them in (the live projectors go on in the new tables)."""
    while not shadow.swap_in(live=True):
        rebuild = Rebuild(shadow, kafka.cluster_id, reading_back=True)
        start = shadow.positions(kafka.cluster_id, kafka.topic)
        await rebuild_from_kafka(kafka, rebuild, lambda _: None, start=start)
        rebuild.finish()
    names = ", ".join(t.projection.name for t in shadow.targets)
    err.print(f"[green]swapped in[/] the rebuilt read models ({names})")


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
    readmodels = queries(url, names)
    with progress() as bar:
        task = bar.add_task("verifying", total=count_events(store))
        return verify_store(store, readmodels, lambda n: bar.advance(task, n))
