"""How a command runs: planned in memory where it can be, written by the group committer,
answered through a future once durable, and planned again on fresh state if it lost a race.

A plan is a pure step: `plan(fresh=False)` works on the state in memory and raises
NotInMemory when it would have to read; it is then run again with `fresh=True` on a worker
thread, which reads first. So the calling thread (the HTTP server's event loop) never waits
for the database, and a command that finds everything in memory costs no thread switch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from eventsourcing.persistence import RecordConflictError

from sessionstore.domain.errors import ConcurrentUpdate
from sessionstore.domain.events import SessionEvents, StoredEvents
from sessionstore.domain.session import Session
from sessionstore.ports import Done

log = logging.getLogger(__name__)
ATTEMPTS = 5
T = TypeVar("T")


class Outcome(msgspec.Struct, frozen=True):
    """A command's result: the session after it, and the events it recorded (none if dry)."""

    session: Session
    events: tuple[SessionEvents, ...]


class NotInMemory(Exception):
    """A command cannot be planned from memory alone: it must read (on a worker thread)."""


@dataclass(frozen=True)
class Plan(Generic[T]):
    """A command worked out: the events to write, and how to answer once they are durable."""

    after: Session
    sealed: list[SessionEvents]
    others: list[StoredEvents]
    answer: Callable[[Outcome], T]


class Attempts:
    """Runs plans: `write` hands a plan's events to the committer, `written` records a
    plan that became durable (the state in memory) and makes its Outcome."""

    def __init__(
        self,
        workers: Executor,
        write: Callable[[Plan[Any], Done], None],
        written: Callable[[Plan[Any]], Outcome],
    ) -> None:
        self._workers = workers
        self._write = write
        self._written = written

    def run(self, plan: Callable[[bool], Plan[T]], *, dry: bool = False) -> Future[T]:
        """Plan, write, answer; after ATTEMPTS lost races, ConcurrentUpdate (a 409)."""
        answer: Future[T] = Future()
        if dry:  # works out the answer from what is stored (read on a worker), writes nothing

            def nothing_to_write(fresh: bool) -> Plan[T]:
                planned = plan(fresh)
                return Plan(planned.after, [], [], planned.answer)

            self._on_worker(answer, nothing_to_write, ATTEMPTS)
        else:
            self._attempt(answer, plan, False, ATTEMPTS)
        return answer

    def _attempt(
        self, answer: Future[T], plan: Callable[[bool], Plan[T]], fresh: bool, left: int
    ) -> None:
        try:
            planned = plan(fresh)
        except NotInMemory as missing:
            if fresh:  # a plan on fresh state reads what it needs; this is a bug
                answer.set_exception(RuntimeError(f"planned on fresh state, yet {missing!r}"))
            else:
                self._on_worker(answer, plan, left)
            return
        except BaseException as error:
            answer.set_exception(error)
            return
        if not planned.sealed:
            answer.set_result(planned.answer(Outcome(planned.after, ())))
            return
        self._write(planned, lambda written: self._answer(answer, plan, planned, written, left))

    def _answer(
        self,
        answer: Future[T],
        plan: Callable[[bool], Plan[T]],
        planned: Plan[T],
        written: Sequence[int] | BaseException,
        left: int,
    ) -> None:
        error = written if isinstance(written, BaseException) else None
        if isinstance(error, RecordConflictError) and left > 1:
            log.debug("a write to the same session came first; planning again on fresh state")
            self._on_worker(answer, plan, left - 1)
        elif isinstance(error, RecordConflictError):
            answer.set_exception(ConcurrentUpdate())
        elif error is not None:
            answer.set_exception(error)
        else:
            try:
                answer.set_result(planned.answer(self._written(planned)))
            except BaseException as failure:
                answer.set_exception(failure)

    def _on_worker(self, answer: Future[T], plan: Callable[[bool], Plan[T]], left: int) -> None:
        try:
            self._workers.submit(self._attempt, answer, plan, True, left)
        except RuntimeError as closed:  # the store is closing
            answer.set_exception(closed)
