"""The HTTP benchmark's baseline: a plain eventsourcing Application saving one event per save()."""

from __future__ import annotations

import time
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

WARM_UP_SAVES = 50
SAVES_PER_CLOCK_READ = 10


class Counter(Aggregate):
    """The smallest useful aggregate: each `step` records one small event."""

    def __init__(self) -> None:
        self.steps = 0

    @event("Stepped")
    def step(self, number: int) -> None:
        self.steps = number


@dataclass(frozen=True)
class Baseline:
    saves_per_second: float
    cpu_per_save: float  # seconds of this process's CPU (the database server's not included)

    @property
    def seconds_per_save(self) -> float:
        return 1.0 / self.saves_per_second


def measure(env: dict[str, str], seconds: float) -> Baseline:
    """Single-threaded save() of one event at a time for `seconds`, after a short warm-up."""
    app: Application[UUID] = Application(env=env)
    try:
        counter = Counter()
        app.save(counter)
        for number in range(WARM_UP_SAVES):
            _save_step(app, counter, number)
        return _timed_saves(app, counter, seconds)
    finally:
        app.close()


def _save_step(app: Application[UUID], counter: Counter, number: int) -> None:
    counter.step(number)
    app.save(counter)


def _timed_saves(app: Application[UUID], counter: Counter, seconds: float) -> Baseline:
    saves = 0
    cpu, started = time.process_time(), time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(SAVES_PER_CLOCK_READ):
            _save_step(app, counter, saves)
            saves += 1
    elapsed = time.perf_counter() - started
    return Baseline(saves / elapsed, (time.process_time() - cpu) / saves)
