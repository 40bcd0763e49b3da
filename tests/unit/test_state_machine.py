"""Section 8, decisions 1-3 and 20: which state changes an update may ask for."""

from __future__ import annotations

import pytest

from sessionstore.domain.errors import InvalidTransition
from sessionstore.domain.events import ItemsUpdated, SessionCancelled, SessionClosed
from tests.unit.story import closed, created, given, item, reopened, request, returned, updated

CART = [item("shoe", 1, 50), item("shirt", 2, 20)]


def partially_returned():
    return returned(closed(*CART), {"position": 1, "quantity": 1}).session


def cancelled():
    return updated(given(request(cartItems=CART)), request(state="cancelled")).session


# -- decision 1: the error for an illegal transition ------------------------------------------


def test_closing_then_updating_to_open_is_an_invalid_state_transition_at_the_state_pointer():
    with pytest.raises(InvalidTransition) as raised:
        updated(closed(*CART), request(state="open"))
    assert raised.value.title == "invalid_state_transition"
    assert raised.value.details == "cannot change state from closed to open via update"
    assert raised.value.pointer == "/customerSession/state"


@pytest.mark.parametrize(
    ("session", "target"),
    [
        (lambda: given(request(cartItems=CART)), "partially_returned"),
        (lambda: closed(*CART), "partially_returned"),
        (partially_returned, "closed"),
        (partially_returned, "open"),
        (cancelled, "open"),
        (cancelled, "closed"),
        (cancelled, "partially_returned"),
    ],
)
def test_an_update_asking_for_an_illegal_transition_names_both_states(session, target):
    before = session()
    with pytest.raises(InvalidTransition) as raised:
        updated(before, request(state=target))
    assert raised.value.details == f"cannot change state from {before.state} to {target} via update"
    assert raised.value.pointer == "/customerSession/state"


@pytest.mark.parametrize("state", ["cancelled", "partially_returned"])
def test_a_session_cannot_be_created_cancelled_or_partially_returned(state):
    with pytest.raises(InvalidTransition) as raised:
        created(request(cartItems=CART, state=state))
    assert raised.value.pointer == "/customerSession/state"


@pytest.mark.parametrize("session", [lambda: given(), partially_returned, cancelled])
def test_only_a_closed_session_can_be_reopened(session):
    with pytest.raises(InvalidTransition):
        reopened(session())


def test_reopening_a_closed_session_makes_it_open_again():
    assert reopened(closed(*CART)).session.state == "open"


def test_a_session_can_be_created_closed_as_a_legacy_order():
    step = created(request(cartItems=CART, state="closed"))
    assert step.session.state == "closed"
    assert [type(e) for e in step.events][-1] is SessionClosed


# -- decision 2: state left out ---------------------------------------------------------------


def test_a_new_session_without_state_is_open():
    assert created(request(cartItems=CART)).session.state == "open"


@pytest.mark.parametrize("session", [lambda: given(), lambda: closed(*CART), partially_returned])
def test_leaving_state_out_of_an_update_keeps_the_current_state(session):
    before = session()
    assert updated(before, request()).session.state == before.state


def test_an_update_of_an_open_session_without_state_changes_fields_and_stays_open():
    step = updated(given(request(cartItems=CART)), request(referralCode="FRIEND"))
    assert step.session.state == "open"
    assert step.session.referral_code == "FRIEND"


@pytest.mark.parametrize("target", ["open", "closed", "cancelled"])
def test_an_open_session_may_be_updated_to_open_closed_or_cancelled(target):
    step = updated(given(request(cartItems=CART)), request(state=target, referralCode="X"))
    assert step.session.state == target


# -- decision 3: closed and partially returned sessions are frozen ----------------------------


@pytest.mark.parametrize("session", [lambda: closed(*CART), partially_returned, cancelled])
@pytest.mark.parametrize("state", [None, "same"])
def test_changing_fields_of_a_frozen_session_is_rejected(session, state):
    before = session()
    fields = {} if state is None else {"state": before.state}
    with pytest.raises(InvalidTransition):
        updated(before, request(cartItems=[item("hat")], **fields))


@pytest.mark.parametrize("session", [lambda: closed(*CART), partially_returned])
def test_cancelling_a_frozen_session_ignores_the_other_fields_of_the_request(session):
    before = session()
    step = updated(
        before,
        request(
            state="cancelled",
            cartItems=[item("hat")],
            attributes={"note": "x"},
            couponCodes=["NEW"],
        ),
    )
    assert [type(e) for e in step.events] == [SessionCancelled]
    after = step.session
    assert after.state == "cancelled"
    assert (after.cart_items, after.attributes, after.coupon_codes) == (
        before.cart_items,
        before.attributes,
        before.coupon_codes,
    )


def test_a_revocation_records_the_state_it_came_from():
    for before in (closed(*CART), partially_returned()):
        (event,) = updated(before, request(state="cancelled")).events
        assert isinstance(event, SessionCancelled)
        assert event.previous_state == before.state


# -- decision 20: a PUT that changes nothing records nothing ----------------------------------


@pytest.mark.parametrize("session", [lambda: closed(*CART), partially_returned, cancelled])
def test_repeating_the_stored_state_and_fields_of_a_frozen_session_records_no_event(session):
    before = session()
    step = updated(before, request(state=before.state, cartItems=CART))
    assert step.events == []
    assert step.session == before


def test_retrying_the_closing_request_of_a_session_records_no_event():
    closing = request(cartItems=CART, attributes={"channel": "web"}, state="closed")
    session = given(request(cartItems=[item("hat")]), closing)
    assert updated(session, closing).events == []


def test_repeating_the_fields_of_an_open_session_records_no_event():
    session = given(request(cartItems=CART, couponCodes=["A"], attributes={"a": 1}))
    step = updated(session, request(state="open", cartItems=CART, couponCodes=["A"]))
    assert step.events == []
    assert step.session.update_count == session.update_count


def test_a_changed_field_of_an_open_session_records_only_that_field():
    session = given(request(cartItems=CART, couponCodes=["A"]))
    (event,) = updated(session, request(cartItems=CART, couponCodes=["B"])).events
    assert isinstance(event, ItemsUpdated)
    assert event.changes.coupon_codes == ("B",)
    assert event.changes.cart_items is None


def test_a_retry_that_lists_the_same_map_in_another_key_order_records_no_event():
    costs = {"shipping": {"price": 5}, "wrapping": {"price": 2}}
    session = given(request(additionalCosts=costs, attributes={"meta": {"a": 1, "b": 2}}))
    retry = request(
        additionalCosts=dict(reversed(costs.items())), attributes={"meta": {"b": 2, "a": 1}}
    )
    assert updated(session, retry).events == []


def test_an_attribute_value_of_another_json_type_is_a_change():
    session = given(request(attributes={"n": 1}))
    assert updated(session, request(attributes={"n": 1.0})).events != []
    assert updated(session, request(attributes={"n": True})).events != []
