"""Checkout concurrency on real storage: distinct sessions never conflict, numbers never repeat."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TypeVar

import psycopg
import pytest

from sessionstore.adapters.write_watch import PostgresWriteWatch
from sessionstore.application import SessionStore
from sessionstore.bootstrap import build_store
from sessionstore.config import Settings
from sessionstore.domain.cart import CartItem
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.events import ReturnedCartItem
from sessionstore.ports import WriteWatch
from tests.integration.support import notifications

CLIENTS = 32
T = TypeVar("T")


def at_once(count: int, call: Callable[[int], T]) -> list[T]:
    """Run `call(i)` for i in range(count) from `count` threads released together."""
    start = threading.Barrier(count)

    def client(i: int) -> T:
        start.wait(timeout=30)
        return call(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(client, range(count)))


@pytest.fixture
def second_store(database_url: str) -> Iterator[SessionStore]:
    """Another store on the same database: what a second process would be."""
    app = build_store(Settings(database_url=database_url))
    yield app
    app.close()


def cart(n: int) -> tuple[CartItem, ...]:
    return (CartItem(sku=f"SKU-{n}", quantity=1 + n % 3, price=Decimal("9.99")),)


def test_32_clients_creating_and_updating_their_own_sessions_never_get_a_conflict(
    store: SessionStore,
) -> None:
    def checkout(i: int) -> list[int]:
        versions = []
        for step in range(4):
            update = SessionUpdate(profile_id=f"customer-{i}", cart_items=cart(step))
            versions.append(store.update_session(1, f"cart-{i}", update).session.version)
        return versions

    # any ConcurrentUpdate (a 409) would raise out of at_once and fail the test
    versions = at_once(CLIENTS, checkout)

    assert versions == [[1, 2, 3, 4]] * CLIENTS
    for i in range(CLIENTS):
        assert store.get_session(1, f"cart-{i}").cart_items == cart(3)


def test_sessions_created_at_once_through_two_stores_never_share_an_id(
    store: SessionStore, second_store: SessionStore
) -> None:
    stores = (store, second_store)

    outcomes = at_once(
        CLIENTS,
        lambda i: stores[i % 2].update_session(1 + i % 3, f"order-{i}", SessionUpdate()),
    )

    ids = [outcome.session.session_id for outcome in outcomes]
    assert len(set(ids)) == CLIENTS
    assert all(0 < number < 2**53 for number in ids)
    assert [store.get_session(1 + i % 3, f"order-{i}").session_id for i in range(CLIENTS)] == ids


def test_returns_recorded_at_once_on_many_sessions_never_share_an_id(
    store: SessionStore, second_store: SessionStore
) -> None:
    for i in range(CLIENTS):
        store.update_session(1, f"order-{i}", SessionUpdate(cart_items=cart(1), state="closed"))
    stores = (store, second_store)

    answers = at_once(
        CLIENTS,
        lambda i: stores[i % 2].return_items(
            1, f"order-{i}", (ReturnedCartItem(position=0, quantity=1),)
        ),
    )

    ids = [record.return_id for _, record in answers]
    assert len(set(ids)) == CLIENTS
    assert all(number > 0 for number in ids)


def test_of_sessions_created_at_once_for_one_new_profile_exactly_one_is_the_first(
    store: SessionStore, second_store: SessionStore
) -> None:
    stores = (store, second_store)

    outcomes = at_once(
        16,
        lambda i: stores[i % 2].update_session(
            1, f"visit-{i}", SessionUpdate(profile_id="newcomer")
        ),
    )

    sessions = [store.get_session(1, f"visit-{i}") for i in range(16)]
    assert [s.first_session for s in sessions].count(True) == 1
    assert [o.session.first_session for o in outcomes].count(True) == 1
    assert len({s.profile_number for s in sessions}) == 1


def test_a_profile_first_named_by_an_update_is_first_exactly_once_under_concurrency(
    store: SessionStore,
) -> None:
    for i in range(16):
        store.update_session(1, f"guest-{i}", SessionUpdate())

    at_once(16, lambda i: store.update_session(1, f"guest-{i}", SessionUpdate(profile_id="late")))

    firsts = [store.get_session(1, f"guest-{i}").first_session for i in range(16)]
    assert firsts.count(True) == 1


def test_concurrent_writes_record_every_event_once_in_the_notification_log(
    store: SessionStore,
) -> None:
    at_once(
        CLIENTS,
        lambda i: [
            store.update_session(1, f"log-{i}", SessionUpdate(attributes={"step": step}))
            for step in range(3)
        ],
    )

    logged = [(n.originator_id, n.originator_version) for n in notifications(store)]
    ids = [n.id for n in notifications(store)]
    session_events = [
        (store.get_session(1, f"log-{i}").key, version)
        for i in range(CLIENTS)
        for version in (1, 2, 3)
    ]
    assert ids == sorted(set(ids))
    assert len(logged) == len(set(logged))
    assert set(session_events) <= set(logged)
    for i in range(CLIENTS):
        assert store.get_session(1, f"log-{i}").attributes == {"step": 2}


def test_a_write_watch_hears_of_another_stores_writes_and_of_nothing_else(
    store: SessionStore, second_store: SessionStore
) -> None:
    watch = store.write_path.watch_writes()
    try:
        assert not watch.changed()  # nobody wrote since it was made
        second_store.update_session(1, "watched", SessionUpdate(cart_items=cart(1)))
        assert heard(watch)
        assert not watch.changed()  # told once per write, not again
    finally:
        watch.close()


def heard(watch: WriteWatch, within: float = 5.0) -> bool:
    """PostgreSQL delivers a NOTIFY to the listener shortly after the commit, not within it."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if watch.changed():
            return True
    return False


def test_a_postgresql_write_watch_that_lost_its_connection_says_look_once_then_waits(
    postgres_url: str,
) -> None:
    store = build_store(Settings(database_url=postgres_url))
    watch = store.write_path.watch_writes()
    assert isinstance(watch, PostgresWriteWatch)
    assert watch.listening
    try:
        backend = watch._conn.info.backend_pid  # type: ignore[attr-defined]  # its own session
        with psycopg.connect(postgres_url.split("?")[0], autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))

        assert heard(watch)  # the lost connection: look, a write may have gone unheard
        assert not watch.changed()
        assert not watch.listening  # no connect on every call (each would block the loop)
    finally:
        watch.close()
        store.close()
