"""The `sessionstore` command."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

import click
import uvloop

from sessionstore import auditing, codec, commands, config, failures, parking, status
from sessionstore import workers as workers_module
from sessionstore.adapters.broker import EmbeddedBroker
from sessionstore.adapters.readmodel_tables import holds_readmodels
from sessionstore.bootstrap import build_store, configure_logging
from sessionstore.demo import failure, run_demo
from sessionstore.domain.keys import session_key
from sessionstore.readmodels.history import as_of
from sessionstore.readmodels.projections import PROJECTIONS

log = logging.getLogger("sessionstore")


def _settings() -> config.Settings:
    settings = config.load()
    configure_logging(settings)
    return settings


def _run(job: Coroutine[Any, Any, None]) -> None:
    """Long-running parts run on uvloop, the event loop uvicorn itself picks when it can."""
    uvloop.run(job)


class _Commands(click.Group):
    """A bad setting, an unreachable dependency, a busy port: one line and exit status 1,
    never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except failures.REPORTED as error:
            raise click.ClickException(failures.one_line(error)) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sessionstore")
def main() -> None:
    """Event-sourced store of Talon.One-shaped customer sessions, streamed to Kafka.

    Settings come from SESSIONSTORE_* environment variables (see .env.example). With none
    set, events and read models go to SQLite files under ./var and commands that need Kafka
    start the embedded broker.
    """


host_option = click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface to listen on."
)
port_option = click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port to listen on.",
)


@main.command()
@host_option
@port_option
@click.option(
    "--demo/--no-demo",
    default=True,
    show_default=True,
    help="Drive one demo session through its life once everything is up.",
)
def run(host: str, port: int, demo: bool) -> None:
    """The main job: HTTP API and outbox relay, and one projector keeping the three read
    models in a child process (`project all`, which dies with this one)."""
    _run(commands.run_everything(_settings(), host, port, demo))


@main.command()
@host_option
@port_option
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes sharing the port (2 on a two-core machine nearly doubles the "
    "write rate on SQLite; each keeps its own sessions in memory).",
)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the Integration API, the read models and the Management API sessions."""
    settings = _settings()
    if workers == 1:
        _run(commands.serve(settings, host, port))
    else:
        failures.can_listen(host, port)  # else every worker would fail, and be restarted
        workers_module.serve_workers(host, port, workers)


projection_choice = click.Choice(["all", *PROJECTIONS])

health_port_option = click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="Serve GET /health on this port (for healthchecks); without it, nothing is served.",
)


@main.command()
@host_option
@health_port_option
def relay(host: str, port: int | None) -> None:
    """Publish stored events to Kafka in order, remembering the position durably."""
    _run(commands.relay(_settings(), host, port))


@main.command()
@click.argument("names", metavar="NAME...", nargs=-1, required=True, type=projection_choice)
@host_option
@health_port_option
def project(names: tuple[str, ...], host: str, port: int | None) -> None:
    """Keep read models (v1, v2, application-sessions, or all) current from Kafka.

    One projector per process: with several names (or `all`), one consumer fetches each
    record once and writes those read models in one transaction (what `run` does); on one
    SQLite file that beats a process per model, which would take turns on its write lock.
    """
    chosen = list(PROJECTIONS) if "all" in names else list(dict.fromkeys(names))
    _run(commands.project(_settings(), chosen, host, port))


@main.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="Listen on this port [default: a free one]; the same port brings a broker back "
    "on the address the other parts use.",
)
def broker(port: int | None) -> None:
    """Start the embedded Kafka-compatible broker (memory only) and print its address."""
    _settings()
    with EmbeddedBroker(port=port) as running:
        click.echo(f"SESSIONSTORE_KAFKA_BOOTSTRAP={running.bootstrap}")
        click.echo("The broker keeps everything in memory. Press Ctrl+C to stop it.")
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})


@main.command("demo")
@click.option(
    "--url",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="Base URL of a running `sessionstore serve` or `run`.",
)
@click.option(
    "--api-key",
    help="Send `Authorization: ApiKey-v1 KEY` (needed once the server has API keys set).",
)
def demo_command(url: str, api_key: str | None) -> None:
    """Drive one demo session through its life against a running server."""
    try:
        run_demo(url.rstrip("/"), api_key)
    except OSError as error:
        click.echo(failure(url, error), err=True)
        sys.exit(1)


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an RFC 3339 date-time") from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} needs a time zone, e.g. Z or +01:00")
    return moment


application_option = click.option(
    "--application-id",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="The application the session belongs to.",
)


@main.command()
@click.argument("session_id")
@application_option
@click.option("--json", "as_json", is_flag=True, help="A JSON array instead of a table.")
def history(session_id: str, application_id: int, as_json: bool) -> None:
    """Every event of a session, in order (SESSION_ID is its integration id)."""
    store = build_store(_settings())
    auditing.print_history(store, application_id, session_id, as_json)


@main.command("as-of")
@click.argument("session_id")
@application_option
@click.option("--at", help="An RFC 3339 instant: the session as it was then.")
@click.option("--version", type=click.IntRange(1), help="The session after this version.")
@click.option(
    "--shape",
    type=click.Choice(["v2", "v1", "application-session"]),
    default="v2",
    show_default=True,
    help="Which read-model shape to print.",
)
def as_of_command(
    session_id: str, application_id: int, at: str | None, version: int | None, shape: str
) -> None:
    """A session's document as it was at an instant or version, from the same folds."""
    if (at is None) == (version is None):
        raise click.UsageError("give exactly one of --at and --version")
    moment = _moment(at)
    store = build_store(_settings())
    events = store.session_events(session_key(application_id, session_id))
    if not events:
        raise click.ClickException(f"no session {session_id!r} in application {application_id}")
    latest = events[-1].originator_version
    if version is not None and version > latest:
        raise click.ClickException(
            f"session {session_id!r} has {latest} version(s): --version {version} is past them"
        )
    session = as_of(events, at=moment, version=version)
    if session is None:
        raise click.ClickException(f"session {session_id!r} did not exist yet then")
    render = PROJECTIONS["application-sessions" if shape == "application-session" else shape]
    click.echo(codec.encode_document(render.render(session)).decode())


@main.command()
@click.option(
    "--source",
    type=click.Choice(["store", "kafka"]),
    default="store",
    show_default=True,
    help="Rebuild from the event store or from the topic.",
)
@click.option(
    "--into",
    help="Database URL to build into [default with --swap: "
    "SESSIONSTORE_READMODEL_URL; required otherwise].",
)
@click.option("--projection", type=projection_choice, default="all", show_default=True)
@click.option("--since", help="Only sessions with events at or after this RFC 3339 instant.")
@click.option(
    "--swap",
    is_flag=True,
    help="Zero downtime: build shadow tables, catch up with "
    "the live projectors on Kafka, then switch them in atomically.",
)
def replay(source: str, into: str | None, projection: str, since: str | None, swap: bool) -> None:
    """Rebuild read models from scratch (the target tables are emptied first)."""
    settings = _settings()
    if into is None and not swap:
        raise click.UsageError("give --into URL (or --swap to rebuild the live read models)")
    moment = _moment(since)
    try:
        config.eventstore_env(into or settings.readmodel_url)
    except config.ConfigError as error:
        raise click.BadParameter(str(error), param_hint="--into") from None
    names = list(PROJECTIONS) if projection == "all" else [projection]
    summary = auditing.replay(
        settings, build_store(settings), source, into or settings.readmodel_url, names, moment, swap
    )
    click.echo(
        f"replayed {summary.events} events of {summary.sessions} sessions in "
        f"{summary.seconds:.1f} s ({summary.rate:,.0f} events/s) into {len(names)} "
        "read model(s)"
    )


@main.command()
@click.option("--readmodel-url", help="Read models to check [default: SESSIONSTORE_READMODEL_URL].")
@click.option("--projection", type=projection_choice, default="all", show_default=True)
def verify(readmodel_url: str | None, projection: str) -> None:
    """Check every session's digest chain and compare the read models with the events.

    Exit status 0 only when nothing was altered and every read model matches.
    """
    settings = _settings()
    names = list(PROJECTIONS) if projection == "all" else [projection]
    url = readmodel_url or settings.readmodel_url
    if not holds_readmodels(url, [PROJECTIONS[n] for n in names], settings.connect_timeout):
        raise click.ClickException(f"{url} holds no read models of {', '.join(names)}")
    report = auditing.verify(build_store(settings), url, names)
    auditing.print_report(report)
    sys.exit(0 if report.ok else 1)


@main.group(invoke_without_command=True)
@click.option("--projection", type=projection_choice, default="all", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="A JSON array instead of a table.")
@click.pass_context
def parked(context: click.Context, projection: str, as_json: bool) -> None:
    """Records a projector set aside: undecodable, of an unknown type, not applicable to
    their session, or waiting behind one of those. `parked retry` applies them again."""
    if context.invoked_subcommand is not None:
        return
    settings = _settings()
    names = list(PROJECTIONS) if projection == "all" else [projection]
    parking.print_parked(settings, names, as_json)


@parked.command("retry")
@click.option("--projection", type=projection_choice, default="all", show_default=True)
def parked_retry(projection: str) -> None:
    """Apply the parked records again (say, after an upgrade that knows their type); those
    that apply now are removed, the others stay parked."""
    settings = _settings()
    names = list(PROJECTIONS) if projection == "all" else [projection]
    parking.retry_parked(settings, names)


@main.command("status")
@click.option("--projection", type=projection_choice, default="all", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of a table.")
def status_command(projection: str, as_json: bool) -> None:
    """Is everything caught up? The relay's position against the event store's head, each
    projection's offsets against the topic's end per partition, parked records.

    Exit status 0 when nothing lags and nothing is parked, 1 otherwise.
    """
    settings = _settings()
    names = list(PROJECTIONS) if projection == "all" else [projection]
    result = uvloop.run(status.gather(settings, names))
    status.report(result, as_json, names)
    sys.exit(0 if result.caught_up else 1)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the Kafka event values."""
    click.echo(codec.event_schema().decode(), nl=False)
