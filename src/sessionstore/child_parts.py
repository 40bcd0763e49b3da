"""A part of `sessionstore run` in a child process of its own: the projector.

One process cannot serve the API, relay the events and write three read models on one core
without queueing (decision 28), so `run` starts `sessionstore project all --port P` as its
child. The child dies with `run` (even when `run` is SIGKILLed, on Linux), is stopped with
it (SIGTERM, then SIGKILL after `STOP_WAIT`), and is started again with the supervisor's
backoff if it exits. Its GET /health and GET /metrics are read every `LOOK_EVERY` seconds:
its state goes into `run`'s own parts (so `run`'s /health names the projector's state and
last error) and its projection metrics into `run`'s own /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

import msgspec

from sessionstore import metrics
from sessionstore.adapters.broker import die_with_parent, free_port
from sessionstore.parts import Parts, first_set

log = logging.getLogger(__name__)
LOOK_EVERY = 0.5  # seconds between reads of the child's /health
STOP_WAIT = 10.0  # seconds a child has to stop after SIGTERM
ANSWER_TIMEOUT = 2.0


class ChildExited(RuntimeError):
    """The child process ended by itself."""


class Health(msgspec.Struct):
    parts: dict[str, str] = {}
    errors: dict[str, str] = {}


async def run_child(
    parts: Parts,
    name: str,
    arguments: Sequence[str],
    settings: dict[str, str],
    stop: asyncio.Event,
) -> None:
    """The part `name`: `sessionstore ARGUMENTS --host 127.0.0.1 --port P` with this
    process's environment plus `settings` (by name without the SESSIONSTORE_ prefix),
    whose health part of the same name is mirrored here."""

    async def run() -> None:
        port = free_port()  # taken in between: the child fails to listen and is restarted
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sessionstore",
            *arguments,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env=os.environ | {f"SESSIONSTORE_{k}": v for k, v in settings.items()},
            start_new_session=True,  # a Ctrl+C reaches `run`, which stops it in order
            preexec_fn=die_with_parent,
        )
        log.info("%s: child process %d", name, child.pid)
        try:
            await _mirror(parts, name, child, port, stop)
        finally:
            await _stopped(child)

    await parts.supervise(name, run, stop)


async def _mirror(
    parts: Parts, name: str, child: asyncio.subprocess.Process, port: int, stop: asyncio.Event
) -> None:
    """Copy the child's state of `name` into `parts` until `stop` (returns) or until the
    child exits (raises ChildExited)."""
    exited = asyncio.ensure_future(child.wait())
    try:
        while not exited.done():
            if stop.is_set():
                return
            health = await _health(port)
            if (text := await _get(port, "/metrics")) is not None:
                metrics.adopt(text.decode())
            if health is not None:
                state = health.parts.get(name, "starting")
                error = health.errors.get(name, "")
                if state in ("running", "standby"):
                    parts.running(name)
                elif state == "failed":
                    parts.failed(name, f"{error} (in child process {child.pid})")
            await first_set(stop, timeout=LOOK_EVERY)
    finally:
        exited.cancel()
    raise ChildExited(f"child process {child.pid} exited with status {child.returncode}")


async def _health(port: int) -> Health | None:
    """The child's GET /health answer; None while it does not answer (it is starting)."""
    body = await _get(port, "/health")
    try:
        return None if body is None else msgspec.json.decode(body, type=Health)
    except msgspec.DecodeError:
        return None


async def _get(port: int, path: str) -> bytes | None:
    """The body of the child's answer to GET `path`; None if it does not answer."""
    try:
        async with asyncio.timeout(ANSWER_TIMEOUT):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
                answer = await reader.read()
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return None
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()[1:2]
    return body if status in ([b"200"], [b"503"]) else None  # 503: /health naming a failure


async def _stopped(child: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it has not stopped within STOP_WAIT seconds."""
    if child.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
        try:
            await asyncio.wait_for(child.wait(), STOP_WAIT)
        except TimeoutError:
            log.warning("child process %d did not stop within %.0f s: killed", child.pid, STOP_WAIT)
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
