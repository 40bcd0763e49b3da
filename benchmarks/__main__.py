"""Benchmarks; every figure is a ratio against a baseline measured in the same run.

- write: commands on SQLite and PostgreSQL against folding the same events in memory (no I/O),
  so the ratios say what storage costs and stay comparable between machines;
- replay: rebuilding the three read models from 100k stored events against the in-memory fold;
- http: a real `sessionstore serve` under HTTP load against plain eventsourcing saves on the
  same backend (see benchmarks/write_path.py);
- freshness: on a real `sessionstore run`, and on `serve`, `relay` and the three projectors as
  separate processes, the time from a PUT's 200 to its version in all three read models,
  against a PUT's round trip (see benchmarks/freshness/).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import sql
from rich.console import Console
from rich.progress import track
from rich.table import Table

from benchmarks import backends, freshness, replay, write_path
from sessionstore.adapters.broker import EmbeddedBroker
from sessionstore.application import SessionStore
from sessionstore.bootstrap import build_store
from sessionstore.config import Settings
from sessionstore.domain.cart import CartItem
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.events import SessionEvents
from sessionstore.domain.session import fold

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
PARTS = ("write", "replay", "http", "freshness")


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
    args = _parser().parse_args()
    parts = args.only or list(PARTS)
    if "write" in parts:
        _write_side(args)
    if "replay" in parts:
        _replay(args)
    failed = False  # a part that fails does not keep the later ones from running
    if "http" in parts and not write_path.run(_http_options(args), write_path.console()):
        failed = True
    if "freshness" in parts and not freshness.run(_freshness_options(args), write_path.console()):
        failed = True
    if failed:
        sys.exit(1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        help="run only this part (repeatable); default: all of " + ", ".join(PARTS),
    )
    parser.add_argument("--postgres", default=POSTGRES, help="PostgreSQL database to use")
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--updates", type=int, default=5)
    parser.add_argument("--replay-events", type=int, default=100_000)
    parser.add_argument(
        "--replay-memory-events",
        type=int,
        default=1_000_000,
        help="events of the larger memory measurement (the smaller has a quarter)",
    )
    http = write_path.Options()
    parser.add_argument(
        "--http-backends",
        type=_backends,
        default=http.backends,
        help="comma-separated, of " + ", ".join(backends.OPENERS),
    )
    parser.add_argument("--http-clients", type=int, default=http.clients)
    parser.add_argument(
        "--http-duration",
        type=float,
        default=http.duration,
        help="seconds of the closed loop and of the open loop, each",
    )
    parser.add_argument(
        "--http-history", type=int, default=http.late, help="the late version of the history"
    )
    _freshness_arguments(parser)
    return parser


def _freshness_arguments(parser: argparse.ArgumentParser) -> None:
    fresh = freshness.Options()
    parser.add_argument(
        "--freshness-clients",
        type=int,
        default=fresh.clients,
        help="connections of the freshness part's closed and open loops",
    )
    parser.add_argument(
        "--freshness-duration",
        type=float,
        default=fresh.open_duration,
        help="seconds of the freshness part's open loop",
    )
    parser.add_argument(
        "--freshness-shapes",
        type=_shapes,
        default=fresh.shapes,
        help="comma-separated, of " + ", ".join(freshness.SHAPES) + " (run: one `sessionstore "
        "run`; parts: `serve`, `relay` and 3 x `project` as processes); default: both",
    )


def _freshness_options(args: argparse.Namespace) -> freshness.Options:
    return freshness.Options(
        clients=args.freshness_clients,
        open_duration=args.freshness_duration,
        shapes=args.freshness_shapes,
    )


def _shapes(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names or any(name not in freshness.SHAPES for name in names):
        raise argparse.ArgumentTypeError(f"expected some of {', '.join(freshness.SHAPES)}")
    return names


def _backends(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in backends.OPENERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"expected some of {', '.join(backends.OPENERS)}")
    return names


def _http_options(args: argparse.Namespace) -> write_path.Options:
    return write_path.Options(
        backends=args.http_backends,
        postgres=args.postgres,
        clients=args.http_clients,
        duration=args.http_duration,
        open_duration=args.http_duration,
        late=args.http_history,
    )


def _write_side(args: argparse.Namespace) -> None:
    commands = args.sessions * (args.updates + 1)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = build_store(Settings(database_url=f"sqlite:///{tmp}/bench.db"))
        postgres = build_store(Settings(database_url=f"{args.postgres}?schema={schema}"))
        try:
            rows = {
                "sqlite file": _measure(
                    lambda: _drive(sqlite, args.sessions, args.updates, "sqlite")
                ),
                "postgresql": _measure(
                    lambda: _drive(postgres, args.sessions, args.updates, "postgres")
                ),
            }
            histories = [
                sqlite.session_events(sqlite.get_session(1, f"bench-{s}").key)
                for s in range(args.sessions)
            ]
            baseline = _measure(lambda: _fold_all(histories))
        finally:
            sqlite.close()
            postgres.close()
            _drop_schema(args.postgres, schema)
    table = Table(title=f"{commands} commands on {args.sessions} sessions")
    for column in ("part", "seconds", "ratio to baseline", "peak MB"):
        table.add_column(column)
    table.add_row("fold in memory (baseline)", f"{baseline[0]:.3f}", "1.0", f"{baseline[1]:.1f}")
    for name, (seconds, peak) in rows.items():
        table.add_row(name, f"{seconds:.3f}", f"{seconds / baseline[0]:.1f}", f"{peak:.1f}")
    Console().print(table)


def _drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _replay(args: argparse.Namespace) -> None:
    events, memory_events = args.replay_events, args.replay_memory_events
    console = Console()
    table = Table(title=f"Rebuilding the three read models (SQLite files; {events:,} events)")
    for column in ("measure", "figure", "vs baseline", "target"):
        table.add_column(column)
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(Path(tmp) / "broker.log") as broker:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/events.db",
            readmodel_url=f"sqlite:///{tmp}/live.db",
            kafka_bootstrap=broker.bootstrap,
            kafka_idempotence=False,
        )
        store = build_store(settings)
        replay.write_events(store, events)
        figures = [
            replay.from_store(store, settings, f"sqlite:///{tmp}/from-store.db"),
            replay.from_kafka(store, settings, f"sqlite:///{tmp}/from-kafka.db", events),
        ]
        store.close()
        for figure in figures:
            ok = figure.ratio >= figure.target
            table.add_row(
                f"baseline: {figure.baseline}",
                f"{figure.events / figure.baseline_seconds:,.0f} events/s",
                "1.00x",
                "",
            )
            table.add_row(
                figure.what,
                f"{figure.events / figure.seconds:,.0f} events/s",
                f"{figure.ratio:.2f}x",
                f">= {figure.target}x {'ok' if ok else 'missed'}",
            )
        peaks = [_peak(Path(tmp), n) for n in (memory_events // 4, memory_events)]
    table.add_row(
        f"peak memory of `replay`, {memory_events // 4:,} events",
        f"{peaks[0]:.0f} MB",
        "1.00x",
        "",
    )
    flat = peaks[1] < 200 and peaks[1] / peaks[0] < 1.25
    table.add_row(
        f"peak memory of `replay`, {memory_events:,} events",
        f"{peaks[1]:.0f} MB",
        f"{peaks[1] / peaks[0]:.2f}x",
        f"< 200 MB, flat {'ok' if flat else 'missed'}",
    )
    console.print(table)
    console.print(
        "[dim]events written through the domain in bulk; the Kafka topic filled by the relay; "
        "baselines: the best of three runs; peak memory: the replay process and its workers, "
        "their PSS summed, sampled every 10 ms[/dim]"
    )


def _peak(directory: Path, events: int) -> float:
    url = f"sqlite:///{directory}/memory-{events}.db"
    store = build_store(Settings(database_url=url))
    replay.write_events(store, events)
    store.close()
    return replay.peak_memory_mb(url, f"sqlite:///{directory}/memory-{events}-rm.db")


def _fold_all(histories: list[list[SessionEvents]]) -> float:
    started = time.perf_counter()
    for events in histories:
        fold(events)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
