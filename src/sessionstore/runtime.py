"""Long-running parts in one asyncio loop: broker, relay, projectors and the HTTP server.

`sessionstore run` starts all of them; `relay`, `project NAME` and `serve` start one each.
Every part reports its state so that GET /health answers 200 only once all are running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import uvicorn

from sessionstore.adapters.broker import EmbeddedBroker
from sessionstore.adapters.kafka import Publisher, ensure_topic
from sessionstore.adapters.readmodel_store import ReadModelStore, open_database
from sessionstore.application import SessionStore
from sessionstore.bootstrap import creating_tables
from sessionstore.config import KafkaSettings, Settings
from sessionstore.consuming import Projector
from sessionstore.readmodels.projections import PROJECTIONS
from sessionstore.relay import Relay

log = logging.getLogger(__name__)


class Parts:
    """What is running, for /health: name -> "starting" | "running" | "stopped" | "failed"."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}

    def ready(self) -> bool:
        return bool(self.states) and all(s == "running" for s in self.states.values())

    async def supervise(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        self.states[name] = "starting"
        try:
            await run()
            self.states[name] = "stopped"
        except Exception:
            self.states[name] = "failed"
            log.exception("%s failed", name)
            raise


@contextlib.asynccontextmanager
async def kafka_connection(settings: Settings) -> AsyncIterator[KafkaSettings]:
    """The configured Kafka, or an embedded broker for as long as the block runs."""
    if settings.kafka_bootstrap:
        yield await ensure_topic(settings.kafka(settings.kafka_bootstrap, embedded=False))
        return
    with EmbeddedBroker() as broker:
        yield await ensure_topic(settings.kafka(broker.bootstrap, embedded=True))


def open_readmodels(
    settings: Settings, names: list[str] | None = None, prefix: str = ""
) -> dict[str, ReadModelStore]:
    with creating_tables(settings.readmodel_url):
        return {
            name: ReadModelStore(open_database(settings.readmodel_url), PROJECTIONS[name], prefix)
            for name in names or list(PROJECTIONS)
        }


async def run_relay(
    parts: Parts, store: SessionStore, kafka: KafkaSettings, stop: asyncio.Event
) -> None:
    publisher = Publisher(kafka)

    async def run() -> None:
        await publisher.start()
        parts.states["relay"] = "running"
        try:
            await Relay(store, publisher).run(stop)
        finally:
            await publisher.stop()

    await parts.supervise("relay", run)


async def run_projector(
    parts: Parts,
    readmodels: ReadModelStore,
    kafka: KafkaSettings,
    group_prefix: str,
    stop: asyncio.Event,
) -> None:
    name = f"projector-{readmodels.projection.name}"
    projector = Projector(readmodels, kafka, f"{group_prefix}.{readmodels.projection.name}")

    def started() -> None:
        parts.states[name] = "running"

    await parts.supervise(name, lambda: projector.run(stop, started))


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the runtime stops every part together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run_server(
    parts: Parts,
    server: uvicorn.Server,
    stop: asyncio.Event,
    sockets: list[socket.socket] | None = None,
) -> None:
    async def run() -> None:
        task = asyncio.create_task(server.serve(sockets))
        while not server.started and not task.done():
            await asyncio.sleep(0.05)  # uvicorn's own readiness flag
        parts.states["http"] = "running"
        await asyncio.wait(
            [task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        server.should_exit = True
        await task

    await parts.supervise("http", run)


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def stopping(signum: signal.Signals) -> None:
        log.info("%s: stopping every part", signum.name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping, signum)


async def run_parts(*parts: Awaitable[None]) -> None:
    """Run until a signal or until one part fails, which stops the others."""
    async with asyncio.TaskGroup() as group:
        for part in parts:
            group.create_task(_awaited(part))


async def _awaited(part: Awaitable[None]) -> None:
    await part
