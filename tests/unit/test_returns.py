"""Section 8, decisions 4-8: returning cart items of a closed session."""

from __future__ import annotations

import pytest

from sessionstore.domain.errors import InvalidReturn, InvalidTransition
from sessionstore.domain.events import ItemsReturned, ReturnedLine
from tests.unit.story import closed, given, item, request, returned, updated, v1, v2

SHOES, SHIRTS, SOCKS = item("shoe", 1, 50), item("shirt", 2, 20), item("sock", 3, 4)


def returned_units(session):
    """Units returned per line, read from the V2 shape."""
    return [line["returnedQuantity"] for line in v2(session)["cartItems"]]


# -- decision 4: which states accept returns --------------------------------------------------


def test_returning_items_of_a_closed_session_makes_it_partially_returned():
    step = returned(closed(SHOES, SHIRTS), {"position": 1, "quantity": 1})
    assert step.session.state == "partially_returned"
    assert [type(e) for e in step.events] == [ItemsReturned]


def test_a_partially_returned_session_accepts_further_returns_and_stays_partially_returned():
    first = returned(closed(SHOES, SHIRTS), {"position": 1, "quantity": 1}).session
    second = returned(first, {"position": 0}, return_id=2).session
    assert second.state == "partially_returned"
    assert returned_units(second) == [1, 1]
    assert [r.return_id for r in second.returns] == [1, 2]


@pytest.mark.parametrize("target", ["open", "cancelled"])
def test_returning_items_of_an_open_or_cancelled_session_is_rejected(target):
    session = given(request(cartItems=[SHOES]))
    if target == "cancelled":
        session = updated(session, request(state="cancelled")).session
    with pytest.raises(InvalidTransition):
        returned(session, {"position": 0})


# -- decision 5: how a returned item is identified --------------------------------------------


def test_an_item_can_be_returned_by_position():
    assert returned_units(returned(closed(SHOES, SHIRTS), {"position": 1}).session) == [0, 2]


def test_an_item_can_be_returned_by_sku():
    step = returned(closed(SHOES, SHIRTS), {"sku": "shirt", "quantity": 1})
    assert step.events[0].lines == (ReturnedLine(position=1, quantity=1),)


def test_an_item_can_be_returned_by_position_and_sku_when_they_agree():
    step = returned(closed(SHOES, SHIRTS), {"position": 0, "sku": "shoe"})
    assert returned_units(step.session) == [1, 0]


@pytest.mark.parametrize(
    "entry",
    [
        {"position": 0, "sku": "shirt"},
        {"quantity": 1},
        {"position": 2},
        {"position": -1},
        {"sku": "hat"},
    ],
    ids=["position-and-sku-disagree", "neither", "unknown-position", "negative", "unknown-sku"],
)
def test_an_entry_that_does_not_name_exactly_one_line_is_rejected(entry):
    with pytest.raises(InvalidReturn) as raised:
        returned(closed(SHOES, SHIRTS), entry)
    assert raised.value.pointer.startswith("/return/returnedCartItems/0")


def test_an_sku_on_several_lines_is_ambiguous_without_a_position():
    session = closed(item("shirt", 1, 20, name="red"), item("shirt", 1, 20, name="blue"))
    with pytest.raises(InvalidReturn, match="shirt"):
        returned(session, {"sku": "shirt"})
    assert returned_units(returned(session, {"sku": "shirt", "position": 1}).session) == [0, 1]


def test_duplicate_entries_for_one_line_add_up():
    step = returned(
        closed(SHOES, SOCKS), {"position": 1, "quantity": 1}, {"sku": "sock", "quantity": 1}
    )
    assert step.events[0].lines == (ReturnedLine(position=1, quantity=2),)
    assert returned_units(step.session) == [0, 2]


def test_duplicate_entries_that_add_up_to_more_than_remains_are_rejected():
    with pytest.raises(InvalidReturn):
        returned(closed(SOCKS), {"position": 0, "quantity": 2}, {"position": 0, "quantity": 2})


def test_leaving_quantity_out_returns_every_remaining_unit():
    first = returned(closed(SOCKS), {"position": 0, "quantity": 1}).session
    assert returned_units(returned(first, {"position": 0}).session) == [3]


def test_leaving_quantity_out_after_an_entry_for_the_same_line_takes_what_is_left():
    step = returned(closed(SOCKS), {"position": 0, "quantity": 1}, {"position": 0})
    assert returned_units(step.session) == [3]


@pytest.mark.parametrize("quantity", [0, -1])
def test_returning_fewer_than_one_unit_is_rejected(quantity):
    with pytest.raises(InvalidReturn) as raised:
        returned(closed(SOCKS), {"position": 0, "quantity": quantity})
    assert raised.value.pointer == "/return/returnedCartItems/0/quantity"


def test_returning_more_than_remaining_quantity_is_rejected():
    first = returned(closed(SOCKS), {"position": 0, "quantity": 2}).session
    with pytest.raises(InvalidReturn):
        returned(first, {"position": 0, "quantity": 2})
    assert returned_units(returned(first, {"position": 0, "quantity": 1}).session) == [3]


def test_an_empty_return_is_rejected():
    with pytest.raises(InvalidReturn):
        returned(closed(SOCKS))


def test_a_rejected_entry_rejects_the_whole_return():
    with pytest.raises(InvalidReturn):
        returned(closed(SHOES, SOCKS), {"position": 1, "quantity": 1}, {"position": 5})


# -- decision 6: totals stay as they were at closing ------------------------------------------


def test_returns_leave_quantities_and_totals_as_they_were_at_closing():
    shirts = item("shirt", 2, 20, additionalCosts={"gift": {"price": 1}})
    session = closed(SHOES, shirts, additionalCosts={"shipping": {"price": 5}})
    after = returned(session, {"position": 1, "quantity": 1}, {"position": 0}).session
    fields = ("total", "cartItemTotal", "additionalCostTotal", "cartItemAdditionalCostTotal")
    before_v2, after_v2 = v2(session), v2(after)
    assert {f: after_v2[f] for f in fields} == {f: before_v2[f] for f in fields}
    assert [line["quantity"] for line in after_v2["cartItems"]] == [1, 2]
    assert v1(after)["total"] == v1(session)["total"]


# -- decision 7: when returnedQuantity / remainingQuantity appear -----------------------------


def test_a_session_without_returns_shows_no_returned_or_remaining_quantity():
    for shape in (v2(closed(SHOES, SHIRTS)), v1(closed(SHOES, SHIRTS))):
        for line in shape["cartItems"]:
            assert "returnedQuantity" not in line
            assert "remainingQuantity" not in line


def test_after_the_first_return_every_line_shows_returned_and_remaining_quantity():
    after = returned(closed(SHOES, SHIRTS, SOCKS), {"sku": "sock", "quantity": 2}).session
    lines = v2(after)["cartItems"]
    assert [(x["returnedQuantity"], x["remainingQuantity"]) for x in lines] == [
        (0, 1),
        (0, 2),
        (2, 1),
    ]
    assert v1(after)["cartItems"] == lines


# -- decision 8: everything returned ----------------------------------------------------------


def everything_returned():
    return returned(closed(SHOES, SHIRTS), {"position": 0}, {"position": 1}).session


def test_returning_everything_leaves_the_session_partially_returned():
    session = everything_returned()
    assert session.state == "partially_returned"
    assert all(line["remainingQuantity"] == 0 for line in v2(session)["cartItems"])


@pytest.mark.parametrize("entry", [{"position": 0}, {"position": 1, "quantity": 1}])
def test_a_return_after_everything_was_returned_is_rejected(entry):
    with pytest.raises(InvalidReturn):
        returned(everything_returned(), entry)


def test_a_session_with_everything_returned_can_still_be_cancelled():
    step = updated(everything_returned(), request(state="cancelled"))
    assert step.session.state == "cancelled"
