"""The `sessionstore` command."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any

import click

from sessionstore import codec, commands, config
from sessionstore.adapters.broker import BrokerError, EmbeddedBroker
from sessionstore.demo import run_demo
from sessionstore.readmodels.projections import PROJECTIONS

log = logging.getLogger("sessionstore")


def _settings() -> config.Settings:
    try:
        settings = config.load()
    except config.ConfigError as error:
        raise click.UsageError(str(error)) from None
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.root.level))
    return settings


def _run(job: Coroutine[Any, Any, None]) -> None:
    try:
        asyncio.run(job)
    except BrokerError as error:
        raise click.ClickException(str(error)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    """The main job: HTTP API, outbox relay and the three projectors in one process."""
    _run(commands.run_everything(_settings(), host, port, demo))


@main.command()
@host_option
@port_option
def serve(host: str, port: int) -> None:
    """Serve the Integration API, the read models and the Management API sessions."""
    _run(commands.serve(_settings(), host, port))


@main.command()
def relay() -> None:
    """Publish stored events to Kafka in order, remembering the position durably."""
    _run(commands.relay(_settings()))


@main.command()
@click.argument("name", type=click.Choice(list(PROJECTIONS)))
def project(name: str) -> None:
    """Keep one read model (v1, v2 or application-sessions) current from Kafka."""
    _run(commands.project(_settings(), name))


@main.command()
def broker() -> None:
    """Start the embedded Kafka-compatible broker (memory only) and print its address."""
    _settings()
    try:
        with EmbeddedBroker() as running:
            click.echo(f"SESSIONSTORE_KAFKA_BOOTSTRAP={running.bootstrap}")
            click.echo("The broker keeps everything in memory. Press Ctrl+C to stop it.")
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except BrokerError as error:
        raise click.ClickException(str(error)) from None


@main.command("demo")
@click.option(
    "--url",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="Base URL of a running `sessionstore serve` or `run`.",
)
def demo_command(url: str) -> None:
    """Drive one demo session through its life against a running server."""
    try:
        run_demo(url.rstrip("/"))
    except OSError as error:
        click.echo(f"cannot reach {url}: {error}", err=True)
        sys.exit(1)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the Kafka event values."""
    click.echo(codec.event_schema().decode(), nl=False)
