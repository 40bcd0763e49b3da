"""The freshness part's load: first writes, closed loop, catch-up, open loop, final check.

Every phase works on one pool of keep-alive connections, each with its own writer, and one
poller; every failure of every phase is counted in one tally.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import phases
from benchmarks.freshness.deployment import SHAPES, Deployment
from benchmarks.freshness.measurements import Closed, Cpu, Load, Opened
from benchmarks.freshness.visibility import Visibility, mismatched
from benchmarks.freshness.writes import Write, Writer
from benchmarks.loadgen import Client

READY_WITHIN = 30.0  # the first writes wait for the projectors to join their consumer groups
CATCH_UP_WITHIN = 30.0  # for the closed loop's backlog, before the open loop starts


class FreshnessError(RuntimeError):
    """The measurement could not start: the read models never showed the first writes."""


@dataclass(frozen=True)
class Options:
    clients: int = 16
    slots: int = 20  # session ids each client cycles over
    renew_every: int = 10  # versions before a slot moves on to a fresh session
    warmup: float = 0.5
    duration: float = 3.0  # the closed loop
    open_duration: float = 5.0
    deadline: float = 10.0  # after the open loop's last answer
    poll_every: float = 0.001
    shapes: tuple[str, ...] = SHAPES  # each measured on its own processes, in this order


@dataclass
class _Window:
    measuring: bool = False
    stopped: bool = False
    answered: int = 0


@dataclass
class _OpenRecord:
    writes: list[Write] = field(default_factory=list)
    from_schedule: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class _Bench:
    """What every phase works with: one pool of connections, a writer on each, one poller."""

    running: Deployment
    visibility: Visibility
    options: Options
    pool: list[Client]
    writers: list[Writer]
    tally: phases.Tally  # every failure of every phase

    def pairs(self) -> zip[tuple[Client, Writer]]:
        return zip(self.pool, self.writers, strict=True)

    async def settled(self, within: float) -> bool:
        return await self.visibility.settled(within, self.running.check_alive)

    async def send(self, client: Client, writer: Writer, awaited: bool = False) -> Write | None:
        """One PUT; its Write on a 200, else None with the failure counted (also if cancelled).

        `awaited`: the poller looks out for its version from before it is sent (the version
        might be seen before its 200 arrives).
        """
        put = writer.next()
        write = Write(put.key, put.version, time.perf_counter())
        if awaited:
            self.visibility.expect(write)
        ok = False
        try:
            status, body = await client.send(put.request)
            write.answered = time.perf_counter()
            ok = status == 200
            if not ok:
                self.tally.fail(f"{status or 'no answer'}: {body[:300].decode(errors='replace')}")
        finally:
            writer.settle(put, ok)
            if not ok and awaited:
                self.visibility.forget(write)
        return write if ok else None


async def _first_writes(bench: _Bench) -> float:
    """One PUT per writer, awaited in all three read models: the projectors are consuming."""
    started = time.perf_counter()
    written = await asyncio.gather(*(bench.send(c, w, awaited=True) for c, w in bench.pairs()))
    if not any(written):
        raise FreshnessError(f"no first PUT answered 200: {bench.tally.failures[:1]}")
    if not await bench.settled(READY_WITHIN):
        raise FreshnessError(
            f"the first writes were not in all three read models within {READY_WITHIN:.0f}s "
            f"(poller's last error: {bench.visibility.last_error or 'none'})"
        )
    return time.perf_counter() - started


async def _closed_loop(bench: _Bench) -> Closed:
    """Each connection sends its next PUT as soon as the last was answered: the write rate."""
    window = _Window()
    tasks = [asyncio.create_task(_keep_busy(bench, c, w, window)) for c, w in bench.pairs()]
    try:
        await asyncio.sleep(bench.options.warmup)
        start, window.measuring = time.perf_counter(), True
        cpu = bench.running.cpu()
        await asyncio.sleep(bench.options.duration)
        end, window.measuring, window.stopped = time.perf_counter(), False, True
        cpu = bench.running.cpu() - cpu
        await phases.drain(tasks, bench.tally)
    finally:
        _cancel(tasks)
    return Closed(window.answered, end - start, cpu)


async def _keep_busy(bench: _Bench, client: Client, writer: Writer, window: _Window) -> None:
    while not window.stopped:
        if await bench.send(client, writer) is not None and window.measuring:
            window.answered += 1


async def _catch_up(bench: _Bench) -> float | None:
    """Seconds until every acknowledged version so far is in all three read models."""
    started = time.perf_counter()
    for writer in bench.writers:
        for key, version in writer.known.items():
            bench.visibility.expect(Write(key, version, started))
    caught_up = await bench.settled(CATCH_UP_WITHIN)
    bench.visibility.forget_all()  # if not caught up: the open loop measures on the backlog
    return time.perf_counter() - started if caught_up else None


async def _open_loop(bench: _Bench, rate: float) -> Opened:
    """PUTs on a fixed timetable, each awaited in the read models up to the deadline.

    A PUT waits for a free connection when all are busy; that wait counts in its latency from
    the timetable (no coordinated omission), not in its round trip or its freshness.
    """
    due, record = asyncio.Queue[float | None](), _OpenRecord()
    scheduled = max(1, round(rate * bench.options.open_duration))
    start = _Counters.now(bench)
    await _timetable(bench, due, record, rate, scheduled)
    settled = await bench.settled(bench.options.deadline)
    spent = start.until_now(bench)
    return Opened(
        rate=rate,
        scheduled=scheduled,
        writes=record.writes,
        from_schedule=record.from_schedule,
        settled=settled,
        seconds=spent.wall,
        poller_cpu=spent.poller_cpu,
        poller_queries=spent.poller_queries,
        poller_ticks=spent.poller_ticks,
        cpu=spent.cpu,
    )


@dataclass(frozen=True)
class _Counters:
    """The wall clock, the poller's counters and the processes' CPU: at a moment, or since."""

    wall: float
    poller_cpu: float
    poller_queries: int
    poller_ticks: int
    cpu: Cpu

    @staticmethod
    def now(bench: _Bench) -> _Counters:
        visibility = bench.visibility
        return _Counters(
            time.perf_counter(),
            visibility.cpu,
            visibility.queries,
            visibility.ticks,
            bench.running.cpu(),
        )

    def until_now(self, bench: _Bench) -> _Counters:
        now = _Counters.now(bench)
        return _Counters(
            now.wall - self.wall,
            now.poller_cpu - self.poller_cpu,
            now.poller_queries - self.poller_queries,
            now.poller_ticks - self.poller_ticks,
            now.cpu - self.cpu,
        )


async def _timetable(
    bench: _Bench,
    due: asyncio.Queue[float | None],
    record: _OpenRecord,
    rate: float,
    scheduled: int,
) -> None:
    """The scheduled PUTs, each sent by the next free connection; those left unsent, failed."""
    tasks = [asyncio.create_task(_take_turns(bench, c, w, due, record)) for c, w in bench.pairs()]
    try:
        await phases.dispatch(due, rate, scheduled)
        for _ in tasks:
            due.put_nowait(None)
        await phases.drain(tasks, bench.tally)
    finally:
        _cancel(tasks)
    if unsent := sum(due.get_nowait() is not None for _ in range(due.qsize())):
        bench.tally.fail(f"{unsent} scheduled PUTs not sent within {phases.GRACE:.0f}s", unsent)


async def _take_turns(
    bench: _Bench,
    client: Client,
    writer: Writer,
    due: asyncio.Queue[float | None],
    record: _OpenRecord,
) -> None:
    while (at := await due.get()) is not None:
        write = await bench.send(client, writer, awaited=True)
        if write is not None and write.answered is not None:
            record.writes.append(write)
            record.from_schedule.append(write.answered - at)


def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()


async def run_phases(
    running: Deployment, visibility: Visibility, database: Path, options: Options
) -> Load:
    """The phases in turn, then each session's final versions against the acknowledged one."""
    authority = f"{phases.HOST}:{running.port}"
    writers = [
        Writer(authority, f"fresh-c{i}", options.slots, options.renew_every)
        for i in range(options.clients)
    ]
    pool = await phases.connected(running.port, options.clients)
    bench = _Bench(running, visibility, options, pool, writers, phases.Tally())
    try:
        first = await _first_writes(bench)
        closed = await _closed_loop(bench)
        running.check_alive()
        catch_up = await _catch_up(bench)
        rate = closed.rate / 2
        opened = await _open_loop(bench, rate) if rate >= 1 else None
        running.check_alive()
    finally:
        phases.close_all(pool)
    expected = {key: version for writer in writers for key, version in writer.known.items()}
    differ = mismatched(database, expected)
    return Load(first, closed, catch_up, opened, len(expected), differ, bench.tally)
