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
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence

import anyio.to_thread
import uvicorn

from sessionstore.adapters.broker import EmbeddedBroker
from sessionstore.adapters.kafka import Publisher, cluster_of, ensure_topic
from sessionstore.adapters.readmodel_queries import ReadModelQueries
from sessionstore.adapters.readmodel_tables import Tables, open_database
from sessionstore.adapters.readmodel_writer import ReadModelWriter
from sessionstore.adapters.relay_lock import RelayLock
from sessionstore.application import SessionStore
from sessionstore.bootstrap import creating_tables
from sessionstore.config import KafkaSettings, Settings
from sessionstore.consuming import Projector
from sessionstore.failures import Unavailable
from sessionstore.parts import Parts, first_set
from sessionstore.readmodels.projections import PROJECTIONS
from sessionstore.relay import Relay, TopicWentBack

log = logging.getLogger(__name__)
BROKER_PROBE_EVERY = 2.0  # seconds
RELAY_RETRY_LOCK = 2.0  # seconds between a standby relay's tries: it takes over within that
BROKER_PROBE_TIMEOUT = 4.0  # so a lost broker shows in /health within 10 s


@contextlib.asynccontextmanager
async def kafka_connection(settings: Settings) -> AsyncIterator[KafkaSettings]:
    """The configured Kafka, or an embedded broker for as long as the block runs; the topic
    exists and the cluster id is known (for one-shot commands, which fail fast)."""
    async with kafka_for_parts(settings) as kafka:
        try:
            connected = await asyncio.wait_for(ensure_topic(kafka), settings.connect_timeout)
        except TimeoutError:
            raise Unavailable(
                f"cannot reach Kafka at {kafka.bootstrap}: no answer within "
                f"{settings.connect_timeout} s (SESSIONSTORE_CONNECT_TIMEOUT_S)"
            ) from None
        yield connected


@contextlib.asynccontextmanager
async def kafka_for_parts(settings: Settings) -> AsyncIterator[KafkaSettings]:
    """The same without asking the broker anything: long-running parts do that on each
    (re)start, so they wait out a broker that is down instead of failing the command."""
    if settings.kafka_bootstrap:
        yield settings.kafka(settings.kafka_bootstrap, embedded=False)
        return
    with EmbeddedBroker() as broker:
        yield settings.kafka(broker.bootstrap, embedded=True)


def open_readmodels(
    settings: Settings, names: list[str] | None = None
) -> dict[str, ReadModelWriter]:
    """The named projections' writers (default: all), on one database: a projector that
    keeps several of them writes them in one transaction."""
    with creating_tables(settings.readmodel_url, settings.connect_timeout):
        database = open_database(settings.readmodel_url)
        return {
            name: ReadModelWriter(database, PROJECTIONS[name])
            for name in names or list(PROJECTIONS)
        }


def open_queries(settings: Settings) -> dict[str, ReadModelQueries]:
    """Every projection's queries (for the HTTP API), on one database; the tables are
    created if no projector has yet."""
    with creating_tables(settings.readmodel_url, settings.connect_timeout):
        database = open_database(settings.readmodel_url)
        for projection in PROJECTIONS.values():
            Tables(database, projection).create()
        return {name: ReadModelQueries(database, p) for name, p in PROJECTIONS.items()}


async def run_relay(
    parts: Parts, store: SessionStore, kafka: KafkaSettings, lock: RelayLock, stop: asyncio.Event
) -> None:
    """Publish while holding the relay lock, stand by while another relay holds it. Each
    (re)start asks the broker again for the topic and its cluster id: a broker that came
    back empty is refilled from the start (positions are kept per cluster)."""

    offsets: dict[int, int] = {}  # what this process produced to `cluster`, across restarts
    cluster = ""
    from_start = False

    async def run() -> None:
        nonlocal from_start, cluster
        if not await _acquired(parts, lock, stop):
            return
        try:
            current = await ensure_topic(kafka)
            if current.cluster_id != cluster:  # another cluster: its own offsets, its own position
                offsets.clear()
                cluster = current.cluster_id
            publisher = Publisher(current)
            await publisher.start()
            parts.running("relay")
            relay = Relay(
                store, publisher, still_ours=lock.held, offsets=offsets, from_start=from_start
            )
            try:
                await relay.run(stop)
            except TopicWentBack as error:
                log.warning("%s; publishing every event again from the start", error)
                offsets.clear()
                from_start = True
                raise
            finally:
                await publisher.stop()
            from_start = False
        finally:
            lock.release()

    await parts.supervise("relay", run, stop)


async def _acquired(parts: Parts, lock: RelayLock, stop: asyncio.Event) -> bool:
    """True once this relay holds the lock; False if stopped while standing by."""
    while not await anyio.to_thread.run_sync(lock.try_acquire):
        if parts.states.get("relay") != "standby":
            log.info("another relay is publishing; this one stands by")
            parts.standby("relay")
        await first_set(stop, timeout=RELAY_RETRY_LOCK)
        if stop.is_set():
            return False
    if parts.states.get("relay") == "standby":
        log.info("this relay took over publishing")
    return True


async def run_projector(
    parts: Parts,
    readmodels: Sequence[ReadModelWriter],
    kafka: KafkaSettings,
    group_prefix: str,
    stop: asyncio.Event,
) -> None:
    """One consumer keeping the given read models, the part `projector-<names joined by +>`,
    in the consumer group `<group_prefix>.<the same names>`."""
    names = [rm.projection.name for rm in readmodels]
    name, group = projector_part(names), f"{group_prefix}.{'+'.join(names)}"

    async def run() -> None:
        projector = Projector(readmodels, await ensure_topic(kafka), group)
        await projector.run(stop, lambda: parts.running(name))

    await parts.supervise(name, run, stop)


def projector_part(names: Sequence[str]) -> str:
    """The name of the part projecting these read models (in /health and the logs)."""
    return f"projector-{'+'.join(names)}"


async def watch_broker(parts: Parts, kafka: KafkaSettings, stop: asyncio.Event) -> None:
    """The "kafka" part: failed within 10 s of losing the broker, running once it answers
    again; the parts that use Kafka start again at once when it is back or a new one."""
    known: str | None = None
    lost = False
    while not stop.is_set():
        try:
            cluster = await cluster_of(kafka, timeout=BROKER_PROBE_TIMEOUT)
        except Exception as error:
            if not lost:
                log.warning(
                    "lost the Kafka broker at %s (%s)",
                    kafka.bootstrap,
                    str(error) or type(error).__name__,
                )
            lost = True
            parts.failed("kafka", f"no broker answers at {kafka.bootstrap}")
        else:
            if lost or (known is not None and cluster != known):
                log.info("the Kafka broker at %s is back (cluster %s)", kafka.bootstrap, cluster)
                parts.restart(
                    *(n for n in parts.states if n == "relay" or n.startswith("projector-"))
                )
            lost, known = False, cluster
            parts.running("kafka")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=BROKER_PROBE_EVERY)
    parts.states["kafka"] = "stopped"


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
        parts.running("http")
        await asyncio.wait(
            [task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        server.should_exit = True
        await task

    await parts.supervise("http", run, stop)


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
