"""Property tests: the totals formula (docs/talon.md §4, decision 9) and the state machine (2.1)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from sessionstore.domain import commands, returns
from sessionstore.domain.cart import AdditionalCost, CartItem
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.errors import DomainError, InvalidReturn, InvalidTransition
from sessionstore.domain.events import ReturnedCartItem
from sessionstore.domain.session import Session, fold
from sessionstore.readmodels.application_session import render_application_session
from sessionstore.readmodels.v1 import render_v1
from sessionstore.readmodels.v2 import render_v2
from tests.unit import story

MODEST = settings(max_examples=150, deadline=None)
STATES = ("open", "closed", "partially_returned", "cancelled")

money = st.builds(
    lambda digits, places: Decimal(digits).scaleb(-places),
    st.integers(0, 10**7),
    st.integers(0, 4),
)
costs = st.dictionaries(
    st.sampled_from(["ship", "wrap", "fee"]),
    money.map(lambda p: AdditionalCost(price=p)),
    max_size=3,
)
lines = st.builds(
    CartItem,
    sku=st.sampled_from(["a", "b", "c"]),
    quantity=st.integers(1, 12),
    price=st.none() | money,
    additional_costs=costs,
)
carts = st.lists(lines, min_size=0, max_size=6).map(tuple)
filled_carts = st.lists(lines, min_size=1, max_size=4).map(tuple)


# -- totals -----------------------------------------------------------------------------------


@MODEST
@given(cart=carts, session_costs=costs)
def test_total_is_items_plus_session_costs_plus_per_unit_item_costs(cart, session_costs):
    session = story.created(SessionUpdate(cart_items=cart, additional_costs=session_costs)).session
    shape = render_v2(session)

    item_total = Decimal(0)
    item_costs = Decimal(0)
    for line in cart:
        for _unit in range(line.quantity):
            item_total += line.price if line.price is not None else 0
            item_costs += sum((c.price for c in line.additional_costs.values()), Decimal(0))
    session_total = sum((c.price for c in session_costs.values()), Decimal(0))

    assert shape.cart_item_total == item_total
    assert shape.additional_cost_total == session_total
    assert shape.cart_item_additional_cost_total == item_costs
    assert shape.total == (
        shape.cart_item_total + shape.additional_cost_total + shape.cart_item_additional_cost_total
    )
    assert shape.total == item_total + session_total + item_costs
    assert render_v1(session).total == render_application_session(session).total == shape.total
    assert story.v2(session)["total"] == shape.total


# -- the state machine ------------------------------------------------------------------------

LEGAL = {
    ("update", "open", "open"),
    ("update", "open", "closed"),
    ("update", "open", "cancelled"),
    ("update", "closed", "cancelled"),
    ("update", "partially_returned", "cancelled"),
    ("return", "closed", "partially_returned"),
    ("return", "partially_returned", "partially_returned"),
    ("reopen", "closed", "open"),
}
"""docs/talon.md §2.1 (U, 1, 2, 3a, 3b, 3c, 4) plus further returns (decision 4)."""

entries = st.builds(
    ReturnedCartItem, position=st.integers(0, 2), quantity=st.none() | st.integers(1, 3)
) | st.builds(
    ReturnedCartItem,
    position=st.none() | st.integers(-1, 6),
    quantity=st.none() | st.integers(-1, 13),
    sku=st.none() | st.sampled_from(["a", "b", "c", "z"]),
)
"""Mostly plausible entries, so that returns succeed as well as fail."""
updates = st.tuples(
    st.just("update"),
    st.sampled_from([None, "open", "closed", "closed", "cancelled", "partially_returned"]),
    st.none() | st.sampled_from(["", "R1", "R2"]),
    st.none() | carts,
)
returns_ = st.tuples(st.just("return"), st.lists(entries, min_size=1, max_size=2).map(tuple))
commands_ = st.lists(
    st.one_of(updates, returns_, returns_, st.tuples(st.just("reopen"))), min_size=1, max_size=12
)


class Model:
    """What docs/talon.md says the session should look like, kept apart from the code under test."""

    def __init__(self, state: str, cart: tuple[CartItem, ...]) -> None:
        self.state, self.cart, self.referral = state, cart, ""
        self.returned: list[int] | None = None
        self.update_count = 1

    def update(self, target: str | None, referral: str | None, cart: Any) -> int | None:
        """Events expected, or None if the update must be rejected."""
        changed = (referral is not None and referral != self.referral) or (
            cart is not None and msgspec.to_builtins(cart) != msgspec.to_builtins(self.cart)
        )
        target = target or self.state
        if self.state == "open" and target != "partially_returned":
            events = int(changed) + int(target != "open")
            self.referral = self.referral if referral is None else referral
            self.cart = self.cart if cart is None else cart
        elif self.state in ("closed", "partially_returned") and target == "cancelled":
            events = 1
        elif target == self.state and not changed:
            events = 0
        else:
            return None
        self.state = target
        self.update_count += bool(events)
        return events

    def return_(self, requested: tuple[ReturnedCartItem, ...]) -> int | None:
        if self.state not in ("closed", "partially_returned") or not requested:
            return None
        returned = list(self.returned or [0] * len(self.cart))
        for entry in requested:
            line = self._line(entry)
            if line is None:
                return None
            left = self.cart[line].quantity - returned[line]
            amount = left if entry.quantity is None else entry.quantity
            if not 1 <= amount <= left:
                return None
            returned[line] += amount
        self.state, self.returned = "partially_returned", returned
        return 1

    def _line(self, entry: ReturnedCartItem) -> int | None:
        skus = [line.sku for line in self.cart]
        if entry.position is not None:
            inside = 0 <= entry.position < len(skus)
            if inside and entry.sku in (None, skus[entry.position]):
                return entry.position
            return None
        matching = [i for i, sku in enumerate(skus) if sku == entry.sku]
        return matching[0] if entry.sku is not None and len(matching) == 1 else None

    def reopen(self) -> int | None:
        if self.state != "closed":
            return None
        self.state = "open"
        return 1


def run(session: Session, command: tuple[Any, ...]) -> list[Any]:
    stamp = story.stamp(session)
    if command[0] == "update":
        _, target, referral, cart = command
        update = SessionUpdate(state=target, referral_code=referral, cart_items=cart)
        return commands.update_session(session, stamp, update, None)
    if command[0] == "return":
        event = returns.return_items(session, stamp, command[1], return_id=1, idempotency_key=None)
        return [event]
    return commands.reopen_session(session, stamp)


def expect(model: Model, command: tuple[Any, ...]) -> int | None:
    if command[0] == "update":
        return model.update(*command[1:])
    if command[0] == "return":
        return model.return_(command[1])
    return model.reopen()


@MODEST
@given(start=st.sampled_from([*STATES, "closed", "closed"]), cart=filled_carts, script=commands_)
def test_random_commands_follow_the_state_machine(start, cart, script):
    try:
        session = story.created(SessionUpdate(cart_items=cart, state=start)).session
    except InvalidTransition:
        assert start in ("partially_returned", "cancelled")
        session = story.created(SessionUpdate(cart_items=cart, state="open")).session
    assert session.state in ("open", "closed")
    play(session, Model(session.state, cart), script)


@MODEST
@given(
    cart=filled_carts,
    script=st.lists(returns_, min_size=1, max_size=8),
    then=st.sampled_from([(), (("update", "cancelled", None, None),), (("reopen",),)]),
)
def test_random_returns_keep_returned_plus_remaining_equal_to_quantity(cart, script, then):
    session = story.created(SessionUpdate(cart_items=cart, state="closed")).session
    play(session, Model("closed", cart), [*script, *then])


def play(session: Session, model: Model, script: list[tuple[Any, ...]]) -> None:
    """Run each command against the code and the model; they must agree at every step."""
    closing_totals = session.totals
    for command in script:
        expected = expect(model, command)
        if expected is None:
            with pytest.raises(DomainError) as raised:
                run(session, command)
            assert type(raised.value) in (InvalidTransition, InvalidReturn)
            event(f"{command[0]} from {session.state}: rejected")
            continue
        events = run(session, command)
        assert len(events) == expected, command
        after = fold(events, session)
        assert after is not None
        event(f"{command[0]} from {session.state}: {after.state}")
        if events:
            assert (command[0], session.state, after.state) in LEGAL
        else:
            assert after == session
        check_step(session, after, events)
        if session.state != "open":
            assert after.totals == session.totals
        session = after
        if session.state == "closed":
            closing_totals = session.totals
        check_session(session, model, closing_totals)


def check_step(before: Session, after: Session, events: list[Any]) -> None:
    versions = [e.originator_version for e in events]
    assert versions == list(range(before.version + 1, before.version + 1 + len(events)))
    assert after.version == before.version + len(events)
    assert after.updated == (events[-1].timestamp if events else before.updated)
    assert after.created == before.created


def check_session(session: Session, model: Model, closing_totals: Any) -> None:
    assert session.state == model.state
    assert session.update_count == model.update_count
    assert session.returned == (None if model.returned is None else tuple(model.returned))
    for line, view in zip(session.cart_items, render_v2(session).cart_items, strict=True):
        assert view.quantity == line.quantity
        if session.returned is None:
            assert view.returned_quantity is None
            assert view.remaining_quantity is None
        else:
            assert view.returned_quantity is not None
            assert view.remaining_quantity is not None
            assert view.returned_quantity + view.remaining_quantity == view.quantity
            assert 0 <= view.returned_quantity <= view.quantity
    if session.returned is not None:
        assert session.totals == closing_totals
