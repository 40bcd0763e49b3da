"""What the application needs of the storage adapter beyond eventsourcing's recorder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from eventsourcing.persistence import ApplicationRecorder, StoredEvent


class Numbers(Protocol):
    """Store-wide sequences that independent commands never conflict over (decision 22)."""

    def next(self, name: str) -> int: ...
    def peek(self, name: str) -> int: ...
    def available(self, name: str) -> bool: ...


Done = Callable[[Sequence[int] | BaseException], None]
"""Told once a command's events are durable (their notification ids), or why they are not."""


class Committer(Protocol):
    def submit(self, unit: Sequence[StoredEvent], done: Done) -> None: ...
    def listen(self, written: Callable[[], None]) -> Callable[[], None]: ...


class WriteWatch(Protocol):
    """Whether any process wrote to the store since last asked (cheap, never blocks)."""

    def changed(self) -> bool: ...
    def close(self) -> None: ...


class WritePath(Protocol):
    """What the storage adapter adds to eventsourcing's recorder: group commit, numbers,
    and watches of the store's writes."""

    @property
    def recorder(self) -> ApplicationRecorder: ...
    @property
    def numbers(self) -> Numbers: ...
    @property
    def committer(self) -> Committer: ...
    def watch_writes(self) -> WriteWatch: ...
    def close(self) -> None: ...
