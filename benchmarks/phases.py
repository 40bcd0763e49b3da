"""The HTTP write path's load phases: closed loop, open loop at a fixed rate, history length.

Each phase is bounded in time: whatever has not answered `GRACE` seconds after the phase's
end is cancelled and counted as a failure.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from benchmarks.loadgen import Answer, Client, cpu_seconds, get_request, put_request

HOST = "127.0.0.1"
GRACE = 10.0
HISTORY_WITHIN = 60.0
KEPT_FAILURES = 5
PATH = "/v2/customer_sessions/"


class PhaseError(RuntimeError):
    """A phase could not run to its end (for example, the history phase ran out of time)."""


class Writer:
    """One client's PUTs, to its own sessions only.

    It cycles over `slots` session ids; each slot moves on to a fresh session id every
    `renew_every` visits (staggered between slots), so creations and updates stay mixed.
    """

    def __init__(self, authority: str, name: str, slots: int, renew_every: int) -> None:
        self.authority = authority
        self.name = name
        self.slots = slots
        self.renew_every = renew_every
        self.sent = 0
        self._bodies = [self._body_parts(slot) for slot in range(slots)]

    def _body_parts(self, slot: int) -> tuple[bytes, bytes]:
        head = (
            f'{{"customerSession":{{"profileId":"p-{self.name}-{slot}",'
            '"cartItems":[{"sku":"SKU-1","quantity":1,"price":9.99}],"attributes":{"step":'
        )
        return head.encode(), b"}}}"

    def next(self) -> tuple[bytes, bool]:
        """The next request's bytes, and whether it creates a session."""
        visit, slot = divmod(self.sent, self.slots)
        self.sent += 1
        generation, step = divmod(visit + slot, self.renew_every)
        head, tail = self._bodies[slot]
        body = head + str(visit).encode() + tail
        path = f"{PATH}{self.name}-{slot}-{generation}"
        return put_request(self.authority, path, body), step == 0 or visit == 0


@dataclass
class Tally:
    """Answers of one phase: every failure is counted; 200s only inside the measured window."""

    measuring: bool = False
    stopped: bool = False
    succeeded: int = 0
    creations: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def record(self, answer: Answer, creates: bool = False) -> None:
        status, body = answer
        if status != 200:
            self.fail(f"{status or 'no answer'}: {body[:300].decode(errors='replace')}")
        elif self.measuring:
            self.succeeded += 1
            self.creations += creates

    def fail(self, text: str, count: int = 1) -> None:
        self.failed += count
        if len(self.failures) < KEPT_FAILURES:
            self.failures.append(text)


@dataclass(frozen=True)
class Window:
    """Wall clock, the load generator's CPU and the server's CPU at one moment."""

    wall: float
    loadgen_cpu: float
    server_cpu: float

    @staticmethod
    def now(server_cpu: Callable[[], float]) -> Window:
        return Window(time.perf_counter(), cpu_seconds(), server_cpu())


@dataclass(frozen=True)
class ClosedLoop:
    requests: int
    seconds: float
    creations: int
    loadgen_cpu: float
    server_cpu: float
    tally: Tally

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def per_request(self, cpu: float) -> float:
        return cpu / self.requests if self.requests else float("nan")


@dataclass(frozen=True)
class OpenLoop:
    rate: float
    scheduled: int
    p50: float
    p99: float
    worst: float
    loadgen_cpu: float
    tally: Tally


@dataclass(frozen=True)
class History:
    versions: tuple[int, int]
    put_seconds: tuple[float, float]
    get_seconds: tuple[float, float]
    final_version: int
    tally: Tally

    @property
    def put_ratio(self) -> float:
        return self.put_seconds[1] / self.put_seconds[0]

    @property
    def get_ratio(self) -> float:
        return self.get_seconds[1] / self.get_seconds[0]


async def connected(port: int, count: int) -> list[Client]:
    """`count` keep-alive connections, all open before the load starts (no connect in a PUT)."""
    clients = [Client(HOST, port) for _ in range(count)]
    await asyncio.gather(*(client.connect() for client in clients))
    return clients


def writers(port: int, count: int, slots: int, renew_every: int) -> list[Writer]:
    """One Writer per client; the open loop goes on with the closed loop's, in steady state."""
    return [Writer(f"{HOST}:{port}", f"c{i}", slots, renew_every) for i in range(count)]


def close_all(clients: Iterable[Client]) -> None:
    """Close every connection of a pool (safe on connections already closed)."""
    for client in clients:
        client.close()


async def drain(tasks: list[asyncio.Task[None]], tally: Tally) -> None:
    """Wait up to GRACE for the tasks; cancel and count as failures those still waiting."""
    _, pending = await asyncio.wait(tasks, timeout=GRACE)
    for task in pending:
        task.cancel()
        tally.fail(f"no answer within {GRACE:.0f}s of the phase's end")
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            tally.fail(f"load generator error: {task.exception()!r}")


async def closed_loop(
    port: int,
    server_cpu: Callable[[], float],
    writers: list[Writer],
    *,
    warmup: float,
    duration: float,
) -> ClosedLoop:
    """A connection per writer, each sending its next PUT as soon as the last one was answered."""
    connections = await connected(port, len(writers))
    tally = Tally()
    pairs = zip(connections, writers, strict=True)
    tasks = [asyncio.create_task(_keep_busy(c, w, tally)) for c, w in pairs]
    try:
        await asyncio.sleep(warmup)
        start, tally.measuring = Window.now(server_cpu), True
        await asyncio.sleep(duration)
        end, tally.measuring, tally.stopped = Window.now(server_cpu), False, True
        await drain(tasks, tally)
    finally:
        close_all(connections)
    return ClosedLoop(
        requests=tally.succeeded,
        seconds=end.wall - start.wall,
        creations=tally.creations,
        loadgen_cpu=end.loadgen_cpu - start.loadgen_cpu,
        server_cpu=end.server_cpu - start.server_cpu,
        tally=tally,
    )


async def _keep_busy(client: Client, writer: Writer, tally: Tally) -> None:
    while not tally.stopped:
        request, creates = writer.next()
        tally.record(await client.send(request), creates)


async def open_loop(port: int, writers: list[Writer], *, rate: float, duration: float) -> OpenLoop:
    """PUTs on a fixed timetable, whatever the answers; latency counts from the scheduled time.

    A request waits in a queue for a free connection of the pool (one per writer) when all are
    busy, and that wait is part of its latency (no coordinated omission).
    """
    pool = await connected(port, len(writers))
    tally, due = Tally(measuring=True), asyncio.Queue[float | None]()
    pairs = zip(pool, writers, strict=True)
    tasks = [asyncio.create_task(_take_turns(c, w, due, tally)) for c, w in pairs]
    scheduled = max(1, round(rate * duration))
    cpu = cpu_seconds()
    try:
        await dispatch(due, rate, scheduled)
        for _ in tasks:
            due.put_nowait(None)
        await drain(tasks, tally)
        if unsent := sum(due.get_nowait() is not None for _ in range(due.qsize())):
            tally.fail(f"{unsent} scheduled PUTs not sent within {GRACE:.0f}s", unsent)
    finally:
        close_all(pool)
    p50, p99 = percentiles(tally.latencies)
    worst = max(tally.latencies, default=float("nan"))
    return OpenLoop(rate, scheduled, p50, p99, worst, cpu_seconds() - cpu, tally)


async def dispatch(due: asyncio.Queue[float | None], rate: float, count: int) -> None:
    """Put each request's due time on the queue when it is due: the open loop's timetable."""
    start = time.perf_counter() + 0.01
    for number in range(count):
        at = start + number / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        due.put_nowait(at)


async def _take_turns(
    client: Client, writer: Writer, due: asyncio.Queue[float | None], tally: Tally
) -> None:
    while (at := await due.get()) is not None:
        request, creates = writer.next()
        tally.record(await client.send(request), creates)
        tally.latencies.append(time.perf_counter() - at)


def percentiles(latencies: list[float]) -> tuple[float, float]:
    """p50 and p99 (nan below two samples, where they mean nothing)."""
    if len(latencies) < 2:
        return float("nan"), float("nan")
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49], cuts[98]


async def history(port: int, *, early: int, late: int, samples: int) -> History:
    """One session, one client, in sequence: PUT and GET times at version `early` and `late`."""
    (client,) = await connected(port, 1)
    try:
        return await asyncio.wait_for(_history(client, early, late, samples), HISTORY_WITHIN)
    except TimeoutError:
        raise PhaseError(f"the history phase took more than {HISTORY_WITHIN:.0f}s") from None
    finally:
        client.close()


async def _history(client: Client, early: int, late: int, samples: int) -> History:
    tally, path = Tally(), f"{PATH}history-1"
    puts = _HistoryPuts(client, path, tally)
    await puts.up_to(early)
    get_early = await _median_time(client, [get_request(client.authority, path)] * samples, tally)
    put_early = await puts.timed(samples)
    await puts.up_to(late)
    get_late = await _median_time(client, [get_request(client.authority, path)] * samples, tally)
    put_late = await puts.timed(samples)
    return History(
        versions=(early, late),
        put_seconds=(put_early, put_late),
        get_seconds=(get_early, get_late),
        final_version=await _stored_version(client, path, tally),
        tally=tally,
    )


class _HistoryPuts:
    """Sequential PUTs to one session; every one changes `attributes.step`, adding one event."""

    def __init__(self, client: Client, path: str, tally: Tally) -> None:
        self.client, self.path, self.tally = client, path, tally
        self.sent = 0

    def _next(self) -> bytes:
        self.sent += 1
        body = (
            '{"customerSession":{"profileId":"p-history",'
            '"cartItems":[{"sku":"SKU-1","quantity":1,"price":9.99}],'
            f'"attributes":{{"step":{self.sent}}}}}}}'
        )
        return put_request(self.client.authority, self.path, body.encode())

    async def up_to(self, version: int) -> None:
        while self.sent < version:
            self.tally.record(await self.client.send(self._next()))

    async def timed(self, count: int) -> float:
        return await _median_time(self.client, [self._next() for _ in range(count)], self.tally)


async def _median_time(client: Client, requests: list[bytes], tally: Tally) -> float:
    seconds = []
    for request in requests:
        started = time.perf_counter()
        answer = await client.send(request)
        seconds.append(time.perf_counter() - started)
        tally.record(answer)
    return statistics.median(seconds)


async def _stored_version(client: Client, path: str, tally: Tally) -> int:
    """The session's version from its /history, to check each PUT recorded one event."""
    status, body = await client.send(get_request(client.authority, f"{path}/history"))
    if status != 200:
        tally.fail(f"{status}: {body[:300].decode(errors='replace')}")
        return 0
    items = json.loads(body)
    return int(items[-1]["version"]) if items else 0
