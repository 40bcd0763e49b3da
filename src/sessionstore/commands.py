"""What each `sessionstore` command runs, as coroutines over the runtime's parts."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import anyio.to_thread
import uvicorn
from litestar import Litestar

from sessionstore.adapters.relay_lock import relay_lock
from sessionstore.bootstrap import build_store
from sessionstore.child_parts import run_child
from sessionstore.config import KafkaSettings, Settings
from sessionstore.demo import run_demo
from sessionstore.failures import can_listen
from sessionstore.http.app import create_app
from sessionstore.http.health import health_app
from sessionstore.parts import Parts
from sessionstore.readmodels.projections import PROJECTIONS
from sessionstore.runtime import (
    QuietServer,
    kafka_for_parts,
    open_queries,
    open_readmodels,
    projector_part,
    run_parts,
    run_projector,
    run_relay,
    run_server,
    stop_on_signals,
    watch_broker,
)

log = logging.getLogger(__name__)
GROUP_PREFIX = "sessionstore"
PROJECTOR_ALL = projector_part(list(PROJECTIONS))  # the part `project all` runs


UVICORN: dict[str, Any] = {  # uvloop and httptools: what the field runs for speed
    "loop": "uvloop",
    "http": "httptools",
    "log_level": "warning",
    "access_log": False,
    "proxy_headers": False,
    "lifespan": "on",
}


def _server(app: Litestar, host: str, port: int) -> uvicorn.Server:
    return QuietServer(uvicorn.Config(app, host=host, port=port, **UVICORN))


async def serve(
    settings: Settings, host: str, port: int, sock: socket.socket | None = None
) -> None:
    """The HTTP API; on `sock` when given (a worker of `serve --workers N`)."""
    stop, parts = asyncio.Event(), Parts()
    stop_on_signals(stop)
    if sock is None:
        can_listen(host, port)
    store, readmodels = build_store(settings), open_queries(settings)
    app = create_app(store, settings, readmodels=readmodels, parts=parts)
    log.info("serving the Integration API on http://%s:%d", host, port)
    server = _server(app, host, port)
    await run_parts(run_server(parts, server, stop, [sock] if sock else None))
    for rm in readmodels.values():
        rm.close()
    store.close()


async def relay(settings: Settings, host: str, port: int | None) -> None:
    """The outbox relay; with a port, its own GET /health there."""
    if port is not None:
        can_listen(host, port)
    stop, parts = asyncio.Event(), Parts()
    stop_on_signals(stop)  # before the store: a signal while it opens still stops cleanly
    store = build_store(settings)

    def part(kafka: KafkaSettings) -> Coroutine[Any, Any, None]:
        return run_relay(parts, store, kafka, relay_lock(settings.database_url, kafka.topic), stop)

    await _stream_part(settings, host, port, part, parts, stop)
    store.close()


async def project(settings: Settings, names: list[str], host: str, port: int | None) -> None:
    """One projector keeping the named read models; with a port, its own GET /health there."""
    if port is not None:
        can_listen(host, port)
    stop, parts = asyncio.Event(), Parts()
    stop_on_signals(stop)
    readmodels = list(open_readmodels(settings, names).values())

    def part(kafka: KafkaSettings) -> Coroutine[Any, Any, None]:
        return run_projector(parts, readmodels, kafka, GROUP_PREFIX, stop)

    await _stream_part(settings, host, port, part, parts, stop)
    for rm in readmodels:
        rm.close()


async def _stream_part(
    settings: Settings,
    host: str,
    port: int | None,
    part: Callable[[KafkaSettings], Coroutine[Any, Any, None]],
    parts: Parts,
    stop: asyncio.Event,
) -> None:
    """A relay or a projector beside the broker watchdog and, with a port, a health server,
    until `stop`."""
    async with kafka_for_parts(settings) as kafka:
        await run_parts(
            part(kafka),
            watch_broker(parts, kafka, stop),
            *_health_server(parts, host, port, stop),
        )


def _health_server(
    parts: Parts, host: str, port: int | None, stop: asyncio.Event
) -> list[Coroutine[Any, Any, None]]:
    if port is None:
        return []
    log.info("health on http://%s:%d/health", host, port)
    return [run_server(parts, _server(health_app(parts), host, port), stop)]


async def run_everything(settings: Settings, host: str, port: int, demo: bool) -> None:
    """The main job: HTTP API and relay in this process; one projector keeping the three
    read models in a child process (`project all`, see child_parts)."""
    stop, parts = asyncio.Event(), Parts()
    stop_on_signals(stop)
    can_listen(host, port)
    store = build_store(settings)
    async with kafka_for_parts(settings) as kafka:
        readmodels = open_queries(settings)
        app = create_app(store, settings, readmodels=readmodels, parts=parts)
        running = [
            run_server(parts, _server(app, host, port), stop),
            run_relay(parts, store, kafka, relay_lock(settings.database_url, kafka.topic), stop),
            # the broker this process found or started is the child's too
            run_child(
                parts, PROJECTOR_ALL, ("project", "all"), {"KAFKA_BOOTSTRAP": kafka.bootstrap}, stop
            ),
            watch_broker(parts, kafka, stop),
        ]
        if demo:
            running.append(_demo_when_ready(parts, f"http://{host}:{port}", settings, stop))
        await run_parts(*running)
        for rm in readmodels.values():
            rm.close()
    store.close()


async def _demo_when_ready(
    parts: Parts, base: str, settings: Settings, stop: asyncio.Event
) -> None:
    """The demo, as the first configured API key's application (application 1 without keys)."""
    while not parts.ready() and not stop.is_set():
        await asyncio.sleep(0.1)  # waiting on the parts' own readiness flags
    if stop.is_set():
        return
    key = next(iter(settings.api_keys), None)
    application = settings.api_keys[key] if key else 1
    print(f"\nsessionstore is running on {base} — a demo session's life:")
    try:
        integration_id = await anyio.to_thread.run_sync(run_demo, base, key)
    except Exception as error:  # the demo is a courtesy: it never stops the parts
        log.warning("the demo could not run (%s); everything else runs on", error)
        return
    print(
        f"Read models: {base}/readmodels/v2/{application}/{integration_id} "
        "(also v1, application-sessions)"
    )
    print(f"Management API: {base}/v1/applications/{application}/sessions   Health: {base}/health")
    print("Press Ctrl+C to stop.\n")
