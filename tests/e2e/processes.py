"""`sessionstore` subcommands as real processes, and deadline-bound waits on what they store."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from sessionstore.adapters.broker import free_port
from tests.e2e.server import executable

DEADLINE = 60.0
POLL = 0.01
STOP_WITHIN = 20.0
# Tansu holds a new group's first join for session_timeout/2 and a SIGKILLed member's
# partitions until its session expires (broker-notes 2.1, 2.2): keep both short here.
SESSION_TIMEOUT_MS = "2000"


def stream_env(database_url: str, readmodel_url: str, bootstrap: str, topic: str) -> dict[str, str]:
    """The environment of a relay or projector process: nothing inherited from SESSIONSTORE_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSTORE_")}
    return env | {
        "SESSIONSTORE_DATABASE_URL": database_url,
        "SESSIONSTORE_READMODEL_URL": readmodel_url,
        "SESSIONSTORE_KAFKA_BOOTSTRAP": bootstrap,
        "SESSIONSTORE_TOPIC": topic,
        # the embedded broker cannot do InitProducerId (broker-notes 1.3)
        "SESSIONSTORE_KAFKA_IDEMPOTENCE": "off",
        "SESSIONSTORE_KAFKA_SESSION_TIMEOUT_MS": SESSION_TIMEOUT_MS,
    }


class Process:
    """One `sessionstore ARGS...` process; its output goes to a log file in `directory`."""

    def __init__(self, args: list[str], env: dict[str, str], directory: Path) -> None:
        self.args = args
        self.env = env
        self.log = directory / f"{'-'.join(args)}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        assert self.process is None, f"{self.args} is already running"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [executable(), *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or closed."""
        if self.process is not None:
            process, self.process = self.process, None
            process.kill()
            process.wait()

    def terminate(self, within: float) -> int:
        """SIGTERM and the exit status; a process still running after `within` s is a failure."""
        assert self.process is not None, f"{self.args} is not running"
        process, self.process = self.process, None
        process.terminate()
        try:
            return process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"sessionstore {' '.join(self.args)} ignored SIGTERM for {within}s")

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            code, self.process = self.process.returncode, None
            pytest.fail(f"sessionstore {' '.join(self.args)} exited with {code}:\n{self.output()}")

    def pause(self) -> None:
        """The pause between two polls: a wait for the process to exit, which must not happen."""
        assert self.process is not None, f"{self.args} is not running"
        try:
            code = self.process.wait(timeout=POLL)
        except subprocess.TimeoutExpired:
            return
        self.process = None
        pytest.fail(f"sessionstore {' '.join(self.args)} exited with {code}:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


class Launcher:
    """Starts processes for one test and kills whatever is left when the test ends."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[Process] = []

    def start(self, env: dict[str, str], *args: str) -> Process:
        process = Process(list(args), env, self.directory)
        self.started.append(process)
        return process.start()

    def check_alive(self) -> None:
        for process in self.started:
            process.check_alive()

    def stop_all(self) -> None:
        """SIGTERM first: a SIGKILLed `run` would leave its embedded broker behind."""
        for process in self.started:
            if process.process is not None:
                process.process.terminate()
        for process in self.started:
            if process.process is not None:
                try:
                    process.process.wait(timeout=STOP_WITHIN)
                except subprocess.TimeoutExpired:
                    process.kill()
                process.process = None

    def tracebacks(self) -> list[str]:
        return [p.log.name for p in self.started if "Traceback" in p.output()]


@contextmanager
def launcher(directory: Path) -> Iterator[Launcher]:
    """Processes for one test; whatever is left is stopped when the block ends."""
    running = Launcher(directory)
    try:
        yield running
    finally:
        running.stop_all()


async def wait_for(
    condition: Callable[[], bool | Awaitable[bool]], what: str, launched: Launcher
) -> None:
    """Poll stored state with a deadline, failing at once if a process died meanwhile."""
    deadline = time.monotonic() + DEADLINE
    while True:
        outcome = condition()
        if outcome if isinstance(outcome, bool) else await outcome:
            return
        launched.check_alive()
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.log.name}\n{p.output()}" for p in launched.started)
            pytest.fail(f"timed out after {DEADLINE}s waiting for {what}\n{logs}")
        await asyncio.sleep(POLL)


def poll_until(condition: Callable[[], bool], what: str, process: Process) -> None:
    """Poll with a deadline while `process` keeps running (the synchronous tests' wait)."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {DEADLINE}s waiting for {what}\n{process.output()}")
        process.pause()


def start_run(running: Launcher, env: dict[str, str]) -> tuple[Process, httpx.Client]:
    """`sessionstore run --no-demo` once GET /health answers 200, and a client for it."""
    port = free_port()
    process = running.start(env, "run", "--host", "127.0.0.1", "--port", str(port), "--no-demo")
    base_url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{base_url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    poll_until(healthy, "GET /health to answer 200", process)
    return process, httpx.Client(base_url=base_url, timeout=10)
