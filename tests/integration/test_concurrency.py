"""Concurrent writers on real storage: each call succeeds or gets ConcurrentUpdate; none is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sessionstore.application import SessionStore
from sessionstore.domain.cart import CartItem
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.errors import ConcurrentUpdate, InvalidReturn
from sessionstore.domain.events import ReturnedCartItem

WRITERS = 12
T = TypeVar("T")


def all_at_once(call: Callable[[int], T]) -> tuple[list[T], int]:
    """Run `call(i)` for every writer at the same instant; the results and the 409 count."""
    start = threading.Barrier(WRITERS)

    def writer(i: int) -> T | ConcurrentUpdate:
        start.wait(timeout=30)
        try:
            return call(i)
        except ConcurrentUpdate as conflict:
            return conflict

    with ThreadPoolExecutor(WRITERS) as pool:
        outcomes = list(pool.map(writer, range(WRITERS)))
    results = [o for o in outcomes if not isinstance(o, ConcurrentUpdate)]
    return results, len(outcomes) - len(results)


def test_concurrent_updates_of_one_session_all_succeed_or_conflict_and_none_is_lost(
    store: SessionStore,
) -> None:
    store.update_session(1, "busy", SessionUpdate(attributes={"writer": -1}))

    results, conflicts = all_at_once(
        lambda i: store.update_session(
            1, "busy", SessionUpdate(attributes={"writer": i, f"seen-{i}": True})
        )
    )

    session = store.get_session(1, "busy")
    assert len(results) + conflicts == WRITERS
    assert results, "at least one concurrent writer must win"
    assert session.update_count == len(results) + 1
    assert sorted(o.session.update_count for o in results) == list(range(2, len(results) + 2))
    winners = {k for k in session.attributes if k.startswith("seen-")}
    assert len(winners) == len(results)
    assert session.version == len(results) + 1


def test_concurrently_created_sessions_get_distinct_numeric_ids(store: SessionStore) -> None:
    results, conflicts = all_at_once(
        lambda i: store.update_session(1, f"order-{i}", SessionUpdate())
    )

    ids = [outcome.session.session_id for outcome in results]
    stored = [store.get_session(1, o.session.integration_id).session_id for o in results]
    assert conflicts == 0  # distinct sessions never conflict
    assert len(set(ids)) == len(ids) == WRITERS
    assert stored == ids
    assert all(number > 0 for number in ids)


def test_concurrent_returns_never_take_back_more_units_than_were_bought(
    store: SessionStore,
) -> None:
    store.update_session(
        1, "order", SessionUpdate(cart_items=(CartItem(sku="SOCK", quantity=5),), state="closed")
    )

    def return_one(_: int) -> object:
        try:
            return store.return_items(1, "order", (ReturnedCartItem(position=0, quantity=1),))
        except InvalidReturn as refused:  # every unit is back already: a valid answer
            return refused

    results, _ = all_at_once(return_one)

    accepted = [r for r in results if isinstance(r, tuple)]
    session = store.get_session(1, "order")
    assert session.returned == (len(accepted),)
    assert len(accepted) <= 5
    assert len(session.returns) == len(accepted)
