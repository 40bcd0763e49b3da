"""What the freshness part measured: each phase's figures, and the run's."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from benchmarks import phases
from benchmarks.freshness.writes import Write


@dataclass(frozen=True)
class Cpu:
    """CPU seconds: of the process serving the HTTP API, and of the other processes summed."""

    server: float
    others: float

    def __sub__(self, before: Cpu) -> Cpu:
        return Cpu(self.server - before.server, self.others - before.others)

    def share(self, seconds: float) -> Cpu:
        """Per second of wall clock: the share of a core each used."""
        return Cpu(self.server / seconds, self.others / seconds)

    @property
    def total(self) -> float:
        return self.server + self.others


@dataclass(frozen=True)
class Closed:
    requests: int
    seconds: float
    cpu: Cpu

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class Opened:
    rate: float
    scheduled: int
    writes: list[Write]
    from_schedule: list[float]  # each 200's latency from its due time (queueing included)
    settled: bool
    seconds: float  # from the first due time to the last version seen (or the deadline)
    poller_cpu: float
    poller_queries: int
    poller_ticks: int
    cpu: Cpu

    @property
    def freshness(self) -> list[float]:
        return [
            w.visible - w.answered
            for w in self.writes
            if w.visible is not None and w.answered is not None
        ]

    @property
    def never_visible(self) -> int:
        return sum(w.visible is None for w in self.writes)

    @property
    def round_trip(self) -> float:
        """The baseline: a PUT's median time from sending it to its 200."""
        trips = [w.answered - w.sent for w in self.writes if w.answered is not None]
        return statistics.median(trips) if trips else float("nan")


@dataclass(frozen=True)
class Load:
    first_visible: float  # seconds until the first writes were in all three read models
    closed: Closed
    catch_up: float | None  # None: the closed loop's backlog not projected in time
    opened: Opened | None
    checked: int  # sessions whose final version was compared with the acknowledged one
    mismatched: int
    tally: phases.Tally


@dataclass(frozen=True)
class Result:
    shape: str  # `run` or `parts` (see benchmarks.freshness.deployment)
    title: str
    others: str  # who "the other processes" of the CPU figures are
    load: Load
    poll_every: float
    stopped_how: str
    logs: str  # their tails: at log level WARNING, anything there is worth a look
