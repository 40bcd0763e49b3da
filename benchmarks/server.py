"""Real `sessionstore` processes: start, wait for their /health, stop.

`serve` is the HTTP write path benchmark's server; `run --no-demo` (everything in one process,
its own embedded broker: what `make run` runs) is the freshness benchmark's, and so are
`serve`, `relay` and the three `project NAME` as separate processes (`started`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

READY_WITHIN = 30.0
STOP_WITHIN = 10.0
POLL = 0.1


class ServerError(RuntimeError):
    """A process did not start, or died; the message ends with its log's tail."""


@dataclass(frozen=True)
class Spec:
    """One process to start: `sessionstore ARGUMENTS --host 127.0.0.1 --port P`."""

    arguments: tuple[str, ...]
    log: Path
    name: str = ""  # in messages; by default the first argument


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    command: str = "serve"  # its arguments before the options, e.g. `project v1`
    stopped_how: str = ""
    children: list[Any] = field(default_factory=list)  # psutil.Process, once it was healthy

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time the server used so far, worker processes included."""
        return process_cpu_seconds(self.pid)

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise ServerError(f"sessionstore {self.command} exited with {code}:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def executable() -> str:
    beside_python = Path(sys.executable).parent / "sessionstore"
    found = str(beside_python) if beside_python.exists() else shutil.which("sessionstore")
    if found is None:
        raise ServerError("the `sessionstore` command is not installed (make install)")
    return found


def environment(database_url: str, readmodel_url: str, **more: str) -> dict[str, str]:
    """This process's environment without its SESSIONSTORE_ settings, then the given ones.

    `more`: further settings by their name without the prefix, e.g. `KAFKA_BOOTSTRAP="..."`.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSTORE_")}
    env |= {
        "SESSIONSTORE_DATABASE_URL": database_url,
        "SESSIONSTORE_READMODEL_URL": readmodel_url,
        "SESSIONSTORE_LOG_LEVEL": "WARNING",
    }
    return env | {f"SESSIONSTORE_{name}": value for name, value in more.items()}


@contextlib.contextmanager
def running(
    database_url: str, readmodel_url: str, log: Path, *, workers: int = 1, everything: bool = False
) -> Iterator[Server]:
    """A healthy server on a free port; always stopped (SIGTERM, then SIGKILL) on the way out.

    `everything`: `sessionstore run --no-demo` (HTTP API, relay, the three projectors and, as
    no SESSIONSTORE_KAFKA_BOOTSTRAP is passed on, an embedded broker) instead of `serve`.
    Its TMPDIR is the log's directory: the broker's log dir it makes there goes with it.
    """
    if everything and workers != 1:
        raise ValueError("`sessionstore run` has no --workers")
    spec = Spec(_arguments(workers, everything), log)
    env = environment(database_url, readmodel_url) | {"TMPDIR": str(log.parent)}
    with started([spec], env) as (server,):
        yield server


def _arguments(workers: int, everything: bool) -> tuple[str, ...]:
    if everything:
        return ("run", "--no-demo")
    return ("serve", "--workers", str(workers))


@contextlib.contextmanager
def started(specs: Sequence[Spec], env: Mapping[str, str]) -> Iterator[list[Server]]:
    """The processes, started together, each healthy on its free port; stopped on the way out.

    All are stopped together, even if one failed to start: SIGTERM to each, then SIGKILL to
    those still running after `STOP_WITHIN` seconds, then to whatever they left behind.
    """
    servers: list[Server] = []
    try:
        for spec in specs:
            servers.append(_start(spec, env))
        deadline = time.monotonic() + READY_WITHIN
        for server in servers:
            _wait_until_healthy(server, deadline)
        for server in servers:  # found even if a server dies before its stop
            server.children = _children(server.pid)
        yield servers
    finally:
        _stop_all(servers)


def _start(spec: Spec, env: Mapping[str, str]) -> Server:
    port = free_port()
    command = [executable(), *spec.arguments, "--host", "127.0.0.1", "--port", str(port)]
    with spec.log.open("ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    name = spec.name or spec.arguments[0]
    return Server(process=process, port=port, log=spec.log, command=name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_healthy(server: Server, deadline: float) -> None:
    url = f"http://127.0.0.1:{server.port}/health"
    while time.monotonic() < deadline:
        server.check_alive()
        if _answers_ok(url):
            return
        time.sleep(POLL)
    raise ServerError(
        f"sessionstore {server.command} not healthy within {READY_WITHIN}s:\n{server.output()}"
    )


def _answers_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _stop_all(servers: list[Server]) -> None:
    """SIGTERM to all, then SIGKILL; then whatever they started (workers, a broker) if left."""
    children = [_known_children(server) for server in servers]
    try:
        for server in servers:
            if server.process.poll() is not None:
                server.stopped_how = f"had exited with {server.process.returncode}"
            else:
                server.process.terminate()
        deadline = time.monotonic() + STOP_WITHIN
        for server in servers:
            if not server.stopped_how:
                _await_exit(server, deadline)
    finally:
        for server, left in zip(servers, children, strict=True):
            _kill_left(left, server)


def _known_children(server: Server) -> list[Any]:
    found = {child.pid: child for child in (*server.children, *_children(server.pid))}
    return list(found.values())


def _await_exit(server: Server, deadline: float) -> None:
    process = server.process
    try:
        code = process.wait(timeout=max(0.0, deadline - time.monotonic()))
        server.stopped_how = f"SIGTERM, exit {code}"
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        server.stopped_how = f"ignored SIGTERM for {STOP_WITHIN:.0f}s, SIGKILLed"


def _children(pid: int) -> list[Any]:
    """The server's processes below it, known before it stops (orphans are not found later)."""
    import psutil

    with contextlib.suppress(psutil.NoSuchProcess):
        return list(psutil.Process(pid).children(recursive=True))
    return []


def _kill_left(children: list[Any], server: Server) -> None:
    """SIGKILL those still alive (psutil checks their start time: never a reused pid)."""
    import psutil

    left = [child for child in children if _alive(child)]
    for child in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    if left:
        server.stopped_how += f"; {len(left)} child process(es) left behind, SIGKILLed"


def _alive(process: Any) -> bool:
    """Running and not a zombie (a zombie is dead, only not reaped yet)."""
    import psutil

    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def process_cpu_seconds(pid: int, *, own: bool = True, children: bool = True) -> float:
    """The process's and/or its live children's CPU (psutil, a dev dependency)."""
    import psutil

    parent = psutil.Process(pid)
    processes = [parent] if own else []
    if children:
        processes += parent.children(recursive=True)
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += float(times.user) + float(times.system)
    return total
