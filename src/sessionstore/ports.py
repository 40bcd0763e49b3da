"""What the application needs of the storage adapter beyond eventsourcing's recorder."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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


LogPages = Callable[[Sequence[str], int, int], Iterator[list[tuple[int, bytes]]]]
"""(topics, first notification id, page size) -> pages of (notification id, stored bytes)."""


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
    @property
    def log_pages(self) -> LogPages: ...
    def log_count(self, topics: Sequence[str]) -> int: ...
    def close(self) -> None: ...
