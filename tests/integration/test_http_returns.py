"""Returns (with Idempotency-Key) and reopening over HTTP, on a real event store."""

from __future__ import annotations

from tests.integration.support import (
    RFC3339,
    WITH_SESSION,
    Client,
    create_closed,
    exact,
    get,
    url,
)


def test_a_return_answers_a_return_entity_with_every_required_field(client: Client) -> None:
    closed = create_closed(client, "order-1")

    response = client.post(
        url("order-1", "/returns"),
        json={
            "return": {"returnedCartItems": [{"position": 1, "quantity": 2}]},
            "responseContent": WITH_SESSION,
        },
    )

    assert response.status_code == 200, response.text
    answer = exact(response.text)
    entity = answer["return"]
    fields = (
        "applicationId",
        "accountId",
        "returnedCartItems",
        "sessionId",
        "sessionIntegrationId",
        "profileIntegrationId",
    )
    assert {k: entity[k] for k in fields} == {
        "applicationId": 1,
        "accountId": 1,
        "returnedCartItems": [{"position": 1, "quantity": 2}],
        "sessionId": closed["id"],
        "sessionIntegrationId": "order-1",
        "profileIntegrationId": "alice",
    }
    assert all(type(entity[k]) is int and entity[k] > 0 for k in ("id", "eventId", "profileId"))
    assert RFC3339.match(entity["created"])
    session = answer["customerSession"]
    assert session["state"] == "partially_returned"
    assert [(i["returnedQuantity"], i["remainingQuantity"]) for i in session["cartItems"]] == [
        (0, 1),
        (2, 1),
    ]
    assert (session["total"], session["updateCount"]) == (closed["total"], 2)


def test_a_return_repeated_with_the_same_idempotency_key_answers_the_same_and_returns_once(
    client: Client,
) -> None:
    create_closed(client, "order-1")
    request = {"return": {"returnedCartItems": [{"sku": "SOCK", "quantity": 1}]}}

    first = client.post(url("order-1", "/returns"), json=request, headers={"Idempotency-Key": "k"})
    again = client.post(url("order-1", "/returns"), json=request, headers={"Idempotency-Key": "k"})

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["return"] == first.json()["return"]
    assert get(client, "order-1")["cartItems"][1]["returnedQuantity"] == 1


def test_a_second_return_lists_the_first_in_previous_returns_when_asked(client: Client) -> None:
    create_closed(client, "order-1")
    returns = url("order-1", "/returns")
    first = client.post(returns, json={"return": {"returnedCartItems": [{"position": 0}]}})

    second = client.post(
        returns,
        json={
            "return": {"returnedCartItems": [{"position": 1}]},
            "responseContent": ["previousReturns"],
        },
    )

    assert second.status_code == 200, second.text
    assert second.json()["previousReturns"] == [first.json()["return"]]
    assert second.json()["return"]["id"] != first.json()["return"]["id"]


def test_reopening_a_closed_session_answers_empty_effects_and_opens_it(client: Client) -> None:
    closed = create_closed(client, "order-1")

    response = client.put(url("order-1", "/reopen"))

    assert response.status_code == 200, response.text
    assert response.json() == {"effects": []}
    reopened = get(client, "order-1")
    assert reopened["state"] == "open"
    assert reopened["updateCount"] == closed["updateCount"]
    assert reopened["updated"] > closed["updated"]
