"""Write-side throughput: commands on SQLite and PostgreSQL against the pure domain's speed.

The baseline is folding the same events in memory (no I/O), measured in the same run, so the
ratios say what storage costs and stay comparable between machines.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from decimal import Decimal

from rich.console import Console
from rich.progress import track
from rich.table import Table

from benchmarks import replay
from sessionstore.application import SessionStore
from sessionstore.bootstrap import build_store
from sessionstore.config import Settings
from sessionstore.domain.cart import CartItem
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.events import SessionEvents
from sessionstore.domain.session import fold

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def _update(n: int) -> SessionUpdate:
    return SessionUpdate(
        cart_items=tuple(
            CartItem(sku=f"SKU-{i}", quantity=1 + i % 3, price=Decimal("9.99"))
            for i in range(n % 5 + 1)
        ),
        attributes={"step": n},
    )


def _drive(store: SessionStore, sessions: int, updates: int, label: str) -> float:
    started = time.perf_counter()
    for s in track(range(sessions), description=label, transient=True):
        for n in range(updates):
            store.update_session(1, f"bench-{s}", _update(n))
        store.update_session(1, f"bench-{s}", SessionUpdate(state="closed"))
    return time.perf_counter() - started


def _measure(run: Callable[[], float]) -> tuple[float, float]:
    tracemalloc.start()
    seconds = run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--updates", type=int, default=5)
    parser.add_argument("--replay-events", type=int, default=100_000)
    args = parser.parse_args()
    commands = args.sessions * (args.updates + 1)
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = build_store(Settings(database_url=f"sqlite:///{tmp}/bench.db"))
        postgres = build_store(
            Settings(database_url=f"{POSTGRES}?schema=bench_{uuid.uuid4().hex[:8]}")
        )
        rows = {
            "sqlite file": _measure(lambda: _drive(sqlite, args.sessions, args.updates, "sqlite")),
            "postgresql": _measure(
                lambda: _drive(postgres, args.sessions, args.updates, "postgres")
            ),
        }
        histories = [
            sqlite.session_events(sqlite.get_session(1, f"bench-{s}").key)
            for s in range(args.sessions)
        ]
        baseline = _measure(lambda: _fold_all(histories))
        sqlite.close()
        postgres.close()
    table = Table(title=f"{commands} commands on {args.sessions} sessions")
    for column in ("part", "seconds", "ratio to baseline", "peak MB"):
        table.add_column(column)
    table.add_row("fold in memory (baseline)", f"{baseline[0]:.3f}", "1.0", f"{baseline[1]:.1f}")
    for name, (seconds, peak) in rows.items():
        table.add_row(name, f"{seconds:.3f}", f"{seconds / baseline[0]:.1f}", f"{peak:.1f}")
    Console().print(table)
    with tempfile.TemporaryDirectory() as tmp:
        store = build_store(Settings(database_url=f"sqlite:///{tmp}/replay.db"))
        summary, fold_seconds = replay.replay(store, f"sqlite:///{tmp}/rm.db", args.replay_events)
        store.close()
    Console().print(
        f"replay: {summary.events} events of {summary.sessions} sessions into 3 read models in "
        f"{summary.seconds:.1f} s = {summary.rate:,.0f} events/s; "
        f"{summary.seconds / fold_seconds:.1f}x the in-memory fold and render of the same events"
    )


def _fold_all(histories: list[list[SessionEvents]]) -> float:
    started = time.perf_counter()
    for events in histories:
        fold(events)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
