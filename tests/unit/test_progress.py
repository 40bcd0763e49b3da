"""A projection applies each session's next version only: duplicates skip, gaps are reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import msgspec

from sessionstore import codec
from sessionstore.domain.changes import SessionChanges
from sessionstore.domain.events import ItemsUpdated, SessionClosed, SessionCreated, SessionEvents
from sessionstore.domain.session import Session, fold
from sessionstore.readmodels.progress import advance_batch

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class Record(msgspec.Struct, frozen=True):
    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None


def history() -> list[SessionEvents]:
    key = uuid4()

    def at(v: int) -> dict[str, object]:
        return {
            "originator_id": key,
            "originator_version": v,
            "timestamp": T0 + timedelta(seconds=v),
        }

    return codec.seal(
        "",
        [
            SessionCreated(
                **at(1),
                application_id=1,
                integration_id="s",
                session_id=1,
                first_session=True,
                fields=SessionChanges(referral_code="R"),
            ),
            ItemsUpdated(**at(2), changes=SessionChanges(coupon_codes=("C",)), update_count=2),
            SessionClosed(**at(3), update_count=3),
        ],
    )


def records(events: list[SessionEvents], first_offset: int = 0) -> list[Record]:
    return [Record("t", 0, first_offset + i, codec.encode_event(e)) for i, e in enumerate(events)]


def test_a_batch_in_order_folds_every_event_and_moves_the_offset_past_it() -> None:
    events = history()
    batch = advance_batch(records(events), lambda _: None)
    (session,) = batch.sessions.values()
    assert session == fold(events)
    assert batch.applied == 3
    assert batch.offsets == {("t", 0): 3}


def test_redelivered_events_are_skipped_as_duplicates() -> None:
    events = history()
    stored = fold(events)
    batch = advance_batch(records(events), lambda _: stored)
    assert batch.sessions == {}
    assert batch.duplicates == 3
    assert batch.offsets == {("t", 0): 3}


def test_a_version_gap_is_reported_and_never_applied() -> None:
    events = history()
    after_one: Session | None = fold(events[:1])
    batch = advance_batch(records(events[2:], first_offset=7), lambda _: after_one)
    assert batch.sessions == {}
    (gap,) = batch.gaps
    assert (gap.expected, gap.received, gap.offset) == (2, 3, 7)
