"""The SessionStore application against real storage: a SQLite file and PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from sessionstore import codec
from sessionstore.application import SessionStore
from sessionstore.bootstrap import build_store
from sessionstore.config import Settings
from sessionstore.domain.cart import AdditionalCost, CartItem
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.errors import (
    InvalidField,
    InvalidReturn,
    InvalidTransition,
    SessionNotFound,
)
from sessionstore.domain.events import SESSION_TAGS, ReturnedCartItem
from sessionstore.domain.keys import session_key
from sessionstore.readmodels.v2 import render_v2
from tests.integration.support import notifications

CART = (
    CartItem(sku="SHOE", quantity=1, price=Decimal("89.90")),
    CartItem(
        sku="SOCK",
        quantity=3,
        price=Decimal("4.99"),
        additional_costs={"giftwrap": AdditionalCost(price=Decimal("1.5"))},
    ),
)
SHIPPING = {"shipping": AdditionalCost(price=Decimal("4.95"))}


def closed_session(store: SessionStore, integration_id: str, application_id: int = 1) -> None:
    store.update_session(
        application_id,
        integration_id,
        SessionUpdate(profile_id="alice", cart_items=CART, additional_costs=SHIPPING),
    )
    store.update_session(application_id, integration_id, SessionUpdate(state="closed"))


def test_a_sessions_whole_life_is_read_back_unchanged_by_a_new_store_on_the_same_database(
    store: SessionStore, database_url: str
) -> None:
    closed_session(store, "order-1")
    store.return_items(1, "order-1", (ReturnedCartItem(position=1, quantity=2),))
    store.update_session(1, "order-1", SessionUpdate(state="cancelled"))
    before = store.get_session(1, "order-1")

    reopened = build_store(Settings(database_url=database_url))
    try:
        after = reopened.get_session(1, "order-1")
    finally:
        reopened.close()

    assert after == before
    assert codec.encode_document(render_v2(after)) == codec.encode_document(render_v2(before))
    assert (after.state, after.returned, after.update_count) == ("cancelled", (0, 2), 3)
    assert after.totals.total == Decimal("114.32")  # 89.90 + 3 x 4.99 + 3 x 1.5 + 4.95


def test_events_are_stored_as_msgspec_json_whose_topic_is_the_tag(store: SessionStore) -> None:
    store.update_session(1, "order-1", SessionUpdate(profile_id="alice", cart_items=CART))
    store.update_session(1, "order-1", SessionUpdate(attributes={"channel": "web"}))
    store.update_session(1, "order-1", SessionUpdate(state="closed"))

    stored = notifications(store)

    topics = [n.topic for n in stored if n.originator_id == session_key(1, "order-1")]
    assert topics == ["session.created", "session.items_updated", "session.closed"]
    assert {n.topic for n in stored} - set(SESSION_TAGS) == {"profile.registered"}
    for notification in stored:
        event = codec.decode_event(notification.state)
        assert codec.tag_of(event) == notification.topic
        assert json.loads(notification.state)["type"] == notification.topic
        assert codec.encode_event(event) == notification.state
        assert (event.originator_id, event.originator_version) == (
            notification.originator_id,
            notification.originator_version,
        )


def test_numeric_session_ids_are_unique_positive_increasing_and_unchanged_on_reread(
    store: SessionStore, database_url: str
) -> None:
    names = [f"order-{i}" for i in range(6)]
    ids = [
        store.update_session(1 + i % 2, name, SessionUpdate()).session.session_id
        for i, name in enumerate(names)
    ]

    reopened = build_store(Settings(database_url=database_url))
    try:
        reread = [reopened.get_session(1 + i % 2, name).session_id for i, name in enumerate(names)]
    finally:
        reopened.close()

    assert all(0 < number < 2**53 for number in ids)
    assert ids == sorted(set(ids))
    assert reread == ids


def test_the_same_integration_id_in_two_applications_is_two_sessions(
    store: SessionStore,
) -> None:
    first = store.update_session(1, "order-1", SessionUpdate(cart_items=CART[:1])).session
    second = store.update_session(2, "order-1", SessionUpdate(cart_items=CART[1:])).session

    assert first.session_id != second.session_id
    assert store.get_session(1, "order-1").cart_items == CART[:1]
    assert store.get_session(2, "order-1").cart_items == CART[1:]
    assert (
        store.get_session(1, "order-1").application_id,
        store.get_session(2, "order-1").application_id,
    ) == (1, 2)


def test_a_dry_run_answers_the_result_but_stores_nothing(store: SessionStore) -> None:
    closed_session(store, "order-1")
    stored_before = notifications(store)
    session_before = store.get_session(1, "order-1")

    created = store.update_session(
        1, "new", SessionUpdate(profile_id="bob", cart_items=CART), dry=True
    )
    returned, _ = store.return_items(1, "order-1", (ReturnedCartItem(position=0),), dry=True)
    cancelled = store.update_session(1, "order-1", SessionUpdate(state="cancelled"), dry=True)

    assert (created.session.state, created.events) == ("open", ())
    assert created.session.totals.cart_items == Decimal("104.87")
    assert (returned.session.state, returned.events) == ("partially_returned", ())
    assert (cancelled.session.state, cancelled.events) == ("cancelled", ())
    assert notifications(store) == stored_before
    assert store.get_session(1, "order-1") == session_before
    with pytest.raises(SessionNotFound):
        store.get_session(1, "new")


def test_a_rejected_command_stores_nothing(store: SessionStore) -> None:
    store.update_session(1, "open-1", SessionUpdate(cart_items=CART))
    closed_session(store, "closed-1")
    stored_before = notifications(store)

    with pytest.raises(InvalidField):
        store.update_session(
            1, "new", SessionUpdate(profile_id="carol", cart_items=(CartItem(sku="X", quantity=0),))
        )
    with pytest.raises(InvalidField):
        store.update_session(1, "open-1", SessionUpdate(identifiers=tuple("abcdef")))
    with pytest.raises(InvalidTransition):
        store.update_session(1, "closed-1", SessionUpdate(state="open"))
    with pytest.raises(InvalidTransition):
        store.update_session(1, "new", SessionUpdate(state="cancelled"))
    with pytest.raises(InvalidTransition):
        store.return_items(1, "open-1", (ReturnedCartItem(position=0),))
    with pytest.raises(InvalidReturn):
        store.return_items(1, "closed-1", (ReturnedCartItem(position=1, quantity=4),))
    with pytest.raises(InvalidTransition):
        store.reopen_session(1, "open-1")

    assert notifications(store) == stored_before
    with pytest.raises(SessionNotFound):
        store.get_session(1, "new")


def test_a_replayed_idempotency_key_answers_the_same_return_and_records_no_second_event(
    store: SessionStore,
) -> None:
    closed_session(store, "order-1")
    first, record = store.return_items(
        1, "order-1", (ReturnedCartItem(position=1, quantity=1),), idempotency_key="key-1"
    )
    stored_after_first = notifications(store)

    again, replayed = store.return_items(
        1, "order-1", (ReturnedCartItem(position=1, quantity=1),), idempotency_key="key-1"
    )

    assert replayed == record
    assert again.events == ()
    assert again.session == first.session
    assert notifications(store) == stored_after_first
    assert store.get_session(1, "order-1").returned == (0, 1)


def test_a_different_idempotency_key_records_a_second_return(store: SessionStore) -> None:
    closed_session(store, "order-1")
    _, first = store.return_items(
        1, "order-1", (ReturnedCartItem(position=1, quantity=1),), idempotency_key="key-1"
    )

    _, second = store.return_items(
        1, "order-1", (ReturnedCartItem(position=1, quantity=1),), idempotency_key="key-2"
    )

    assert second.return_id > first.return_id
    assert store.get_session(1, "order-1").returned == (0, 2)


def test_each_session_events_digest_chains_from_the_previous_digest(store: SessionStore) -> None:
    closed_session(store, "order-1")
    store.return_items(1, "order-1", (ReturnedCartItem(sku="SOCK", quantity=1),))
    store.update_session(1, "order-1", SessionUpdate(state="cancelled"))
    key = session_key(1, "order-1")

    events = [
        codec.decode_session_event(n.state) for n in notifications(store) if n.originator_id == key
    ]

    previous = ""
    for event in events:
        assert event.digest == codec.digest(previous, event)
        previous = event.digest
    assert len(events) == 4
    assert store.get_session(1, "order-1").digest == previous


def test_first_session_is_true_only_for_a_profiles_first_session_in_each_application(
    store: SessionStore, database_url: str
) -> None:
    first = store.update_session(1, "order-1", SessionUpdate(profile_id="alice")).session
    second = store.update_session(1, "order-2", SessionUpdate(profile_id="alice")).session
    elsewhere = store.update_session(2, "order-3", SessionUpdate(profile_id="alice")).session

    reopened = build_store(Settings(database_url=database_url))
    try:
        third = reopened.update_session(1, "order-4", SessionUpdate(profile_id="alice")).session
    finally:
        reopened.close()

    assert (first.first_session, second.first_session, third.first_session) == (True, False, False)
    assert elsewhere.first_session is True
    assert first.profile_number == second.profile_number == third.profile_number
