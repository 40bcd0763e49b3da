"""The supervisor: a failing part is restarted with backoff and /health names it meanwhile."""

from __future__ import annotations

import asyncio

import pytest

from sessionstore.parts import Parts


class Flaky:
    """Fails `failures` times, then runs until stopped; counts its starts."""

    def __init__(self, parts: Parts, failures: int) -> None:
        self.parts = parts
        self.failures = failures
        self.starts = 0
        self.healthy = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        self.starts += 1
        if self.starts <= self.failures:
            raise ConnectionError(f"no broker (start {self.starts})")
        self.parts.running("flaky")
        self.healthy.set()
        await stop.wait()


async def test_a_failing_part_is_reported_then_restarted_until_it_runs() -> None:
    parts, stop = Parts(first_delay=0.01), asyncio.Event()
    flaky = Flaky(parts, failures=2)
    reports: list[tuple[dict[str, object], int]] = []
    original = parts.failed

    def failed(name: str, error: str) -> None:
        original(name, error)
        reports.append(parts.health())

    parts.failed = failed  # type: ignore[method-assign]
    supervising = asyncio.create_task(parts.supervise("flaky", lambda: flaky.run(stop), stop))

    await asyncio.wait_for(flaky.healthy.wait(), timeout=5)
    healthy = parts.health()
    stop.set()
    await asyncio.wait_for(supervising, timeout=5)

    assert flaky.starts == 3
    body, status = reports[-1]
    assert status == 503
    assert body["parts"] == {"flaky": "failed"}
    assert body["errors"] == {"flaky": "ConnectionError: no broker (start 2)"}
    assert healthy == ({"status": "ok", "parts": {"flaky": "running"}}, 200)
    assert parts.states == {"flaky": "stopped"}


async def test_a_running_part_can_be_restarted_at_once() -> None:
    parts, stop = Parts(first_delay=60), asyncio.Event()
    flaky = Flaky(parts, failures=0)
    supervising = asyncio.create_task(parts.supervise("flaky", lambda: flaky.run(stop), stop))
    await asyncio.wait_for(flaky.healthy.wait(), timeout=5)
    flaky.healthy.clear()

    parts.restart("flaky")
    await asyncio.wait_for(flaky.healthy.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(supervising, timeout=5)

    assert flaky.starts == 2


async def test_a_part_waiting_out_its_backoff_starts_at_once_when_restarted() -> None:
    parts, stop = Parts(first_delay=60), asyncio.Event()
    flaky = Flaky(parts, failures=1)
    reported = asyncio.Event()
    original = parts.failed

    def failed(name: str, error: str) -> None:
        original(name, error)
        reported.set()

    parts.failed = failed  # type: ignore[method-assign]
    supervising = asyncio.create_task(parts.supervise("flaky", lambda: flaky.run(stop), stop))
    await asyncio.wait_for(reported.wait(), timeout=5)  # failed; now waiting its 60 s

    parts.restart("flaky")  # the broker is back: no need to wait a minute
    await asyncio.wait_for(flaky.healthy.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(supervising, timeout=5)

    assert flaky.starts == 2


@pytest.mark.parametrize("states", [{}, {"a": "running", "b": "running"}])
def test_health_is_ok_only_when_every_part_runs(states: dict[str, str]) -> None:
    parts = Parts()
    parts.states.update(states)
    assert parts.health(http="running")[1] == 200
    parts.failed("c", "boom")
    body, status = parts.health(http="running")
    assert status == 503
    assert body["errors"] == {"c": "boom"}
