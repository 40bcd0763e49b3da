"""Freshness: how long after a PUT's 200 its version can be read in all three read models.

On each shape of sessionstore (`deployment`): a real `sessionstore run --no-demo` (what `make
run` runs: everything in one process, its own embedded broker), and the production shape on
one machine (`serve`, `relay` and the three `project NAME` as separate processes, one embedded
broker started from here), each on SQLite files in a temp dir of its own. Keep-alive clients
first measure the closed-loop write rate; then PUTs arrive on a fixed timetable at half that
rate (open loop) while a poller thread in this process reads the read-model file every
millisecond or so, stamping the first moment each acknowledged version is in v1, v2 and
application-sessions alike. Freshness is that moment minus the moment the 200 arrived. Its
baseline, measured in the same open loop, is a PUT's median round trip, so the figure reads
"freshness p99 = N x a PUT".

The part is split by what each piece is: `deployment` (the processes of a shape), `writes`
(the PUTs and the versions they acknowledge), `visibility` (the poller on the read-model file),
`load` (the phases), `measurements` (their figures) and `report` (the table).
"""

from __future__ import annotations

import tempfile
import traceback
from pathlib import Path

from rich.console import Console
from rich.text import Text

from benchmarks import loadgen
from benchmarks.freshness.deployment import SHAPES, deployed
from benchmarks.freshness.load import FreshnessError, Options, run_phases
from benchmarks.freshness.measurements import Result
from benchmarks.freshness.report import table
from benchmarks.freshness.visibility import Visibility

__all__ = ["SHAPES", "FreshnessError", "Options", "Result", "measure", "run", "table"]


def run(options: Options, console: Console) -> bool:
    """A freshness table per shape; False if any could not be measured (the others still are)."""
    measured = [_run_shape(shape, options, console) for shape in options.shapes]
    return all(measured)


def _run_shape(shape: str, options: Options, console: Console) -> bool:
    try:
        result = measure(shape, options, console)
    except Exception as error:
        console.print(Text(f"freshness ({shape}) failed: {error}", style="red"))
        console.print(traceback.format_exc(), markup=False, highlight=False)
        return False
    console.print(table(result, options))
    for text in result.load.tally.failures:
        console.print(Text("non-200: ", style="red") + Text(text), highlight=False)
    if result.logs.strip():
        console.print(Text(f"{shape}: logs, last lines:", style="yellow"))
        console.print(result.logs, markup=False, highlight=False)
    return True


def measure(shape: str, options: Options, console: Console) -> Result:
    """The shape's processes in a temp dir, stopped and removed with it on the way out."""
    with tempfile.TemporaryDirectory(prefix=f"bench-fresh-{shape}-") as tmp:
        directory = Path(tmp)
        database = directory / "readmodels.db"
        with deployed(shape, directory) as running:
            pids = ", ".join(f"{p.command} {p.pid}" for p in running.processes)
            console.print(f"[dim]freshness ({shape}): {pids}; PUTs to :{running.port}…[/dim]")
            with Visibility(database, options.poll_every) as visibility:
                load = loadgen.run(lambda: run_phases(running, visibility, database, options))
        return Result(
            shape,
            running.title,
            running.others,
            load,
            options.poll_every,
            running.stopped_how(),
            running.logs(),
        )
