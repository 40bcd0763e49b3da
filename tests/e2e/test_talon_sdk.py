"""Talon.One's official Python SDK drives the real `sessionstore serve` process over HTTP."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from talon_one import (
    AdditionalCost,
    IntegrationApi,
    IntegrationRequest,
    NewCustomerSessionV2,
    NewReturn,
    ReturnedCartItem,
    ReturnIntegrationRequest,
)
from talon_one.exceptions import BadRequestException, NotFoundException, UnauthorizedException

from tests.e2e.sdk import (
    APPLICATION,
    CART,
    KEY,
    closed_session,
    integration_api,
    management_api,
    new_id,
    update,
)
from tests.e2e.server import Server

pytestmark = pytest.mark.slow


def test_the_sdk_creates_updates_and_closes_a_session_with_every_documented_field(
    api: IntegrationApi,
) -> None:
    integration_id = new_id()

    created = update(
        api,
        integration_id,
        profile_id="alice",
        cart_items=CART,
        coupon_codes=["WELCOME"],
        identifiers=["hashed-ip"],
        store_integration_id="store-1",
        additional_costs={"shipping": AdditionalCost(price=5)},
        attributes={"channel": "web"},
    )
    updated = update(
        api, integration_id, referral_code="FRIEND", attributes={"gift": True}, cart_items=CART[1:]
    )
    closed = update(api, integration_id, state="closed")

    assert created.id > 0
    assert (created.integration_id, created.application_id, created.profile_id) == (
        integration_id,
        APPLICATION,
        "alice",
    )
    assert (created.state, created.update_count, created.first_session) == ("open", 1, True)
    assert (created.coupon_codes, created.referral_code, created.loyalty_cards) == (
        ["WELCOME"],
        "",
        [],
    )
    assert (created.identifiers, created.store_integration_id) == (["hashed-ip"], "store-1")
    assert created.evaluable_campaign_ids is None
    assert [(i.sku, i.position, i.quantity) for i in created.cart_items or []] == [
        ("SHOE", 0, 1),
        ("SOCK", 1, 2),
    ]
    assert created.cart_items == [
        item.model_copy(update={"position": position}) for position, item in enumerate(CART)
    ]
    assert created.additional_costs == {"shipping": AdditionalCost(price=5)}
    assert (created.cart_item_total, created.additional_cost_total, created.total) == (
        89.0,
        5,
        96.5,
    )
    assert created.created.tzinfo is not None
    assert created.created == created.updated
    assert (updated.id, updated.created, updated.update_count) == (created.id, created.created, 2)
    assert updated.attributes == {"channel": "web", "gift": True}
    assert (updated.referral_code, updated.cart_item_total, updated.total) == ("FRIEND", 8.5, 16)
    assert (closed.state, closed.update_count) == ("closed", 3)
    assert created.updated < updated.updated < closed.updated
    assert api.get_customer_session(integration_id).customer_session == closed


def test_the_sdk_returns_an_item_once_for_a_repeated_idempotency_key(api: IntegrationApi) -> None:
    integration_id, closed = closed_session(api)
    request = ReturnIntegrationRequest(
        var_return=NewReturn(returned_cart_items=[ReturnedCartItem(position=0, quantity=1)]),
        response_content=["customerSession"],
    )
    key = {"Idempotency-Key": str(uuid.uuid4())}

    first = api.return_cart_items(integration_id, request, _headers=key)
    again = api.return_cart_items(integration_id, request, _headers=key)

    entity = first.var_return
    assert entity is not None
    assert (entity.application_id, entity.account_id, entity.session_id) == (
        APPLICATION,
        1,
        closed.id,
    )
    assert (entity.session_integration_id, entity.profile_integration_id) == (
        integration_id,
        "alice",
    )
    assert entity.returned_cart_items == [ReturnedCartItem(position=0, quantity=1)]
    assert entity.id > 0
    assert entity.event_id > 0
    assert entity.created.tzinfo is not None
    assert again.var_return == entity
    session = api.get_customer_session(integration_id).customer_session
    assert session is not None
    assert session.state == "partially_returned"
    assert [(i.returned_quantity, i.remaining_quantity) for i in session.cart_items or []] == [
        (1, 0),
        (0, 2),
    ]
    assert session.total == closed.total
    assert first.customer_session == session


def test_the_sdk_reopens_a_closed_session_and_then_cancels_it(api: IntegrationApi) -> None:
    integration_id, closed = closed_session(api)

    reopened = api.reopen_customer_session(integration_id)
    after_reopen = api.get_customer_session(integration_id).customer_session
    cancelled = update(api, integration_id, state="cancelled")

    assert reopened.effects == []
    assert after_reopen is not None
    assert (after_reopen.state, after_reopen.update_count) == ("open", closed.update_count)
    assert (cancelled.state, cancelled.update_count) == ("cancelled", closed.update_count + 1)


def test_the_sdk_revokes_a_closed_session_by_cancelling_it(api: IntegrationApi) -> None:
    integration_id, _ = closed_session(api)

    cancelled = update(api, integration_id, state="cancelled")

    assert cancelled.state == "cancelled"
    assert api.get_customer_session(integration_id).customer_session == cancelled


def test_a_dry_run_through_the_sdk_answers_but_stores_nothing(api: IntegrationApi) -> None:
    integration_id = new_id()
    request = IntegrationRequest(
        customer_session=NewCustomerSessionV2(cart_items=CART), response_content=["customerSession"]
    )

    state = api.update_customer_session_v2(
        integration_id, request, dry=True, now=datetime(2999, 1, 1, tzinfo=UTC)
    )

    assert state.customer_session is not None
    assert state.customer_session.cart_item_total == 89.0
    with pytest.raises(NotFoundException):
        api.get_customer_session(integration_id)


def test_the_sdk_raises_bad_request_for_an_illegal_transition(api: IntegrationApi) -> None:
    integration_id, closed = closed_session(api)
    request = IntegrationRequest(customer_session=NewCustomerSessionV2(attributes={"x": 1}))
    assert request.customer_session.state == "open"  # the SDK's default is sent on every update

    with pytest.raises(BadRequestException) as refused:
        api.update_customer_session_v2(integration_id, request)

    error = json.loads(refused.value.body or "{}")["errors"][0]
    assert error["title"] == "invalid_state_transition"
    assert error["source"] == {"pointer": "/customerSession/state"}
    assert api.get_customer_session(integration_id).customer_session == closed


def test_the_sdk_raises_unauthorized_for_a_wrong_key(server: Server) -> None:
    with (
        integration_api(server.base_url, key="not-a-key") as wrong,
        pytest.raises(UnauthorizedException) as refused,
    ):
        wrong.get_customer_session(new_id())

    assert refused.value.status == 401


def test_the_sdk_raises_not_found_for_an_unknown_session(api: IntegrationApi) -> None:
    with pytest.raises(NotFoundException) as missing:
        api.get_customer_session(new_id())

    assert json.loads(missing.value.body or "{}")["errors"][0]["title"] == "not_found"


def test_a_session_of_another_key_is_not_found(server: Server, api: IntegrationApi) -> None:
    integration_id, _ = closed_session(api)

    with (
        integration_api(server.base_url, key="other-key") as other,
        pytest.raises(NotFoundException),
    ):
        other.get_customer_session(integration_id)


def test_the_management_sdk_lists_sessions_with_a_management_key_and_never_with_an_api_key(
    server: Server,
) -> None:
    with management_api(server.base_url) as management:
        page = management.get_application_sessions(APPLICATION)
    assert page.has_more is False  # `serve` runs no projector: its read model stays empty

    with (
        management_api(server.base_url, key=KEY) as with_an_api_key,
        pytest.raises(UnauthorizedException) as refused,
    ):
        with_an_api_key.get_application_sessions(APPLICATION)
    assert json.loads(refused.value.body or "{}")["errors"][0]["source"]["parameter"] == (
        "Authorization"
    )
