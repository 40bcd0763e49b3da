"""Section 8, decisions 13, 14, 19 and 21: coupons and referral in V1 and Management views,
the discounts ledger, and its rollback on cancel, reopen and revocation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sessionstore.domain.events import ItemsUpdated, SessionCancelled, SessionReopened
from sessionstore.readmodels.application_session import in_list, render_application_session
from tests.unit.story import (
    closed,
    document,
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
LEDGER = {"10% off": 5, "free shipping": 4.9}
NET = {"10% off": Decimal(5), "free shipping": Decimal("4.9")}


def ledgers(session):
    """The discounts map of V1 and of the Management view, which must agree."""
    shown = v1(session)["discounts"]
    assert management(session)["discounts"] == shown
    return shown


# -- decision 13: coupon and referral strings -------------------------------------------------


def test_several_coupon_codes_are_joined_with_commas_in_order():
    session = given(request(couponCodes=["SUMMER", "VIP", "ALPHA"]))
    assert v1(session)["coupon"] == management(session)["coupon"] == "SUMMER,VIP,ALPHA"


def test_no_coupon_and_no_referral_are_empty_strings():
    session = given(request(cartItems=CART))
    for shape in (v1(session), management(session)):
        assert (shape["coupon"], shape["referral"]) == ("", "")


def test_referral_is_the_referral_code():
    session = given(request(referralCode="FRIEND"))
    assert v1(session)["referral"] == management(session)["referral"] == "FRIEND"


def test_a_cleared_coupon_list_shows_an_empty_coupon():
    session = given(request(couponCodes=["A"]), request(couponCodes=[]))
    assert v1(session)["coupon"] == ""


# -- decisions 14 and 21: the discounts ledger ------------------------------------------------


def test_discounts_reported_on_an_update_are_recorded_in_the_items_updated_event():
    step = updated(given(request(cartItems=CART)), request(discounts=LEDGER))
    (event,) = step.events
    assert isinstance(event, ItemsUpdated)
    assert event.changes.discounts == NET


def test_v1_and_management_show_the_ledger_and_its_sum():
    session = given(request(cartItems=CART, discounts=LEDGER))
    assert ledgers(session) == NET
    assert management(session)["totalDiscounts"] == sum(NET.values())


def test_the_list_view_shows_total_discounts_as_zero():
    shape = document(in_list(render_application_session(given(request(discounts=LEDGER)))))
    assert shape["totalDiscounts"] == 0
    assert shape["discounts"] == NET


def test_a_discount_that_reaches_zero_drops_out_of_the_ledger():
    session = given(request(discounts=LEDGER), request(discounts={**LEDGER, "10% off": 0}))
    assert ledgers(session) == {"free shipping": Decimal("4.9")}
    assert management(session)["totalDiscounts"] == Decimal("4.9")


def test_a_discount_reported_as_zero_is_never_shown():
    session = given(request(discounts={"none": 0}))
    assert ledgers(session) == {}
    assert management(session)["totalDiscounts"] == 0


def test_total_discounts_sums_exactly():
    session = given(request(discounts={"a": 0.1, "b": 0.2}))
    assert management(session)["totalDiscounts"] == Decimal("0.3")


def test_v2_has_no_discounts_field():
    assert "discounts" not in v2(given(request(discounts=LEDGER)))


@pytest.mark.parametrize("start", ["open", "closed"])
def test_cancelling_rolls_every_discount_back_and_records_them(start):
    session = given(request(cartItems=CART, discounts=LEDGER, state=start))
    (event,) = updated(session, request(state="cancelled")).events
    assert isinstance(event, SessionCancelled)
    assert event.rolled_back_discounts == NET
    after = updated(session, request(state="cancelled")).session
    assert ledgers(after) == {}
    assert management(after)["totalDiscounts"] == 0


def test_cancelling_with_new_discounts_records_and_then_rolls_back_those():
    session = given(request(cartItems=CART, discounts={"old": 1}))
    step = updated(session, request(discounts=LEDGER, state="cancelled"))
    assert [type(e) for e in step.events] == [ItemsUpdated, SessionCancelled]
    assert step.events[1].rolled_back_discounts == NET
    assert ledgers(step.session) == {}


def test_cancelling_a_closed_session_ignores_discounts_sent_with_it():
    session = closed(*CART, discounts=LEDGER)
    (event,) = updated(session, request(discounts={"other": 9}, state="cancelled")).events
    assert event.rolled_back_discounts == NET


def test_reopening_rolls_the_discounts_back():
    session = closed(*CART, discounts=LEDGER)
    (event,) = reopened(session).events
    assert isinstance(event, SessionReopened)
    assert event.rolled_back_discounts == NET
    assert ledgers(reopened(session).session) == {}


# -- decision 19: revoking a partially returned session ---------------------------------------


def revoked():
    session = closed(*CART, discounts=LEDGER)
    session = returned(session, {"position": 1, "quantity": 1}).session
    return updated(session, request(state="cancelled"))


def test_revoking_a_partially_returned_session_records_a_revocation_of_all_discounts():
    (event,) = revoked().events
    assert isinstance(event, SessionCancelled)
    assert event.previous_state == "partially_returned"
    assert event.rolled_back_discounts == NET


def test_a_revoked_session_keeps_returned_and_remaining_quantities():
    session = revoked().session
    for shape in (v2(session), v1(session), management(session)):
        counts = [(x["returnedQuantity"], x["remainingQuantity"]) for x in shape["cartItems"]]
        assert counts == [(0, 1), (1, 1)]
        assert shape["state"] == "cancelled"


def test_a_revoked_session_has_no_discounts_left():
    session = revoked().session
    assert ledgers(session) == {}
    assert management(session)["totalDiscounts"] == 0
