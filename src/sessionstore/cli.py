"""The `sessionstore` command."""

from __future__ import annotations

import logging
import sys
import threading
import time

import click
import uvicorn

from sessionstore import config
from sessionstore.bootstrap import build_store
from sessionstore.demo import run_demo
from sessionstore.http.app import create_app

log = logging.getLogger("sessionstore")


def _settings() -> config.Settings:
    try:
        settings = config.load()
    except config.ConfigError as error:
        raise click.UsageError(str(error)) from None
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    return settings


def _server(host: str, port: int) -> uvicorn.Server:
    settings = _settings()
    app = create_app(build_store(settings), settings)
    return uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="info", access_log=False)
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sessionstore")
def main() -> None:
    """Event-sourced store of Talon.One-shaped customer sessions.

    Settings come from SESSIONSTORE_* environment variables (see .env.example); with none
    set, events go to the SQLite file ./var/events.db.
    """


host_option = click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface to listen on."
)
port_option = click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0), help="TCP port to listen on."
)


@main.command()
@host_option
@port_option
def serve(host: str, port: int) -> None:
    """Serve the Talon.One-compatible Integration API over HTTP."""
    _server(host, port).run()


@main.command()
@host_option
@port_option
@click.option(
    "--demo/--no-demo",
    default=True,
    show_default=True,
    help="Drive one demo session through its life once the server is up.",
)
def run(host: str, port: int, demo: bool) -> None:
    """The main job: the HTTP API on the configured store, with a short demo."""
    server = _server(host, port)
    if demo:
        threading.Thread(target=_demo_when_up, args=(server, host, port), daemon=True).start()
    server.run()


@main.command("demo")
@click.option(
    "--url",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="Base URL of a running `sessionstore serve`.",
)
def demo_command(url: str) -> None:
    """Drive one demo session through its life against a running server."""
    try:
        run_demo(url.rstrip("/"))
    except OSError as error:
        click.echo(f"cannot reach {url}: {error}", err=True)
        sys.exit(1)


def _demo_when_up(server: uvicorn.Server, host: str, port: int) -> None:
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for uvicorn's own readiness flag, not for a consumer
    base = f"http://{host}:{port}"
    click.echo(f"\nsessionstore is serving on {base} — a demo session's life:")
    run_demo(base)
    click.echo("Press Ctrl+C to stop.\n")
