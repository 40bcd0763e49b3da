"""Freshness: how long after a PUT's 200 its version can be read in all three read models.

On what `make run` runs (a real `sessionstore run --no-demo`: SQLite files in a temp dir, the
process's own embedded broker), keep-alive clients first measure the closed-loop write rate;
then PUTs arrive on a fixed timetable at half that rate (open loop) while a poller thread in
this process reads the read-model file every millisecond or so, stamping the first moment each
acknowledged version is in v1, v2 and application-sessions alike. Freshness is that moment
minus the moment the 200 arrived. Its baseline, measured in the same open loop, is a PUT's
median round trip, so the figure reads "freshness p99 = N x a PUT".
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import statistics
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from rich.console import Console
from rich.table import Table
from rich.text import Text

from benchmarks import loadgen, phases, server
from benchmarks.loadgen import Client, put_request
from sessionstore.domain.keys import session_key

TABLES = ("v1_sessions", "v2_sessions", "application_sessions_sessions")
APPLICATION_ID = 1  # without SESSIONSTORE_API_KEYS every request belongs to application 1
P99_TARGET = 0.050  # seconds from the 200 to the version in all three read models
READY_WITHIN = 30.0  # the first writes wait for the projectors to join their consumer groups
CATCH_UP_WITHIN = 30.0  # for the closed loop's backlog, before the open loop starts
CHUNK = 900  # keys per statement: parameters stay under SQLite's oldest limit, 999
MMAP_BYTES = 256 << 20  # reads of the file without a syscall per page: a cheaper poller
SETTLE_POLL = 0.005


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


@dataclass(slots=True)
class Write:
    """One PUT's version: when it was sent, when its 200 arrived, when it was seen everywhere."""

    key: str
    version: int
    sent: float
    answered: float | None = None
    visible: float | None = None


class Put(NamedTuple):
    request: bytes
    slot: int
    key: str
    version: int  # the version a 200 to this request acknowledges


@dataclass
class _Slot:
    session: str = ""
    key: str = ""
    version: int = 0  # the last version acknowledged by a 200
    visits: int = 0
    abandoned: int = 0  # sessions given up after a failed PUT


class Writer:
    """One connection's PUTs, to its own sessions only, one at a time.

    So the version each 200 acknowledges is known without parsing the answer: a creation is
    version 1 and every PUT changes `attributes.step`, adding exactly one event. A failed PUT
    leaves its session's version unknown (it may have been stored), so its slot moves on to a
    fresh session. Slots renew staggered, so creations and updates stay mixed.
    """

    def __init__(self, authority: str, name: str, slots: int, renew_every: int) -> None:
        self.authority = authority
        self.name = name
        self.renew_every = renew_every
        self.sent = 0
        self.known: dict[str, int] = {}  # key -> version, of sessions whose every PUT got a 200
        self._slots = [_Slot() for _ in range(slots)]
        self._heads = [self._head(slot) for slot in range(slots)]

    def _head(self, slot: int) -> bytes:
        return (
            f'{{"customerSession":{{"profileId":"p-{self.name}-{slot}",'
            '"cartItems":[{"sku":"SKU-1","quantity":1,"price":9.99}],"attributes":{"step":'
        ).encode()

    def next(self) -> Put:
        number = self.sent % len(self._slots)
        self.sent += 1
        slot = self._slots[number]
        generation = (slot.visits + number) // self.renew_every
        slot.visits += 1
        session = f"{self.name}-{number}-{generation}-{slot.abandoned}"
        if session != slot.session:
            slot.session, slot.version = session, 0
            slot.key = str(session_key(APPLICATION_ID, session))
        body = self._heads[number] + str(self.sent).encode() + b"}}}"
        request = put_request(self.authority, phases.PATH + session, body)
        return Put(request, number, slot.key, slot.version + 1)

    def settle(self, put: Put, ok: bool) -> None:
        slot = self._slots[put.slot]
        assert slot.key == put.key, "one PUT at a time per writer"
        if ok:
            slot.version = put.version
            self.known[put.key] = put.version
        else:
            slot.abandoned += 1
            self.known.pop(put.key, None)


class Visibility:
    """A poller thread: the first moment each awaited version is in all three tables.

    A thread, so it polls on time whatever the load generator's event loop is doing (sqlite3
    lets go of the GIL while it reads). It keeps one read-only connection to the read-model
    file (WAL: it never blocks the projectors) and asks only for the keys still awaited, in one
    statement per chunk, so the three tables are read in one snapshot. A version counts as
    visible at the moment that statement started: the stamp errs late by at most one poll.

    To stay cheap (it shares the machine with the server it measures), a tick on which no
    other connection committed (`PRAGMA data_version` unchanged) asks only for the keys
    awaited since the last tick: nothing else can have changed.
    """

    def __init__(self, database: Path, every: float) -> None:
        self._uri = database.as_uri() + "?mode=ro"
        self._every = every
        self._lock = threading.Lock()
        self._awaited: dict[str, list[Write]] = {}
        self._new: set[str] = set()  # keys awaited since the last query
        self._seen_data: int | None = None  # `PRAGMA data_version` before the last full query
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="freshness-poller", daemon=True)
        self.cpu = 0.0  # the poller thread's own CPU seconds so far
        self.ticks = 0
        self.queries = 0
        self.errors = 0
        self.last_error = ""

    def __enter__(self) -> Visibility:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._thread.join(timeout=5.0)

    def expect(self, write: Write) -> None:
        with self._lock:
            self._awaited.setdefault(write.key, []).append(write)
            self._new.add(write.key)

    def forget(self, write: Write) -> None:
        with self._lock:
            left = [w for w in self._awaited.get(write.key, []) if w is not write]
            if left:
                self._awaited[write.key] = left
            else:
                self._awaited.pop(write.key, None)

    def forget_all(self) -> None:
        with self._lock:
            self._awaited.clear()

    def awaited(self) -> int:
        with self._lock:
            return sum(len(writes) for writes in self._awaited.values())

    async def settled(self, within: float, check: Callable[[], None]) -> bool:
        """Whether every awaited version was seen within `within` seconds.

        `check` raises if the server died: then nothing more will be seen, no use waiting.
        """
        deadline = time.perf_counter() + within
        while self.awaited():
            check()
            if time.perf_counter() >= deadline:
                return False
            await asyncio.sleep(SETTLE_POLL)
        return True

    def _run(self) -> None:
        started = time.thread_time()
        connection: sqlite3.Connection | None = None
        try:
            while not self._stopping.is_set():
                tick = time.perf_counter()
                connection = self._poll(connection)
                self.ticks += 1
                self.cpu = time.thread_time() - started
                rest = self._every - (time.perf_counter() - tick)
                if rest > 0:
                    time.sleep(rest)
        finally:
            if connection is not None:
                connection.close()

    def _poll(self, connection: sqlite3.Connection | None) -> sqlite3.Connection | None:
        """One round over the awaited keys; the connection to use next time (None: reopen)."""
        with self._lock:
            everything, new, self._new = list(self._awaited), self._new, set()
        if not everything:
            return connection
        try:
            connection = connection or read_only(self._uri)
            keys = self._to_ask(connection, everything, new)
            for at, seen in _visible_versions(connection, keys):
                self.queries += 1
                self._stamp(seen, at)
        except sqlite3.Error as error:  # e.g. tables not created yet: try again next tick
            self.errors += 1
            self.last_error = f"{type(error).__name__}: {error}"
            self._seen_data = None
            if connection is not None:
                connection.close()
            return None
        return connection

    def _to_ask(
        self, connection: sqlite3.Connection, everything: list[str], new: set[str]
    ) -> list[str]:
        """Every awaited key after a commit elsewhere, else only the newly awaited ones.

        The data version is read before the query: a commit landing in between is seen by the
        query and changes the version again, so the next tick asks for everything once more.
        """
        data = int(connection.execute("PRAGMA data_version").fetchone()[0])
        if data != self._seen_data:
            self._seen_data = data
            return everything
        return [key for key in everything if key in new]

    def _stamp(self, seen: dict[str, int], at: float) -> None:
        with self._lock:
            for key, version in seen.items():
                writes = self._awaited.get(key)
                if writes is None:
                    continue
                for write in writes:
                    if write.version <= version:
                        write.visible = at
                left = [w for w in writes if w.visible is None]
                if left:
                    self._awaited[key] = left
                else:
                    del self._awaited[key]


def read_only(uri: str) -> sqlite3.Connection:
    """Autocommit, so every statement reads the latest commit."""
    connection = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=1.0)
    connection.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    return connection


def _visible_versions(
    connection: sqlite3.Connection, keys: list[str]
) -> Iterator[tuple[float, dict[str, int]]]:
    """Per chunk of keys: when its statement started, and each key's version in all tables."""
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        at = time.perf_counter()
        rows = connection.execute(_query(len(chunk)), chunk).fetchall()
        yield at, {str(key): int(version) for key, version in rows}


@functools.lru_cache(maxsize=CHUNK + 1)
def _query(count: int) -> str:
    """Each key's lowest version over the tables; a key missing from one is not returned."""
    first, *others = TABLES
    joins = " ".join(
        f"JOIN {table} t{n} ON t{n}.session_key = t0.session_key"
        for n, table in enumerate(others, 1)
    )
    versions = ", ".join(f"t{n}.version" for n in range(len(TABLES)))
    marks = ",".join("?" * count)
    return (
        f"SELECT t0.session_key, MIN({versions}) FROM {first} t0 {joins} "
        f"WHERE t0.session_key IN ({marks})"
    )


def mismatched(database: Path, expected: dict[str, int]) -> int:
    """Sessions whose version differs from the acknowledged one in any table (or is missing)."""
    connection = read_only(database.as_uri() + "?mode=ro")
    try:
        differ = 0
        for table in TABLES:
            stored = dict(connection.execute(f"SELECT session_key, version FROM {table}"))
            differ += sum(stored.get(key) != version for key, version in expected.items())
        return differ
    finally:
        connection.close()


# -- the load -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Closed:
    requests: int
    seconds: float
    server_cpu: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class Opened:
    rate: float
    scheduled: int
    writes: list[Write]
    from_schedule: list[float]  # each 200's latency from its due time (queueing included)
    settled: bool
    seconds: float  # from the first due time to the last version seen (or the deadline)
    poller_cpu: float
    poller_queries: int
    poller_ticks: int
    server_cpu: float

    @property
    def freshness(self) -> list[float]:
        return [
            w.visible - w.answered
            for w in self.writes
            if w.visible is not None and w.answered is not None
        ]

    @property
    def never_visible(self) -> int:
        return sum(w.visible is None for w in self.writes)

    @property
    def round_trip(self) -> float:
        """The baseline: a PUT's median time from sending it to its 200."""
        trips = [w.answered - w.sent for w in self.writes if w.answered is not None]
        return statistics.median(trips) if trips else float("nan")


@dataclass(frozen=True)
class Load:
    first_visible: float  # seconds until the first writes were in all three read models
    closed: Closed
    catch_up: float | None  # None: the closed loop's backlog not projected in time
    opened: Opened | None
    checked: int  # sessions whose final version was compared with the acknowledged one
    mismatched: int
    tally: phases.Tally


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

    running: server.Server
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
        cpu = bench.running.cpu_seconds()
        await asyncio.sleep(bench.options.duration)
        end, window.measuring, window.stopped = time.perf_counter(), False, True
        cpu = bench.running.cpu_seconds() - cpu
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
    visibility, running = bench.visibility, bench.running
    due, record = asyncio.Queue[float | None](), _OpenRecord()
    scheduled = max(1, round(rate * bench.options.open_duration))
    start = time.perf_counter()
    cpu, queries, ticks = visibility.cpu, visibility.queries, visibility.ticks
    server_cpu = running.cpu_seconds()
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
    settled = await bench.settled(bench.options.deadline)
    return Opened(
        rate=rate,
        scheduled=scheduled,
        writes=record.writes,
        from_schedule=record.from_schedule,
        settled=settled,
        seconds=time.perf_counter() - start,
        poller_cpu=visibility.cpu - cpu,
        poller_queries=visibility.queries - queries,
        poller_ticks=visibility.ticks - ticks,
        server_cpu=running.cpu_seconds() - server_cpu,
    )


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


async def _phases(
    running: server.Server, visibility: Visibility, database: Path, options: Options
) -> Load:
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


# -- running and reporting ------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    load: Load
    poll_every: float
    stopped_how: str
    server_log: str  # its tail: at log level WARNING, anything there is worth a look


def run(options: Options, console: Console) -> bool:
    """The freshness table; False if it could not be measured."""
    try:
        result = measure(options, console)
    except Exception as error:
        console.print(Text(f"freshness failed: {error}", style="red"))
        console.print(traceback.format_exc(), markup=False, highlight=False)
        return False
    console.print(table(result, options))
    for text in result.load.tally.failures:
        console.print(Text("non-200: ", style="red") + Text(text), highlight=False)
    if result.server_log.strip():
        console.print(Text("server log, last lines:", style="yellow"))
        console.print(result.server_log, markup=False, highlight=False)
    return True


def measure(options: Options, console: Console) -> Result:
    """A fresh `sessionstore run --no-demo` in a temp dir, removed with it on the way out."""
    with tempfile.TemporaryDirectory(prefix="bench-fresh-") as tmp:
        directory = Path(tmp)
        database = directory / "readmodels.db"
        urls = (f"sqlite:///{directory / 'events.db'}", f"sqlite:///{database}")
        with server.running(*urls, directory / "server.log", everything=True) as running:
            console.print(f"[dim]freshness: run pid {running.pid} on :{running.port}…[/dim]")
            with Visibility(database, options.poll_every) as visibility:
                load = loadgen.run(lambda: _phases(running, visibility, database, options))
        return Result(load, options.poll_every, running.stopped_how, running.output())


def table(result: Result, options: Options) -> Table:
    load = result.load
    grid = Table(
        title="Freshness on `sessionstore run` (SQLite files, embedded broker)",
        caption=_caption(result),
    )
    for column in ("measure", "figure", "vs baseline", "target"):
        grid.add_column(column)
    opened = load.opened
    if opened is None:
        grid.add_row("open loop", "not run (no throughput)", "", "")
    else:
        _open_rows(grid, opened, options)
    closed = load.closed
    grid.add_row(
        f"write rate, closed loop, {options.clients} clients",
        f"{closed.rate:,.0f} PUT/s, server {closed.server_cpu / closed.seconds:.0%} of a core",
        "",
        "",
    )
    grid.add_row(*_catch_up_row(load))
    failed = load.tally.failed
    grid.add_row("non-200 answers", f"{failed}", "", _target("0", failed == 0))
    grid.add_row(
        "final versions = acknowledged",
        f"{load.checked:,} sessions x 3 tables, {load.mismatched} differ",
        "",
        _target("0", load.mismatched == 0),
    )
    return grid


def _open_rows(grid: Table, opened: Opened, options: Options) -> None:
    base = opened.round_trip
    fresh = opened.freshness
    p50, p99 = phases.percentiles(fresh)
    worst = max(fresh, default=float("nan"))
    never = opened.never_visible
    grid.add_row("baseline: a PUT's round trip, median", _ms(base), "1.00x", "")
    grid.add_row(
        "open loop (half the closed loop)",
        f"{opened.rate:,.0f} PUT/s, {len(opened.writes):,} of {opened.scheduled:,} answered 200",
        "",
        "",
    )
    grid.add_row("freshness p50 (200 -> in all 3)", _ms(p50), _times(p50, base), "")
    grid.add_row(
        "freshness p99",
        _ms(p99),
        _times(p99, base),
        _target(f"p99 <= {P99_TARGET * 1000:.0f} ms", p99 <= P99_TARGET and never == 0),
    )
    grid.add_row("freshness max", _ms(worst), _times(worst, base), "")
    grid.add_row(
        f"never visible within {options.deadline:.0f} s", f"{never}", "", _target("0", never == 0)
    )
    seconds = opened.seconds
    per_query = opened.poller_cpu / opened.poller_queries if opened.poller_queries else 0.0
    grid.add_row(
        "poller CPU (thread in this process)",
        f"{opened.poller_cpu / seconds:.0%} of a core, {_ms(per_query)} per query",
        "",
        "",
    )
    grid.add_row(
        "server CPU in the open loop",
        f"{opened.server_cpu / seconds:.0%} of a core",
        "",
        "",
    )


def _catch_up_row(load: Load) -> tuple[str, ...]:
    caught = load.catch_up
    figure = f"{caught:.2f} s" if caught is not None else f"not within {CATCH_UP_WITHIN:.0f} s"
    return (
        "closed loop's backlog projected after",
        figure,
        "",
        _target("caught up", caught is not None),
    )


def _caption(result: Result) -> str:
    load, opened = result.load, result.load.opened
    open_loop = ""
    if opened is not None:
        early = sum(f < 0 for f in opened.freshness)
        _, p99 = phases.percentiles(opened.from_schedule)
        tick = opened.seconds / opened.poller_ticks if opened.poller_ticks else float("nan")
        open_loop = (
            f"open loop: PUT p99 from its due time {_ms(p99)}; {early} versions seen before "
            f"their 200 arrived (negative freshness); poller ticked every {_ms(tick)} on "
            f"average (target {_ms(result.poll_every)}), {opened.poller_queries:,} queries, "
            "read-only on readmodels.db; "
        )
    return (
        f"first writes in all 3 read models after {load.first_visible:.1f} s (consumer groups "
        f"joining); closed loop {load.closed.requests:,} PUTs in {load.closed.seconds:.1f} s; "
        f"{open_loop}load generator on {loadgen.event_loop_name()} in this process; "
        f"server stop: {result.stopped_how}"
    )


def _times(seconds: float, base: float) -> str:
    return f"{seconds / base:.1f}x a PUT"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms"


def _target(text: str, met: bool) -> str:
    return f"[green]{text} ok[/green]" if met else f"[red]{text} missed[/red]"
