"""The freshness table: the open loop's freshness against a PUT's round trip, then the checks."""

from __future__ import annotations

from rich.table import Table

from benchmarks import loadgen, phases
from benchmarks.freshness.load import CATCH_UP_WITHIN, Options
from benchmarks.freshness.measurements import Load, Opened, Result

P99_TARGET = 0.050  # seconds from the 200 to the version in all three read models


def table(result: Result, options: Options) -> Table:
    load = result.load
    grid = Table(title=result.title, caption=_caption(result))
    for column in ("measure", "figure", "vs baseline", "target"):
        grid.add_column(column)
    opened = load.opened
    if opened is None:
        grid.add_row("open loop", "not run (no throughput)", "", "")
    else:
        _open_rows(grid, result, opened, options)
    grid.add_row(*_closed_row(load, options))
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


def _open_rows(grid: Table, result: Result, opened: Opened, options: Options) -> None:
    base = opened.round_trip
    grid.add_row("baseline: a PUT's round trip, median", _ms(base), "1.00x", "")
    grid.add_row(
        "open loop (half the closed loop)",
        f"{opened.rate:,.0f} PUT/s, {len(opened.writes):,} of {opened.scheduled:,} answered 200",
        "",
        "",
    )
    _freshness_rows(grid, opened, options, base)
    _cpu_rows(grid, result, opened)


def _freshness_rows(grid: Table, opened: Opened, options: Options, base: float) -> None:
    fresh = opened.freshness
    p50, p99 = phases.percentiles(fresh)
    worst = max(fresh, default=float("nan"))
    never = opened.never_visible
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


def _cpu_rows(grid: Table, result: Result, opened: Opened) -> None:
    seconds = opened.seconds
    per_query = opened.poller_cpu / opened.poller_queries if opened.poller_queries else 0.0
    grid.add_row(
        "poller CPU (thread in this process)",
        f"{opened.poller_cpu / seconds:.0%} of a core, {_ms(per_query)} per query",
        "",
        "",
    )
    cpu = opened.cpu.share(seconds)
    grid.add_row("server CPU in the open loop", f"{cpu.server:.0%} of a core", "", "")
    grid.add_row(
        "other processes' CPU in the open loop, summed",
        f"{cpu.others:.0%} of a core ({result.others}); all {cpu.total:.0%}",
        "",
        "",
    )


def _closed_row(load: Load, options: Options) -> tuple[str, ...]:
    closed = load.closed
    cpu = closed.cpu.share(closed.seconds)
    return (
        f"write rate, closed loop, {options.clients} clients",
        f"{closed.rate:,.0f} PUT/s, CPU: server {cpu.server:.0%}, others {cpu.others:.0%} "
        "of a core",
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
        f"stop: {result.stopped_how}"
    )


def _times(seconds: float, base: float) -> str:
    return f"{seconds / base:.1f}x a PUT"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms"


def _target(text: str, met: bool) -> str:
    return f"[green]{text} ok[/green]" if met else f"[red]{text} missed[/red]"
