"""Bad records are parked, never fatal: on a real SQLite file and the real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sessionstore import codec
from sessionstore.adapters.kafka import IncomingRecord
from sessionstore.adapters.readmodel_tables import open_database
from sessionstore.adapters.readmodel_writer import ReadModelWriter
from sessionstore.application import SessionStore
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.events import SessionEvents
from sessionstore.domain.keys import session_key
from sessionstore.readmodels.projections import PROJECTIONS

CLUSTER = "test-cluster"


@pytest.fixture
def readmodels(database_url: str) -> Iterator[ReadModelWriter]:
    """The V2 read model beside the event store (same database, its own tables)."""
    store = ReadModelWriter(open_database(database_url), PROJECTIONS["v2"])
    yield store
    store.close()


def as_records(events: list[tuple[bytes, bytes]], first_offset: int = 0) -> list[IncomingRecord]:
    return [
        IncomingRecord(
            topic="t", partition=0, offset=first_offset + i, key=key, value=value, headers=()
        )
        for i, (key, value) in enumerate(events)
    ]


def encoded(events: list[SessionEvents]) -> list[tuple[bytes, bytes]]:
    return [(str(e.originator_id).encode(), codec.encode_event(e)) for e in events]


def history(store: SessionStore, integration_id: str, updates: int = 1) -> list[SessionEvents]:
    for step in range(updates):
        store.update_session(1, integration_id, SessionUpdate(attributes={"step": step}))
    return store.session_events(session_key(1, integration_id))


def future_event(key: str, version: int) -> bytes:
    """An event type this version does not know, as a newer writer would publish it."""
    return json.dumps(
        {
            "type": "session.from_the_future",
            "originatorId": key,
            "originatorVersion": version,
            "timestamp": "2026-12-01T10:00:00Z",
        }
    ).encode()


def test_junk_and_an_unknown_event_type_are_parked_and_every_other_session_flows(
    store: SessionStore, readmodels: ReadModelWriter
) -> None:
    before, after = history(store, "before"), history(store, "after")
    stranger = str(session_key(1, "stranger"))
    records = as_records(
        [
            *encoded(before),
            (b"junk", b"\x00 not json at all"),
            (stranger.encode(), future_event(stranger, 1)),
            *encoded(after),
        ]
    )

    batch = readmodels.apply(records, CLUSTER)

    assert readmodels.queries.document(1, "before") is not None
    assert readmodels.queries.document(1, "after") is not None
    parked = [(p.record.offset, p.record.key) for p in readmodels.parked_records()]
    assert parked == [(1, "junk"), (2, stranger)]
    assert readmodels.positions(CLUSTER, "t") == {0: len(records)}
    assert readmodels.parked_records()[0].record.value == b"\x00 not json at all"
    assert len(batch.parked) == 2


def test_events_behind_a_missing_version_wait_parked_and_apply_on_retry_once_it_arrived(
    store: SessionStore, readmodels: ReadModelWriter
) -> None:
    events = history(store, "late", updates=3)  # versions 1..3
    readmodels.apply(as_records(encoded(events[:1])), CLUSTER)

    readmodels.apply(as_records(encoded(events[2:]), first_offset=5), CLUSTER)  # v3 before v2
    waiting = readmodels.parked_records()
    readmodels.apply(as_records(encoded(events[1:2]), first_offset=9), CLUSTER)  # v2 arrives
    removed, left = readmodels.retry_parked()

    assert [p.record.reason for p in waiting] == ["waits for version 2 of its session"]
    assert (removed, left) == (1, 0)
    assert readmodels.parked_records() == []
    document = json.loads(readmodels.queries.document(1, "late") or b"{}")
    assert document["attributes"] == {"step": 2}


def test_a_retry_keeps_what_still_does_not_apply_and_parks_it_once(
    store: SessionStore, readmodels: ReadModelWriter
) -> None:
    readmodels.apply(as_records([(b"junk", b"{")]), CLUSTER)
    readmodels.apply(as_records([(b"junk", b"{")]), CLUSTER)  # redelivered: the same record

    removed, left = readmodels.retry_parked()

    assert (removed, left) == (0, 1)
    assert len(readmodels.parked_records()) == 1


def test_a_session_its_database_cannot_store_is_parked_and_the_others_are_stored(
    store: SessionStore, readmodels: ReadModelWriter, database_url: str
) -> None:
    """PostgreSQL's text cannot hold NUL; SQLite's can: either way nothing else is held up.

    The API refuses NUL in a profile id; such an event can still arrive (written by an
    earlier version, or produced to the topic by anyone): it is made here from a clean one."""
    history(store, "nul")
    store.update_session(1, "nul", SessionUpdate(profile_id="evil-profile"))
    nul = [
        (key, value.replace(b'"evil-profile"', b'"evil\\u0000profile"'))
        for key, value in encoded(store.session_events(session_key(1, "nul")))
    ]
    fine = history(store, "fine")

    readmodels.apply(as_records([*nul, *encoded(fine)]), CLUSTER)

    assert readmodels.queries.document(1, "fine") is not None
    stored = readmodels.queries.document(1, "nul")
    parked = readmodels.parked_records()
    if database_url.startswith("postgresql"):  # both of its records parked, with the reason
        assert stored is None
        assert [p.record.offset for p in parked] == [0, 1]
        assert all("cannot store its session" in p.record.reason for p in parked)
    else:
        assert json.loads(stored or b"{}")["profileId"] == "evil\x00profile"
        assert parked == []
    assert readmodels.positions(CLUSTER, "t") == {0: 3}
