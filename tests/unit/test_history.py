"""Section 8, decisions 11, 22 (pure part) and 23: update counts, ids and time from events."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sessionstore.domain import commands
from sessionstore.domain.commands import Profile, Stamp
from sessionstore.domain.session import fold
from sessionstore.readmodels.application_session import render_application_session
from tests.unit.story import (
    KEY,
    SESSION_ID,
    T0,
    at,
    closed,
    created,
    given,
    item,
    management,
    reopened,
    request,
    returned,
    updated,
    v1,
    v2,
)

CART = [item("shoe", 1, 50), item("shirt", 2, 20)]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- decision 11: what updateCount counts -----------------------------------------------------


@pytest.mark.parametrize("state", ["open", "closed"])
def test_a_new_session_has_update_count_one(state):
    session = created(request(cartItems=CART, state=state)).session
    assert v2(session)["updateCount"] == v1(session)["updateCount"] == 1


def test_each_update_that_records_something_adds_one():
    session = given(request(cartItems=CART))
    for expected in (2, 3, 4):
        session = updated(session, request(referralCode=f"R{expected}")).session
        assert v2(session)["updateCount"] == expected


def test_an_update_that_changes_nothing_does_not_count():
    session = given(request(cartItems=CART))
    assert updated(session, request(cartItems=CART, state="open")).session.update_count == 1


def test_changing_fields_and_closing_in_one_update_counts_once():
    session = given(request(cartItems=CART))
    step = updated(session, request(cartItems=[item("hat")], state="closed"))
    assert len(step.events) == 2
    assert step.session.update_count == 2


@pytest.mark.parametrize("target", ["closed", "cancelled"])
def test_closing_or_cancelling_an_open_session_counts_as_an_update(target):
    after = updated(given(request(cartItems=CART)), request(state=target)).session
    assert after.update_count == 2


def test_cancelling_a_closed_or_partially_returned_session_counts_as_an_update():
    session = returned(closed(*CART), {"position": 0}).session
    assert updated(session, request(state="cancelled")).session.update_count == 2
    assert updated(closed(*CART), request(state="cancelled")).session.update_count == 2


def test_returns_and_reopens_move_updated_but_not_update_count():
    session = closed(*CART)
    for step in (reopened(session), returned(session, {"position": 1, "quantity": 1})):
        assert step.session.update_count == session.update_count
        assert instant(v2(step.session)["updated"]) == at(step.session.version)
        assert step.session.updated > session.updated


def test_updates_after_a_reopen_keep_counting_from_where_they_were():
    session = given(request(cartItems=CART), request(state="closed"))
    after = updated(reopened(session).session, request(referralCode="AGAIN")).session
    assert after.update_count == 3


# -- decision 23: created and updated come from the events ------------------------------------


def test_created_is_the_timestamp_of_the_created_event_and_never_moves():
    session = given(request(cartItems=CART), request(referralCode="R"), request(state="closed"))
    session = returned(session, {"position": 0}).session
    for shape in (v2(session), v1(session), management(session)):
        assert instant(shape["created"]) == at(1)


def test_updated_is_the_timestamp_of_the_latest_event():
    session = given(request(cartItems=CART), request(referralCode="R"))
    assert instant(v2(session)["updated"]) == at(session.version) == at(2)
    assert instant(v1(session)["updated"]) == at(2)


def test_a_no_op_update_does_not_move_updated():
    session = given(request(cartItems=CART))
    assert updated(session, request(cartItems=CART)).session.updated == session.updated


def test_event_timestamps_keep_their_microseconds_in_the_read_models():
    moment = T0 + timedelta(microseconds=123_456)
    events = commands.create_session(
        Stamp(key=KEY, version=0, at=moment),
        request(cartItems=CART),
        application_id=1,
        integration_id="x",
        session_id=1,
        profile=None,
    )
    session = fold(events)
    assert session is not None
    assert instant(v2(session)["created"]) == instant(v2(session)["updated"]) == moment


# -- decision 22 (pure part) and versions -----------------------------------------------------


def test_ids_come_from_the_created_event_so_a_replay_gives_the_same_numbers():
    alice = Profile(number=9, had_sessions=False)
    events = created(request(cartItems=CART, profileId="alice"), profile=alice).events
    first, again = fold(events), fold(list(events))
    assert first == again
    assert first is not None
    shape = render_application_session(first)
    assert (shape.id, shape.profile_id, shape.profile_integration_id) == (SESSION_ID, 9, "alice")


def test_each_event_of_a_command_takes_the_next_version():
    session = given(request(cartItems=CART))
    step = updated(session, request(cartItems=[item("hat")], state="closed"))
    assert [e.originator_version for e in step.events] == [2, 3]
    assert step.session.version == 3
    assert created(request(state="closed")).session.version == 2
