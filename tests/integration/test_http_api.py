"""The Integration API endpoints over a real event store, as Talon's clients call them."""

from __future__ import annotations

from decimal import Decimal

from tests.integration.support import (
    CART,
    RFC3339,
    WITH_SESSION,
    Client,
    create_closed,
    exact,
    get,
    put,
    url,
)


def test_creating_a_session_answers_the_integration_state_with_the_computed_session(
    client: Client,
) -> None:
    answer = put(
        client,
        "order-1",
        {
            "profileId": "alice",
            "cartItems": CART,
            "couponCodes": ["WELCOME"],
            "additionalCosts": {"shipping": {"price": 4.95}},
            "attributes": {"channel": "web"},
        },
        *WITH_SESSION,
    )

    session = answer["customerSession"]
    assert (answer["effects"], answer["createdCoupons"], answer["createdReferrals"]) == ([], [], [])
    assert {
        k: session[k]
        for k in (
            "integrationId",
            "applicationId",
            "profileId",
            "state",
            "couponCodes",
            "referralCode",
            "loyaltyCards",
            "identifiers",
            "attributes",
            "firstSession",
            "updateCount",
        )
    } == {
        "integrationId": "order-1",
        "applicationId": 1,
        "profileId": "alice",
        "state": "open",
        "couponCodes": ["WELCOME"],
        "referralCode": "",
        "loyaltyCards": [],
        "identifiers": [],
        "attributes": {"channel": "web"},
        "firstSession": True,
        "updateCount": 1,
    }
    assert [(i["sku"], i["position"]) for i in session["cartItems"]] == [("SHOE", 0), ("SOCK", 1)]
    assert session["cartItemTotal"] == Decimal("104.87")
    assert session["additionalCostTotal"] == Decimal("4.95")
    assert session["cartItemAdditionalCostTotal"] == Decimal("4.5")
    assert session["total"] == Decimal("114.32")
    assert session["created"] == session["updated"]
    assert "returnedQuantity" not in session["cartItems"][0]


def test_money_is_sent_as_json_numbers_ids_as_integers_and_times_in_rfc3339_with_a_zone(
    client: Client,
) -> None:
    session = put(client, "order-1", {"cartItems": CART}, *WITH_SESSION)["customerSession"]

    for name in ("total", "cartItemTotal", "additionalCostTotal", "cartItemAdditionalCostTotal"):
        assert isinstance(session[name], Decimal | int), name
    assert isinstance(session["cartItems"][0]["price"], Decimal)
    assert isinstance(session["cartItems"][1]["additionalCosts"]["giftwrap"]["price"], Decimal)
    for name in ("id", "applicationId", "updateCount"):
        assert type(session[name]) is int, name
    assert type(session["cartItems"][1]["position"]) is int
    assert RFC3339.match(session["created"])
    assert RFC3339.match(session["updated"])


def test_money_is_summed_exactly_without_float_rounding(client: Client) -> None:
    cart = [{"sku": "A", "quantity": 1, "price": 0.1}, {"sku": "B", "quantity": 1, "price": 0.2}]

    response = client.put(
        url("order-1"),
        json={"customerSession": {"cartItems": cart}, "responseContent": WITH_SESSION},
    )

    assert '"cartItemTotal":0.3,' in response.text  # in floats, 0.1 + 0.2 is 0.30000000000000004
    assert exact(response.text)["customerSession"]["total"] == Decimal("0.3")


def test_the_session_is_in_the_answer_only_when_response_content_asks_for_it(
    client: Client,
) -> None:
    without = put(client, "order-1", {"cartItems": CART})
    with_it = put(client, "order-1", {"attributes": {"a": 1}}, *WITH_SESSION)

    assert "customerSession" not in without
    assert with_it["customerSession"]["attributes"] == {"a": 1}


def test_an_update_replaces_the_cart_merges_attributes_and_counts_one_more_update(
    client: Client,
) -> None:
    first = put(
        client, "order-1", {"cartItems": CART, "attributes": {"a": 1, "b": 2}}, *WITH_SESSION
    )["customerSession"]

    after = put(client, "order-1", {"cartItems": CART[1:], "attributes": {"b": 3}}, *WITH_SESSION)[
        "customerSession"
    ]

    assert [(i["sku"], i["position"]) for i in after["cartItems"]] == [("SOCK", 0)]
    assert after["attributes"] == {"a": 1, "b": 3}
    assert (after["id"], after["created"]) == (first["id"], first["created"])
    assert after["updateCount"] == 2
    assert after["updated"] > first["updated"]
    assert get(client, "order-1") == after


def test_closing_and_then_cancelling_through_put_moves_the_state(client: Client) -> None:
    closed = create_closed(client, "order-1")

    cancelled = put(client, "order-1", {"state": "cancelled"}, *WITH_SESSION)["customerSession"]

    assert (closed["state"], closed["updateCount"]) == ("closed", 2)
    assert (cancelled["state"], cancelled["updateCount"]) == ("cancelled", 3)
    assert get(client, "order-1")["state"] == "cancelled"


def test_get_answers_the_session_and_its_effects(client: Client) -> None:
    created = put(client, "order-1", {"cartItems": CART}, *WITH_SESSION)["customerSession"]

    response = client.get(url("order-1"))

    assert response.status_code == 200
    assert exact(response.text) == {"customerSession": created, "effects": []}


def test_get_of_an_unknown_session_is_a_404_in_talons_error_envelope(client: Client) -> None:
    response = client.get(url("never-created"))

    assert response.status_code == 404
    body = response.json()
    assert body["message"]
    assert body["errors"][0]["title"] == "not_found"
    assert body["errors"][0]["source"] == {"parameter": "customerSessionId"}


def test_a_dry_run_answers_the_result_but_stores_nothing(client: Client) -> None:
    closed = create_closed(client, "order-1")

    created = put(client, "new", {"cartItems": CART}, *WITH_SESSION, dry="true")
    cancelled = put(client, "order-1", {"state": "cancelled"}, *WITH_SESSION, dry="true")
    returned = client.post(
        url("order-1", "/returns"),
        params={"dry": "true"},
        json={"return": {"returnedCartItems": [{"position": 0}]}, "responseContent": WITH_SESSION},
    )

    assert created["customerSession"]["cartItemTotal"] == Decimal("104.87")
    assert cancelled["customerSession"]["state"] == "cancelled"
    assert returned.json()["customerSession"]["state"] == "partially_returned"
    assert client.get(url("new")).status_code == 404
    assert get(client, "order-1") == closed


def test_now_is_refused_without_dry_and_accepted_with_it(client: Client) -> None:
    refused = client.put(
        url("order-1"), params={"now": "2999-01-01T00:00:00Z"}, json={"customerSession": {}}
    )
    accepted = client.put(
        url("order-1"),
        params={"now": "2999-01-01T00:00:00Z", "dry": "true"},
        json={"customerSession": {}},
    )

    assert refused.status_code == 400
    assert refused.json()["errors"][0]["source"] == {"parameter": "now"}
    assert accepted.status_code == 200, accepted.text
    assert client.get(url("order-1")).status_code == 404


def test_unknown_request_fields_are_ignored(client: Client) -> None:
    answer = put(
        client,
        "order-1",
        {
            "evaluableCampaignIds": [1, 2],
            "somethingNew": {"x": 1},
            "cartItems": [{"sku": "SHOE", "quantity": 1, "price": 5, "catalogItemID": 3}],
        },
        *WITH_SESSION,
    )

    assert answer["customerSession"]["cartItemTotal"] == 5
    assert "somethingNew" not in answer["customerSession"]
    assert "catalogItemID" not in answer["customerSession"]["cartItems"][0]
