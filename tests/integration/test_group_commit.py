"""Group commit on real storage: commands that arrive together share one transaction."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from sessionstore.adapters.group_commit import GroupCommitter, GroupWriter, Unit, Written
from sessionstore.application import SessionStore
from sessionstore.bootstrap import build_store
from sessionstore.config import Settings
from sessionstore.domain.changes import SessionUpdate


class Gate:
    """A real group writer; once armed, the next group waits until the test opens the gate."""

    def __init__(self, inner: GroupWriter) -> None:
        self.inner = inner
        self.armed = False
        self.open = threading.Event()
        self.groups: list[int] = []

    def write(self, units: Sequence[Unit]) -> list[Written]:
        if self.armed:
            self.armed = False
            self.open.wait(timeout=30)
        self.groups.append(len(units))
        return self.inner.write(units)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def gated(database_url: str) -> Iterator[tuple[SessionStore, Gate]]:
    """A store whose committer's first group is held back, so the next ones queue up."""
    store = build_store(Settings(database_url=database_url))
    committer: GroupCommitter = store.write_path.committer  # type: ignore[attr-defined]
    gate = Gate(committer.writer)
    committer.writer = gate
    yield store, gate
    gate.open.set()
    store.close()


def event(key: uuid.UUID, version: int, payload: bytes) -> StoredEvent:
    return StoredEvent(
        originator_id=key, originator_version=version, topic="test.event", state=payload
    )


def queued_behind_the_gate(store: SessionStore, gate: Gate, units: list[Unit]) -> list[object]:
    """Submit the units from one thread each while the first group waits; then open the gate."""
    committer: GroupCommitter = store.write_path.committer  # type: ignore[attr-defined]

    def submit(unit: Unit) -> object:
        try:
            return list(store.recorder.insert_events(unit) or [])
        except IntegrityError as conflict:
            return conflict

    gate.armed, gate.groups = True, []
    already = committer.submitted
    with ThreadPoolExecutor(len(units) + 1) as pool:
        blocker = pool.submit(submit, [event(uuid.uuid4(), 1, b"first")])
        committer.wait_until(taken=already + 1)  # a group of one is formed, held at the gate
        answers = [pool.submit(submit, unit) for unit in units]
        committer.wait_until(submitted=already + len(units) + 1)  # all queued behind it
        gate.open.set()
        blocker.result(timeout=30)
        return [answer.result(timeout=30) for answer in answers]


def test_commands_queued_together_are_written_in_one_group_each_answered_with_its_own_ids(
    gated: tuple[SessionStore, Gate],
) -> None:
    store, gate = gated
    keys = [uuid.uuid4() for _ in range(20)]
    units: list[Unit] = [
        [event(k, 1, f"{k}-1".encode()), event(k, 2, f"{k}-2".encode())] for k in keys
    ]

    answers = queued_behind_the_gate(store, gate, units)

    assert gate.groups == [1, 20]
    for key, ids in zip(keys, answers, strict=True):
        stored = store.recorder.select_events(key)
        assert [e.state for e in stored] == [f"{key}-1".encode(), f"{key}-2".encode()]
        logged = store.recorder.select_notifications(start=ids[0], limit=2)  # type: ignore[index]
        assert [(n.originator_id, n.originator_version) for n in logged] == [(key, 1), (key, 2)]
    every = [i for ids in answers for i in ids]  # type: ignore[attr-defined]
    assert every == sorted(set(every))


def test_a_stale_command_in_a_group_is_refused_alone_and_the_others_are_written(
    gated: tuple[SessionStore, Gate],
) -> None:
    store, gate = gated
    taken, free = uuid.uuid4(), uuid.uuid4()
    store.recorder.insert_events([event(taken, 1, b"already there")])
    units: list[Unit] = [
        [event(taken, 1, b"stale")],  # version 1 exists: this one lost
        [event(free, 1, b"fresh")],
        [event(free, 1, b"duplicate in the same group")],
        [event(free, 2, b"continues the fresh one")],
    ]

    answers = queued_behind_the_gate(store, gate, units)

    assert gate.groups == [1, 4]
    assert isinstance(answers[0], IntegrityError)
    assert isinstance(answers[2], IntegrityError)
    assert not isinstance(answers[1], IntegrityError)
    assert not isinstance(answers[3], IntegrityError)
    assert [e.state for e in store.recorder.select_events(taken)] == [b"already there"]
    assert [e.state for e in store.recorder.select_events(free)] == [
        b"fresh",
        b"continues the fresh one",
    ]


def test_a_refused_command_is_retried_on_fresh_state_and_both_writers_succeed(
    store: SessionStore, database_url: str
) -> None:
    store.update_session(1, "shared", SessionUpdate(attributes={"by": "nobody"}))
    other = build_store(Settings(database_url=database_url))
    try:
        other.update_session(1, "shared", SessionUpdate(attributes={"other": True}))
        # `store` still caches version 1; its write is refused once and retried on version 2
        after = store.update_session(1, "shared", SessionUpdate(attributes={"by": "store"}))
    finally:
        other.close()

    assert after.session.version == 3
    assert after.session.attributes == {"by": "store", "other": True}
