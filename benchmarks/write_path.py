"""HTTP write path: a real `sessionstore serve` under load, against plain eventsourcing saves.

Per backend (a SQLite file, a fresh PostgreSQL schema): the baseline is a plain eventsourcing
Application saving one small event per save() on the same backend, single-threaded, measured
in the same run. Then a server process takes PUTs from N keep-alive clients (closed loop), a
fixed arrival rate at half that throughput (open loop), and a growing history on one session.
The load generator runs in this process; its CPU per request is reported beside the server's.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from benchmarks import backends, baseline, loadgen, phases, server
from benchmarks.backends import Backend

THROUGHPUT_TARGETS = {"sqlite": 1.0, "postgresql": 1.5}  # PUT/s over baseline saves/s
P99_TARGET = 0.050  # seconds, at half the closed-loop throughput
HISTORY_TARGET = 1.5  # time at the late version over time at the early one
WIDTH_OFF_TERMINAL = 120


@dataclass(frozen=True)
class Options:
    backends: tuple[str, ...] = ("sqlite", "postgresql")
    workers: tuple[int, ...] = (1, 2)  # `serve --workers N`, each measured on its own
    postgres: str = "postgresql://postgres@127.0.0.1:5432/test"
    clients: int = 32
    slots: int = 20  # session ids each client cycles over
    renew_every: int = 10  # visits before a slot moves on to a fresh session id
    warmup: float = 1.0
    duration: float = 5.0
    open_duration: float = 5.0
    baseline_seconds: float = 2.5
    early: int = 10
    late: int = 1000
    samples: int = 50


@dataclass(frozen=True)
class Load:
    closed: phases.ClosedLoop
    open: phases.OpenLoop | None
    history: phases.History


@dataclass(frozen=True)
class Result:
    key: str
    backend: str
    workers: int
    base: baseline.Baseline
    load: Load
    stopped_how: str
    server_log: str  # its tail: at log level WARNING, anything there is worth a look


def run(options: Options, console: Console) -> bool:
    """One table per backend; False if any backend could not be measured."""
    ok = True
    for key, workers in ((k, w) for k in options.backends for w in options.workers):
        try:
            result = measure(key, workers, options, console)
        except Exception as error:
            console.print(Text(f"HTTP write path on {key} failed: {error}", style="red"))
            console.print(traceback.format_exc(), markup=False, highlight=False)
            ok = False
            continue
        console.print(table(result, options))
        _print_failures(result, console)
        _print_server_log(result, console)
    return ok


def measure(key: str, workers: int, options: Options, console: Console) -> Result:
    with backends.OPENERS[key](options.postgres) as backend:
        console.print(f"[dim]{backend.name}: baseline eventsourcing saves…[/dim]")
        base = baseline.measure(backend.baseline_env, options.baseline_seconds)
        load, stopped_how, log = _load_server(backend, workers, options, console)
    return Result(key, backend.name, workers, base, load, stopped_how, log)


def _load_server(
    backend: Backend, workers: int, options: Options, console: Console
) -> tuple[Load, str, str]:
    log = backend.directory / "server.log"
    urls = (backend.database_url, backend.readmodel_url)
    with server.running(*urls, log, workers=workers) as running:
        console.print(f"[dim]{backend.name}: server pid {running.pid} on :{running.port}…[/dim]")
        load = loadgen.run(lambda: _phases(running, options, console))
        running.check_alive()
    return load, running.stopped_how, running.output()


async def _phases(running: server.Server, options: Options, console: Console) -> Load:
    writers = phases.writers(running.port, options.clients, options.slots, options.renew_every)
    closed = await phases.closed_loop(
        running.port,
        running.cpu_seconds,
        writers,
        warmup=options.warmup,
        duration=options.duration,
    )
    running.check_alive()
    console.print(f"[dim]  closed loop: {closed.rate:,.0f} PUT/s; open loop at half…[/dim]")
    opened = await _open_loop(running.port, writers, closed.rate / 2, options)
    running.check_alive()
    console.print(f"[dim]  history up to version {options.late + options.samples}…[/dim]")
    history = await phases.history(
        running.port, early=options.early, late=options.late, samples=options.samples
    )
    return Load(closed, opened, history)


async def _open_loop(
    port: int, writers: list[phases.Writer], rate: float, options: Options
) -> phases.OpenLoop | None:
    if rate < 1:
        return None
    return await phases.open_loop(port, writers, rate=rate, duration=options.open_duration)


def table(result: Result, options: Options) -> Table:
    closed, base = result.load.closed, result.base
    processes = "1 process" if result.workers == 1 else f"--workers {result.workers}"
    grid = Table(
        title=f"HTTP write path on {result.backend}, serve {processes}",
        caption=_caption(result, options),
    )
    for column in ("measure", "figure", "vs baseline", "target"):
        grid.add_column(column)
    grid.add_row(
        "baseline: eventsourcing save()",
        f"{base.saves_per_second:,.0f}/s, {_ms(base.cpu_per_save)} CPU each",
        "1.00x",
        "",
    )
    grid.add_row(*_throughput_row(result, options))
    failed = _failed(result.load)
    grid.add_row("non-200 answers", f"{failed}", "", _target("0", failed == 0))
    grid.add_row(*_cpu_row("load generator", closed.loadgen_cpu, closed, base))
    grid.add_row(*_cpu_row("server", closed.server_cpu, closed, base))
    grid.add_row(*_latency_row(result.load.open, base))
    history = result.load.history
    early, late = history.versions
    for verb, ratio, seconds in (
        ("PUT", history.put_ratio, history.put_seconds),
        ("GET", history.get_ratio, history.get_seconds),
    ):
        grid.add_row(
            f"{verb} at v{late} / v{early}",
            f"{_ms(seconds[1])} / {_ms(seconds[0])}",
            f"{ratio:.2f}",
            _target(f"<= {HISTORY_TARGET}", ratio <= HISTORY_TARGET),
        )
    return grid


def _throughput_row(result: Result, options: Options) -> tuple[str, ...]:
    closed, target = result.load.closed, THROUGHPUT_TARGETS[result.key]
    ratio = closed.rate / result.base.saves_per_second
    creations = closed.creations / closed.requests if closed.requests else 0.0
    return (
        f"PUT/s, {options.clients} clients ({creations:.0%} new)",
        f"{closed.rate:,.0f}/s",
        f"{ratio:.2f}x",
        _target(f">= {target}x", ratio >= target),
    )


def _cpu_row(
    who: str, cpu: float, closed: phases.ClosedLoop, base: baseline.Baseline
) -> tuple[str, ...]:
    per_request = closed.per_request(cpu)
    return (
        f"{who} CPU/request",
        f"{_ms(per_request)}, {cpu / closed.seconds:.0%} of a core",
        f"{per_request / base.cpu_per_save:.2f}x a save",
        "",
    )


def _latency_row(opened: phases.OpenLoop | None, base: baseline.Baseline) -> tuple[str, ...]:
    if opened is None:
        return ("p50 / p99 at half load", "not run (no throughput)", "", "")
    per_save = base.seconds_per_save
    return (
        f"p50 / p99 at {opened.rate:,.0f}/s (half)",
        f"{_ms(opened.p50)} / {_ms(opened.p99)}",
        f"{opened.p50 / per_save:.1f}x / {opened.p99 / per_save:.1f}x a save",
        _target(f"p99 < {P99_TARGET * 1000:.0f} ms", opened.p99 < P99_TARGET),
    )


def _caption(result: Result, options: Options) -> str:
    load = result.load
    expected = options.late + options.samples
    version = load.history.final_version
    check = "" if version == expected else f" [red](expected {expected})[/red]"
    open_loop = (
        f"open loop: {load.open.scheduled:,} PUTs, worst {_ms(load.open.worst)}, load generator "
        f"{_ms(load.open.loadgen_cpu / load.open.scheduled)} CPU/request; "
        if load.open
        else ""
    )
    return (
        f"closed loop: {load.closed.requests:,} PUTs in {load.closed.seconds:.1f} s after "
        f"{options.warmup:.0f} s warm-up; {open_loop}"
        f"history: medians of {options.samples}, ended at version {version}{check}; "
        f"load generator on {loadgen.event_loop_name()} in this process; "
        f"server stop: {result.stopped_how}"
    )


def _failed(load: Load) -> int:
    return sum(tally.failed for tally in _tallies(load))


def _tallies(load: Load) -> list[phases.Tally]:
    opened = [load.open.tally] if load.open else []
    return [load.closed.tally, *opened, load.history.tally]


def _print_failures(result: Result, console: Console) -> None:
    for tally in _tallies(result.load):
        for text in tally.failures:
            console.print(Text("non-200: ", style="red") + Text(text), highlight=False)


def _print_server_log(result: Result, console: Console) -> None:
    if result.server_log.strip():
        console.print(Text(f"server log ({result.backend}), last lines:", style="yellow"))
        console.print(result.server_log, markup=False, highlight=False)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms"


def console() -> Console:
    """The terminal's width on a terminal; wide enough for the tables in a log."""
    terminal = Console()
    return terminal if terminal.is_terminal else Console(width=WIDTH_OFF_TERMINAL)


def _target(text: str, met: bool) -> str:
    return f"[green]{text} ok[/green]" if met else f"[red]{text} missed[/red]"
