"""Freshness: how long after a PUT's 200 its version can be read in all three read models.

On what `make run` runs (a real `sessionstore run --no-demo`: SQLite files in a temp dir, the
process's own embedded broker), keep-alive clients first measure the closed-loop write rate;
then PUTs arrive on a fixed timetable at half that rate (open loop) while a poller thread in
this process reads the read-model file every millisecond or so, stamping the first moment each
acknowledged version is in v1, v2 and application-sessions alike. Freshness is that moment
minus the moment the 200 arrived. Its baseline, measured in the same open loop, is a PUT's
median round trip, so the figure reads "freshness p99 = N x a PUT".

The part is split by what each piece is: `writes` (the PUTs and the versions they
acknowledge), `visibility` (the poller on the read-model file), `load` (the phases),
`measurements` (their figures) and `report` (the table).
"""

from __future__ import annotations

import tempfile
import traceback
from pathlib import Path

from rich.console import Console
from rich.text import Text

from benchmarks import loadgen, server
from benchmarks.freshness.load import FreshnessError, Options, run_phases
from benchmarks.freshness.measurements import Result
from benchmarks.freshness.report import table
from benchmarks.freshness.visibility import Visibility

__all__ = ["FreshnessError", "Options", "Result", "measure", "run", "table"]


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
                load = loadgen.run(lambda: run_phases(running, visibility, database, options))
        return Result(load, options.poll_every, running.stopped_how, running.output())
