"""Bad requests get a 400 in Talon's envelope naming the field, and change nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from sessionstore.application import SessionStore
from tests.integration.support import Client, exact, notifications, url

INVALID = "The submitted data was invalid"
CART = [{"sku": "SHOE", "quantity": 1, "price": 89.90}, {"sku": "SOCK", "quantity": 3}]


@pytest.fixture
def stored(sqlite_client: Client) -> dict[str, Any]:
    """An open session with a cart, as GET shows it."""
    response = sqlite_client.put(
        url("order-1"),
        json={
            "customerSession": {
                "profileId": "alice",
                "cartItems": CART,
                "couponCodes": ["A"],
                "identifiers": ["ip"],
            }
        },
    )
    assert response.status_code == 200, response.text
    return exact(sqlite_client.get(url("order-1")).text)


def first_error(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["message"]
    assert len(body["errors"]) == 1
    error: dict[str, Any] = body["errors"][0]
    assert set(error) == {"title", "details", "source"}
    return error


def test_malformed_json_is_a_400_in_talons_envelope(sqlite_client: Client) -> None:
    response = sqlite_client.put(
        url("order-1"),
        content=b'{"customerSession": {',
        headers={"Content-Type": "application/json"},
    )

    assert first_error(response)["title"] == "invalid_json"
    assert response.json()["message"] == INVALID
    assert sqlite_client.get(url("order-1")).status_code == 404


@pytest.mark.parametrize(
    ("session", "pointer", "title"),
    [
        (
            {"cartItems": [{"sku": "A", "quantity": "2"}]},
            "/customerSession/cartItems/0/quantity",
            "type",
        ),
        (
            {"cartItems": [{"sku": "A", "quantity": 1, "price": True}]},
            "/customerSession/cartItems/0/price",
            "type",
        ),
        (
            {"cartItems": [{"sku": "A", "quantity": 1, "price": "9.99"}]},
            "/customerSession/cartItems/0/price",
            "type",
        ),
        (
            {"additionalCosts": {"shipping": {"price": "4.95"}}},
            "/customerSession/additionalCosts/shipping/price",
            "type",
        ),
        ({"discounts": {"10% off": "5"}}, "/customerSession/discounts/10% off", "type"),
        ({"state": "shipped"}, "/customerSession/state", "enum"),
        ({"attributes": []}, "/customerSession/attributes", "type"),
        ({"cartItems": [{"quantity": 1}]}, "/customerSession/cartItems/0/sku", "required"),
        (
            {"cartItems": [{"sku": "A", "quantity": 1, "additionalCosts": {"gift": {}}}]},
            "/customerSession/cartItems/0/additionalCosts/gift/price",
            "required",
        ),
        (
            {"additionalCosts": {"free": {"price": 0}, "ship/ping~": {"price": True}}},
            "/customerSession/additionalCosts/ship~1ping~0/price",
            "type",
        ),
        ({"attributes": {"fine": 1, "huge": 2**64}}, "/customerSession/attributes/huge", "maximum"),
        (
            {"attributes": {"deep": {"list": [1, -(2**63) - 1]}}},
            "/customerSession/attributes/deep/list/1",
            "maximum",
        ),
    ],
)
def test_a_field_of_the_wrong_type_is_a_400_naming_the_field(
    sqlite_client: Client, session: dict[str, Any], pointer: str, title: str
) -> None:
    response = sqlite_client.put(url("order-1"), json={"customerSession": session})

    error = first_error(response)
    assert error["source"] == {"pointer": pointer}
    assert error["title"] == title
    assert pointer in error["details"]
    assert sqlite_client.get(url("order-1")).status_code == 404  # nothing was stored


@pytest.mark.parametrize(
    ("session", "pointer"),
    [
        ({"profileId": "alice\u0000"}, "/customerSession/profileId"),
        ({"couponCodes": ["OK", "A\nB"]}, "/customerSession/couponCodes/1"),
        ({"referralCode": "\u0007"}, "/customerSession/referralCode"),
        ({"storeIntegrationId": "s\r1"}, "/customerSession/storeIntegrationId"),
        ({"identifiers": ["ip", "a\u0000"]}, "/customerSession/identifiers/1"),
        (
            {"cartItems": [{"sku": "A\u0000", "quantity": 1}]},
            "/customerSession/cartItems/0/sku",
        ),
        (
            {"cartItems": [{"sku": "A", "name": "x\ny", "quantity": 1}]},
            "/customerSession/cartItems/0/name",
        ),
    ],
)
def test_control_characters_in_ids_codes_and_names_are_a_400_naming_the_field(
    sqlite_client: Client, session: dict[str, Any], pointer: str
) -> None:
    response = sqlite_client.put(url("order-1"), json={"customerSession": session})

    error = first_error(response)
    assert (error["source"], error["title"]) == ({"pointer": pointer}, "format")
    assert sqlite_client.get(url("order-1")).status_code == 404


@pytest.mark.parametrize(
    ("raw", "pointer", "title"),
    [
        (
            b'{"customerSession": {"attributes": {"a": 1e400}}}',
            "/customerSession/attributes/a",
            "invalid",
        ),
        (
            b'{"customerSession": {"cartItems": [{"sku": "A", "quantity": 1, "price": 1e400}]}}',
            "/customerSession/cartItems/0/price",
            "maximum",
        ),
        (
            b'{"customerSession": {"discounts": {"d": 1' + b"0" * 5000 + b"}}}",
            "/customerSession/discounts/d",
            "maximum",
        ),
        (
            b'{"customerSession": {"attributes": {"a": ' + b"[" * 33 + b"]" * 33 + b"}}}",
            "/",
            "maxDepth",
        ),
        (
            b'{"customerSession": {}, "unknown": ' + b"[" * 2000 + b"]" * 2000 + b"}",
            "/",
            "maxDepth",
        ),
        (b'{"nothing": 1}', "/customerSession", "required"),
    ],
)
def test_numbers_beyond_range_and_deep_nesting_are_a_400_naming_the_field(
    sqlite_client: Client, raw: bytes, pointer: str, title: str
) -> None:
    response = sqlite_client.put(
        url("order-1"), content=raw, headers={"Content-Type": "application/json"}
    )

    error = first_error(response)
    assert (error["source"]["pointer"], error["title"]) == (pointer, title), error
    assert sqlite_client.get(url("order-1")).status_code == 404


def test_an_attribute_value_beyond_the_cap_is_refused_and_one_within_is_stored(
    sqlite_client: Client,
) -> None:
    too_big = {"customerSession": {"attributes": {"note": "x" * (64 << 10)}}}
    error = first_error(sqlite_client.put(url("order-1"), json=too_big))
    assert (error["source"]["pointer"], error["title"]) == (
        "/customerSession/attributes/note",
        "maxLength",
    )

    fits = {"customerSession": {"attributes": {"note": "x" * 60_000}}}
    assert sqlite_client.put(url("order-1"), json=fits).status_code == 200


def test_a_body_beyond_the_cap_is_a_413_in_talons_envelope(sqlite_client: Client) -> None:
    body = b'{"customerSession": {"identifiers": ["' + b"x" * (1 << 20) + b'"]}}'
    response = sqlite_client.put(
        url("order-1"), content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413, response.text
    assert response.json()["errors"][0]["title"]
    assert sqlite_client.get(url("order-1")).status_code == 404


LIMITS = [
    pytest.param(
        {"cartItems": [{"sku": f"S{i}", "quantity": 1} for i in range(1001)]},
        "/customerSession/cartItems",
        id="1001 lines",
    ),
    pytest.param(
        {"cartItems": [{"sku": "A", "quantity": 5000}, {"sku": "B", "quantity": 5001}]},
        "/customerSession/cartItems",
        id="10001 units",
    ),
    pytest.param(
        {"identifiers": list("abcdef")}, "/customerSession/identifiers", id="6 identifiers"
    ),
    pytest.param(
        {"loyaltyCards": ["c1", "c2"]}, "/customerSession/loyaltyCards", id="2 loyalty cards"
    ),
    pytest.param(
        {"couponCodes": ["ok", "x" * 101]}, "/customerSession/couponCodes/1", id="101-char coupon"
    ),
    pytest.param(
        {"referralCode": "r" * 101}, "/customerSession/referralCode", id="101-char referral"
    ),
    pytest.param(
        {"storeIntegrationId": ""}, "/customerSession/storeIntegrationId", id="empty store"
    ),
    pytest.param(
        {"cartItems": [{"sku": "", "quantity": 1}]},
        "/customerSession/cartItems/0/sku",
        id="empty sku",
    ),
    pytest.param(
        {"cartItems": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 0}]},
        "/customerSession/cartItems/1/quantity",
        id="quantity 0",
    ),
]


@pytest.mark.parametrize(("session", "pointer"), LIMITS)
def test_breaking_a_limit_is_a_400_naming_the_field_and_stores_nothing(
    sqlite_client: Client,
    sqlite_store: SessionStore,
    stored: dict[str, Any],
    session: dict[str, Any],
    pointer: str,
) -> None:
    log_before = notifications(sqlite_store)

    response = sqlite_client.put(url("order-1"), json={"customerSession": session})

    assert first_error(response)["source"] == {"pointer": pointer}
    assert response.json()["message"] == INVALID
    assert exact(sqlite_client.get(url("order-1")).text) == stored
    assert notifications(sqlite_store) == log_before


@pytest.mark.parametrize(("session", "pointer"), LIMITS[:3])
def test_breaking_a_limit_on_creation_creates_no_session(
    sqlite_client: Client, sqlite_store: SessionStore, session: dict[str, Any], pointer: str
) -> None:
    body = {"customerSession": {"profileId": "p", **session}}

    response = sqlite_client.put(url("new"), json=body)

    assert first_error(response)["source"] == {"pointer": pointer}
    assert sqlite_client.get(url("new")).status_code == 404
    assert notifications(sqlite_store) == []


def test_an_illegal_transition_is_a_400_titled_invalid_state_transition(
    sqlite_client: Client, sqlite_store: SessionStore, stored: dict[str, Any]
) -> None:
    sqlite_client.put(url("order-1"), json={"customerSession": {"state": "closed"}})
    closed = exact(sqlite_client.get(url("order-1")).text)
    log_before = notifications(sqlite_store)

    response = sqlite_client.put(url("order-1"), json={"customerSession": {"state": "open"}})

    assert response.status_code == 400
    assert response.json() == {
        "message": INVALID,
        "errors": [
            {
                "title": "invalid_state_transition",
                "details": "cannot change state from closed to open via update",
                "source": {"pointer": "/customerSession/state"},
            }
        ],
        "StatusCode": 400,
    }
    assert exact(sqlite_client.get(url("order-1")).text) == closed
    assert notifications(sqlite_store) == log_before


def test_modifying_a_closed_session_without_cancelling_is_refused(
    sqlite_client: Client, stored: dict[str, Any]
) -> None:
    sqlite_client.put(url("order-1"), json={"customerSession": {"state": "closed"}})

    response = sqlite_client.put(url("order-1"), json={"customerSession": {"cartItems": []}})

    assert first_error(response)["title"] == "invalid_state_transition"
    after = exact(sqlite_client.get(url("order-1")).text)["customerSession"]
    assert after["cartItems"] == stored["customerSession"]["cartItems"]


def test_cancelling_a_closed_session_ignores_the_other_fields_sent(
    sqlite_client: Client, stored: dict[str, Any]
) -> None:
    sqlite_client.put(url("order-1"), json={"customerSession": {"state": "closed"}})

    response = sqlite_client.put(
        url("order-1"),
        json={
            "customerSession": {"state": "cancelled", "cartItems": [], "attributes": {"x": 1}},
            "responseContent": ["customerSession"],
        },
    )

    assert response.status_code == 200, response.text
    session = exact(response.text)["customerSession"]
    assert session["state"] == "cancelled"
    assert (session["cartItems"], session["attributes"]) == (
        stored["customerSession"]["cartItems"],
        stored["customerSession"]["attributes"],
    )


def test_repeating_a_close_on_a_closed_session_succeeds_and_records_nothing(
    sqlite_client: Client, sqlite_store: SessionStore, stored: dict[str, Any]
) -> None:
    sqlite_client.put(url("order-1"), json={"customerSession": {"state": "closed"}})
    log_before = notifications(sqlite_store)

    response = sqlite_client.put(url("order-1"), json={"customerSession": {"state": "closed"}})

    assert response.status_code == 200, response.text
    assert notifications(sqlite_store) == log_before


@pytest.mark.parametrize(
    ("items", "close", "pointer", "title"),
    [
        ([{"position": 0}], False, "/customerSession/state", "invalid_state_transition"),
        (
            [{"position": 1, "quantity": 4}],
            True,
            "/return/returnedCartItems/0/quantity",
            "invalid_return",
        ),
        ([{"position": 9}], True, "/return/returnedCartItems/0", "invalid_return"),
        ([], True, "/return/returnedCartItems", "invalid_return"),
        ([{"position": "0"}], True, "/return/returnedCartItems/0/position", "type"),
    ],
)
def test_a_refused_return_is_a_400_naming_the_field_and_stores_nothing(
    sqlite_client: Client,
    sqlite_store: SessionStore,
    stored: dict[str, Any],
    items: list[dict[str, Any]],
    close: bool,
    pointer: str,
    title: str,
) -> None:
    if close:
        sqlite_client.put(url("order-1"), json={"customerSession": {"state": "closed"}})
    log_before = notifications(sqlite_store)

    response = sqlite_client.post(
        url("order-1", "/returns"), json={"return": {"returnedCartItems": items}}
    )

    error = first_error(response)
    assert (error["source"], error["title"]) == ({"pointer": pointer}, title)
    assert notifications(sqlite_store) == log_before


def test_reopening_a_session_that_is_not_closed_is_refused(
    sqlite_client: Client, stored: dict[str, Any]
) -> None:
    refused = sqlite_client.put(url("order-1", "/reopen"))
    unknown = sqlite_client.put(url("never-created", "/reopen"))

    assert first_error(refused)["title"] == "invalid_state_transition"
    assert first_error(unknown, 404)["title"] == "not_found"


def test_an_over_long_idempotency_key_or_session_id_is_refused(sqlite_client: Client) -> None:
    key = sqlite_client.post(
        url("order-1", "/returns"),
        headers={"Idempotency-Key": "k" * 256},
        json={"return": {"returnedCartItems": [{"position": 0}]}},
    )
    session_id = sqlite_client.put(url("s" * 1001), json={"customerSession": {}})

    assert first_error(key)["source"] == {"parameter": "Idempotency-Key"}
    assert first_error(session_id)["source"] == {"parameter": "customerSessionId"}
