"""A real `sessionstore serve` process for the HTTP benchmark: start, wait for /health, stop."""

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
from dataclasses import dataclass
from pathlib import Path

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
    stopped_how: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time the server used so far, worker processes included."""
        return process_cpu_seconds(self.pid)

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise ServerError(f"sessionstore serve exited with {code}:\n{self.output()}")

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
    database_url: str, readmodel_url: str, log: Path, *, workers: int = 1
) -> Iterator[Server]:
    """A healthy server on a free port; always stopped (SIGTERM, then SIGKILL) on the way out."""
    server = _start(database_url, readmodel_url, log, workers)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        _stop(server)


def _start(database_url: str, readmodel_url: str, log: Path, workers: int) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSTORE_")}
    env |= {
        "SESSIONSTORE_DATABASE_URL": database_url,
        "SESSIONSTORE_READMODEL_URL": readmodel_url,
        "SESSIONSTORE_LOG_LEVEL": "WARNING",
    }
    command = [executable(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    return Server(process=process, port=port, log=log)


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
    raise ServerError(f"sessionstore serve not healthy within {READY_WITHIN}s:\n{server.output()}")


def _answers_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _stop(server: Server) -> None:
    process = server.process
    if process.poll() is not None:
        server.stopped_how = f"had exited with {process.returncode}"
        return
    process.terminate()
    try:
        code = process.wait(timeout=STOP_WITHIN)
        server.stopped_how = f"SIGTERM, exit {code}"
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        server.stopped_how = f"ignored SIGTERM for {STOP_WITHIN:.0f}s, SIGKILLed"


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
