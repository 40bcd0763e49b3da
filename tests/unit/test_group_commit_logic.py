"""The group committer's decisions, with a writer in memory (pure logic, no storage)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from concurrent.futures import Future

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from sessionstore.adapters.group_commit import GroupCommitter, Unit, Written, accepted

A, B = uuid.uuid4(), uuid.uuid4()


def unit(*versions: tuple[uuid.UUID, int]) -> Unit:
    return [StoredEvent(k, v, "t", b"") for k, v in versions]


def test_a_unit_applies_only_when_it_continues_each_aggregate_from_its_stored_version() -> None:
    verdicts = accepted([unit((A, 3)), unit((B, 1)), unit((A, 3)), unit((A, 4), (B, 2))], {A: 2})

    assert verdicts == [True, True, False, True]


def test_a_command_over_two_aggregates_is_refused_whole_when_either_moved_on() -> None:
    assert accepted([unit((A, 1), (B, 1))], {B: 1}) == [False]


def submitted(committer: GroupCommitter, command: Unit) -> Future[Sequence[int]]:
    """Hand a command in without waiting; the future holds what the committer answers."""
    answer: Future[Sequence[int]] = Future()

    def done(result: Sequence[int] | BaseException) -> None:
        if isinstance(result, BaseException):
            answer.set_exception(result)
        else:
            answer.set_result(result)

    committer.submit(command, done)
    return answer


class Poisoned:
    """Fails a whole group that holds the poisoned aggregate, like a database error would."""

    def __init__(self, poison: uuid.UUID) -> None:
        self.poison = poison
        self.groups: list[int] = []

    def write(self, units: Sequence[Unit]) -> list[Written]:
        self.groups.append(len(units))
        if any(e.originator_id == self.poison for u in units for e in u):
            raise ValueError("cannot store this")
        return [[1] for _ in units]

    def close(self) -> None:
        pass


def test_a_group_failing_for_one_command_is_retried_one_by_one_so_only_that_command_fails() -> None:
    writer = Poisoned(poison=B)
    committer = GroupCommitter(writer)
    pending = [submitted(committer, u) for u in (unit((A, 1)), unit((B, 1)), unit((A, 2)))]
    try:
        committer.wait_until(taken=3)
    finally:
        committer.close()

    assert pending[0].result(timeout=5) == [1]
    assert pending[2].result(timeout=5) == [1]
    with pytest.raises(ValueError, match="cannot store this"):
        pending[1].result(timeout=5)


def test_a_conflict_answer_is_an_integrity_error_the_application_retries() -> None:
    class Refusing:
        def write(self, units: Sequence[Unit]) -> list[Written]:
            return [None for _ in units]

        def close(self) -> None:
            pass

    committer = GroupCommitter(Refusing())
    try:
        with pytest.raises(IntegrityError):
            committer.commit(unit((A, 1)))
    finally:
        committer.close()
