"""Talon.One's official Python SDK, configured the way an integrator does, and a few helpers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from talon_one import (
    AdditionalCost,
    ApiClient,
    CartItem,
    Configuration,
    IntegrationApi,
    IntegrationRequest,
    ManagementApi,
    NewCustomerSessionV2,
)
from talon_one.models.customer_session_v2 import CustomerSessionV2

KEY, APPLICATION = "e2e-key", 7
API_KEYS = f"{KEY}={APPLICATION},other-key=8"
MANAGEMENT_KEY = "e2e-management-key"
CART = [
    CartItem(name="Sneakers", sku="SHOE", quantity=1, price=80.5),
    CartItem(
        sku="SOCK",
        quantity=2,
        price=4.25,
        additional_costs={"giftwrap": AdditionalCost(price=1.25)},
    ),
]


@contextmanager
def integration_api(base_url: str, key: str = KEY) -> Iterator[IntegrationApi]:
    configuration = Configuration(
        host=base_url, api_key={"api_key_v1": key}, api_key_prefix={"api_key_v1": "ApiKey-v1"}
    )
    with ApiClient(configuration) as client:
        yield IntegrationApi(client)


@contextmanager
def management_api(base_url: str, key: str = MANAGEMENT_KEY) -> Iterator[ManagementApi]:
    """As Talon's SDKs send it: `Authorization: ManagementKey-v1 <key>`."""
    configuration = Configuration(
        host=base_url,
        api_key={"management_key": key},
        api_key_prefix={"management_key": "ManagementKey-v1"},
    )
    with ApiClient(configuration) as client:
        yield ManagementApi(client)


def new_id() -> str:
    return f"order-{uuid.uuid4().hex[:10]}"


def update(api: IntegrationApi, integration_id: str, **fields: object) -> CustomerSessionV2:
    """PUT through the SDK, asking for the session back (the SDK sends state "open" by default)."""
    request = IntegrationRequest(
        customer_session=NewCustomerSessionV2(**fields), response_content=["customerSession"]
    )
    state = api.update_customer_session_v2(integration_id, request)
    assert state.customer_session is not None
    return state.customer_session


def closed_session(api: IntegrationApi) -> tuple[str, CustomerSessionV2]:
    integration_id = new_id()
    update(api, integration_id, profile_id="alice", cart_items=CART)
    return integration_id, update(api, integration_id, state="closed")
