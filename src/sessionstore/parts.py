"""What is running, for /health, and the supervisor that keeps each part running.

A part that fails is restarted with backoff (1 s, doubling to 30 s, back to 1 s once it ran
a minute), so one part's failure never takes the others down; /health names every part
that is not running and its last error. Imports no I/O library: http/ reads it freely.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
PART: contextvars.ContextVar[str] = contextvars.ContextVar("part", default="")
FIRST_DELAY = 1.0
LONGEST_DELAY = 30.0
HEALTHY = ("running", "standby")
HEALTHY_AFTER = 60.0  # seconds of running after which the next failure waits FIRST_DELAY again


class Parts:
    """name -> "starting" | "running" | "standby" | "failed" | "stopped", and the last
    error of each."""

    def __init__(self, first_delay: float = FIRST_DELAY) -> None:
        self.states: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self._restarts: dict[str, asyncio.Event] = {}
        self._first_delay = first_delay

    def ready(self) -> bool:
        return bool(self.states) and all(s in HEALTHY for s in self.states.values())

    def running(self, name: str) -> None:
        self.states[name] = "running"
        self.errors.pop(name, None)

    def standby(self, name: str) -> None:
        """Healthy and waiting its turn (a relay while another one publishes)."""
        self.states[name] = "standby"
        self.errors.pop(name, None)

    def failed(self, name: str, error: str) -> None:
        self.states[name] = "failed"
        self.errors[name] = error

    def health(self, **always: str) -> tuple[dict[str, object], int]:
        """The /health answer: 200 when every part runs, else 503 naming what does not."""
        states = {**always, **self.states}
        ready = all(state in HEALTHY for state in states.values())
        body: dict[str, object] = {"status": "ok" if ready else "unavailable", "parts": states}
        if not ready:
            body["errors"] = {n: e for n, e in self.errors.items() if states.get(n) not in HEALTHY}
        return body, 200 if ready else 503

    def restart(self, *names: str) -> None:
        """Start these parts again now (a broker came back, or is a different one now)."""
        for name in names or tuple(self._restarts):
            if name in self._restarts:
                self._restarts[name].set()

    async def supervise(
        self, name: str, run: Callable[[], Awaitable[None]], stop: asyncio.Event
    ) -> None:
        """Run `run` until `stop`; restart it with backoff whenever it fails. What it logs
        names the part (`PART`, which the JSON log format shows)."""
        PART.set(name)
        delay = self._first_delay
        again = self._restarts.setdefault(name, asyncio.Event())
        while not stop.is_set():
            self.states.setdefault(name, "starting")
            started = time.monotonic()
            again.clear()
            try:
                restarted = await _until(run(), again)
            except Exception as error:
                reason = f"{type(error).__name__}: {error}"
                self.failed(name, reason)
                if time.monotonic() - started > HEALTHY_AFTER:
                    delay = self._first_delay
                log.warning("%s failed (%s); restarting in %.0f s", name, reason, delay)
                log.debug("%s failed", name, exc_info=True)
                await first_set(stop, again, timeout=delay)
                delay = min(LONGEST_DELAY, delay * 2)
                continue
            if restarted:
                log.info("%s: starting again", name)
            elif not stop.is_set():
                log.warning("%s ended by itself; starting it again", name)
        self.states[name] = "stopped"


async def _until(work: Awaitable[None], again: asyncio.Event) -> bool:
    """Await `work`; True if `again` was set first (the work is then cancelled)."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(again.wait())
    try:
        await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # the supervisor itself is cancelled: so is the work
        task.cancel()
        raise
    finally:
        waiter.cancel()
    if task.done():
        task.result()  # raises what the work raised
        return False
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return True


async def first_set(*events: asyncio.Event, timeout: float) -> None:
    """Wait until any of the events is set, or `timeout` seconds."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
