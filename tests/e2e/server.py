"""Run the real `sessionstore serve` as a subprocess and wait until /health answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sessionstore.adapters.broker import free_port

READY_WITHIN = 30.0
STOP_WITHIN = 15.0


def executable() -> str:
    beside_python = Path(sys.executable).parent / "sessionstore"
    found = str(beside_python) if beside_python.exists() else shutil.which("sessionstore")
    if found is None:
        pytest.fail("the `sessionstore` command is not installed (pip install -e .)")
    return found


class Server:
    """One `sessionstore serve` process on a SQLite file (or the database URL given); its
    output goes to a log file beside the file."""

    def __init__(
        self,
        database: Path,
        api_keys: str,
        database_url: str = "",
        workers: int = 1,
        management_keys: str = "",
    ) -> None:
        self.database = database
        self.management_keys = management_keys
        self.workers = workers
        self.database_url = database_url or f"sqlite:///{database}"
        self.api_keys = api_keys
        self.log = database.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    def start(self) -> str:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSTORE_")}
        env |= {
            "SESSIONSTORE_DATABASE_URL": self.database_url,
            "SESSIONSTORE_READMODEL_URL": f"sqlite:///{self.database.with_suffix('.rm.db')}",
            "SESSIONSTORE_API_KEYS": self.api_keys,
            "SESSIONSTORE_MANAGEMENT_KEYS": self.management_keys,
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    executable(),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    str(self.workers),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.base_url = f"http://127.0.0.1:{port}"
        self._wait_until_ready()
        return self.base_url

    def stop(self) -> None:
        """Ask politely (SIGTERM), then insist; always reap the process."""
        if self.process is None:
            return
        process, self.process = self.process, None
        process.terminate()
        try:
            process.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_WITHIN
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/health", timeout=0.5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            try:  # the pause between polls doubles as a check that the server did not die
                code = self.process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"sessionstore serve exited with {code}:\n{self.output()}")
        self.stop()
        pytest.fail(f"sessionstore serve was not ready within {READY_WITHIN}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]
