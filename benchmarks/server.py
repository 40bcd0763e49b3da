"""A real `sessionstore serve` (or `run --no-demo`) process: start, wait for /health, stop.

`serve` is the HTTP write path benchmark's server; `run --no-demo` (everything in one process,
its own embedded broker: what `make run` runs) is the freshness benchmark's.
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

READY_WITHIN = 30.0
STOP_WITHIN = 10.0
POLL = 0.1


class ServerError(RuntimeError):
    """The server did not start, or died; the message ends with its log's tail."""


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    command: str = "serve"
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


@contextlib.contextmanager
def running(
    database_url: str, readmodel_url: str, log: Path, *, workers: int = 1, everything: bool = False
) -> Iterator[Server]:
    """A healthy server on a free port; always stopped (SIGTERM, then SIGKILL) on the way out.

    `everything`: `sessionstore run --no-demo` (HTTP API, relay, the three projectors and, as
    no SESSIONSTORE_KAFKA_BOOTSTRAP is passed on, an embedded broker) instead of `serve`.
    """
    if everything and workers != 1:
        raise ValueError("`sessionstore run` has no --workers")
    server = _start(database_url, readmodel_url, log, _arguments(workers, everything))
    try:
        _wait_until_healthy(server)
        server.children = _children(server.pid)  # found even if the server dies before its stop
        yield server
    finally:
        _stop(server)


def _arguments(workers: int, everything: bool) -> list[str]:
    if everything:
        return ["run", "--no-demo"]
    return ["serve", "--workers", str(workers)]


def _start(database_url: str, readmodel_url: str, log: Path, arguments: list[str]) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSTORE_")}
    env |= {
        "SESSIONSTORE_DATABASE_URL": database_url,
        "SESSIONSTORE_READMODEL_URL": readmodel_url,
        "SESSIONSTORE_LOG_LEVEL": "WARNING",
    }
    command = [executable(), *arguments, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    return Server(process=process, port=port, log=log, command=arguments[0])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + READY_WITHIN
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


def _stop(server: Server) -> None:
    """SIGTERM, then SIGKILL; then whatever it started (workers, a broker) if it left them."""
    process = server.process
    children = {child.pid: child for child in (*server.children, *_children(server.pid))}
    try:
        if process.poll() is not None:
            server.stopped_how = f"had exited with {process.returncode}"
        else:
            _terminate(server)
    finally:
        _kill_left(list(children.values()), server)


def _terminate(server: Server) -> None:
    process = server.process
    process.terminate()
    try:
        code = process.wait(timeout=STOP_WITHIN)
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


def process_cpu_seconds(pid: int) -> float:
    """The process's and its live children's CPU (psutil, a dev dependency)."""
    import psutil

    parent = psutil.Process(pid)
    total = 0.0
    for process in (parent, *parent.children(recursive=True)):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += float(times.user) + float(times.system)
    return total
