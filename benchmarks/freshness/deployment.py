"""What the freshness part measures: sessionstore in one of its shapes, on SQLite files.

- `run`: one `sessionstore run --no-demo` process (HTTP API, relay, the three projectors) with
  its own embedded broker as a child process: what `make run` runs;
- `parts`: the production shape on one machine: an embedded broker started from here, then
  `serve`, `relay` and `project all` (one projector writing the three read models of the
  SQLite file in one transaction, as the README advises for SQLite), each its own process.

Either way every process is stopped (SIGTERM, then SIGKILL) on the way out, even on failure.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks import server
from benchmarks.freshness.measurements import Cpu
from sessionstore.adapters.broker import EmbeddedBroker

if TYPE_CHECKING:
    import psutil

SHAPES = ("run", "parts")
PARTS_SETTINGS = {  # beside the database URLs and the log level every process gets
    "KAFKA_IDEMPOTENCE": "off",
    "KAFKA_SESSION_TIMEOUT_MS": "2000",
}


@dataclass(frozen=True)
class Deployment:
    """The processes of one shape: which serves the HTTP API, and what each costs in CPU."""

    shape: str
    title: str
    others: str  # who "the other processes" are, for the table
    api: server.Server  # the process the PUTs go to
    processes: list[server.Server]  # every sessionstore process, `api` included
    cpu: Callable[[], Cpu]  # CPU seconds so far: of `api`, and of the others summed
    broker: psutil.Process | None = None  # started from here (the `parts` shape)

    @property
    def port(self) -> int:
        return self.api.port

    def check_alive(self) -> None:
        for process in self.processes:
            process.check_alive()
        if self.broker is not None and not _running(self.broker):
            raise server.ServerError("the embedded broker died")

    def stopped_how(self) -> str:
        """How each process stopped (read once they are stopped), alike ones said once."""
        hows: dict[str, list[str]] = {}
        for process in self.processes:
            hows.setdefault(process.stopped_how, []).append(process.command)
        if len(hows) == 1 and len(self.processes) > 1:
            return f"all {len(self.processes)}: {next(iter(hows))}"
        return "; ".join(f"{', '.join(names)}: {how}" for how, names in hows.items())

    def logs(self) -> str:
        """The tails of the processes' logs that are not empty, each under its command."""
        tails = [(p.command, p.output().strip()) for p in self.processes]
        if len(tails) == 1:
            return tails[0][1]
        return "\n".join(f"--- sessionstore {name}\n{tail}" for name, tail in tails if tail)


@contextlib.contextmanager
def deployed(shape: str, directory: Path) -> Iterator[Deployment]:
    """The shape's processes, healthy, on events.db and readmodels.db in `directory`."""
    urls = (f"sqlite:///{directory / 'events.db'}", f"sqlite:///{directory / 'readmodels.db'}")
    if shape == "run":
        with server.running(*urls, directory / "server.log", everything=True) as running:
            yield _one_process(running)
    elif shape == "parts":
        with EmbeddedBroker(directory / "broker.log") as broker:
            env = server.environment(*urls, KAFKA_BOOTSTRAP=broker.bootstrap, **PARTS_SETTINGS)
            with server.started(_part_specs(directory), env) as processes:
                yield _separate_processes(processes, _broker_process(broker))
    else:
        raise ValueError(f"unknown shape {shape!r}; expected one of {', '.join(SHAPES)}")


def _one_process(running: server.Server) -> Deployment:
    def cpu() -> Cpu:
        return Cpu(
            server.process_cpu_seconds(running.pid, children=False),
            server.process_cpu_seconds(running.pid, own=False),
        )

    return Deployment(
        shape="run",
        title="Freshness on `sessionstore run` (SQLite files, embedded broker)",
        others="its embedded broker, a child process",
        api=running,
        processes=[running],
        cpu=cpu,
    )


def _part_specs(directory: Path) -> list[server.Spec]:
    return [
        server.Spec(("serve",), directory / "serve.log"),
        server.Spec(("relay",), directory / "relay.log"),
        server.Spec(("project", "all"), directory / "project.log", "project all"),
    ]


def _separate_processes(processes: list[server.Server], broker: psutil.Process) -> Deployment:
    api, *others = processes

    def cpu() -> Cpu:
        rest = sum(process.cpu_seconds() for process in others)
        return Cpu(api.cpu_seconds(), rest + _cpu_seconds(broker))

    return Deployment(
        shape="parts",
        title="Freshness on `serve`, `relay`, `project all` (separate processes, SQLite files, "
        "one embedded broker)",
        others="relay, projector, broker",
        api=api,
        processes=processes,
        cpu=cpu,
        broker=broker,
    )


def _broker_process(broker: EmbeddedBroker) -> psutil.Process:
    """This process's child listening on the broker's address."""
    import psutil

    listener = f"tcp://{broker.bootstrap}"
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if listener in child.cmdline():
                return child
    raise server.ServerError(f"no child process of this one listens on {listener}")


def _cpu_seconds(process: psutil.Process) -> float:
    import psutil

    with contextlib.suppress(psutil.NoSuchProcess):
        times = process.cpu_times()
        return float(times.user + times.system)
    return 0.0


def _running(process: psutil.Process) -> bool:
    import psutil

    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
