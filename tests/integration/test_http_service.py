"""API keys, health and the OpenAPI document of the served Integration API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.support import Client, url

SEVEN = {"Authorization": "ApiKey-v1 key-seven"}
EIGHT = {"Authorization": "ApiKey-v1 key-eight"}
CART = [{"sku": "SHOE", "quantity": 1, "price": 10}]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no header"),
        pytest.param({"Authorization": "ApiKey-v1 nobody"}, id="unknown key"),
        pytest.param({"Authorization": "Bearer key-seven"}, id="wrong scheme"),
        pytest.param({"Authorization": "ApiKey-v1 "}, id="empty key"),
    ],
)
def test_a_request_without_a_known_api_key_is_a_401_in_talons_envelope(
    keyed_client: Client, headers: dict[str, str]
) -> None:
    calls = [
        keyed_client.put(url("order-1"), json={"customerSession": {}}, headers=headers),
        keyed_client.get(url("order-1"), headers=headers),
        keyed_client.post(
            url("order-1", "/returns"),
            headers=headers,
            json={"return": {"returnedCartItems": [{"position": 0}]}},
        ),
        keyed_client.put(url("order-1", "/reopen"), headers=headers),
    ]

    for response in calls:
        assert response.status_code == 401, response.text
        assert response.json()["errors"][0]["source"] == {"parameter": "Authorization"}
    assert keyed_client.get(url("order-1"), headers=SEVEN).status_code == 404


def test_each_api_key_belongs_to_its_own_application(keyed_client: Client) -> None:
    seven = keyed_client.put(
        url("order-1"),
        headers=SEVEN,
        json={"customerSession": {"cartItems": CART}, "responseContent": ["customerSession"]},
    )
    eight = keyed_client.put(
        url("order-1"),
        headers=EIGHT,
        json={"customerSession": {}, "responseContent": ["customerSession"]},
    )

    assert (seven.status_code, eight.status_code) == (200, 200)
    in_seven, in_eight = seven.json()["customerSession"], eight.json()["customerSession"]
    assert (in_seven["applicationId"], in_eight["applicationId"]) == (7, 8)
    assert in_seven["id"] != in_eight["id"]
    assert keyed_client.get(url("order-1"), headers=SEVEN).json()["customerSession"] == in_seven
    assert keyed_client.get(url("order-1"), headers=EIGHT).json()["customerSession"] == in_eight


def test_a_session_of_one_application_is_unknown_to_another(keyed_client: Client) -> None:
    keyed_client.put(url("only-seven"), headers=SEVEN, json={"customerSession": {}})

    assert keyed_client.get(url("only-seven"), headers=EIGHT).status_code == 404
    assert keyed_client.put(url("only-seven", "/reopen"), headers=EIGHT).status_code == 404


def test_without_api_keys_every_request_belongs_to_application_1(client: Client) -> None:
    response = client.put(
        url("order-1"),
        headers=SEVEN,
        json={"customerSession": {}, "responseContent": ["customerSession"]},
    )

    assert response.status_code == 200
    assert response.json()["customerSession"]["applicationId"] == 1


def test_health_answers_200_without_an_api_key(client: Client, keyed_client: Client) -> None:
    for response in (client.get("/health"), keyed_client.get("/health")):
        assert response.status_code == 200
        assert response.json()["status"] == "ok"


def test_the_openapi_document_describes_every_served_path(sqlite_client: Client) -> None:
    response = sqlite_client.get("/openapi.json")

    assert response.status_code == 200
    document = json.loads(response.text)
    session = "/v2/customer_sessions/{customerSessionId}"
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        session,
        f"{session}/returns",
        f"{session}/reopen",
        f"{session}/history",
        "/readmodels/{projection}/{applicationId}/{integrationId}",
        "/v1/applications/{applicationId}/sessions",
        "/v1/applications/{applicationId}/sessions/{sessionId}",
        "/health",
    }
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert {
        "updateCustomerSessionV2",
        "getCustomerSession",
        "returnCartItems",
        "reopenCustomerSession",
    } <= operations
    for path in document["paths"].values():
        for operation in path.values():
            for status, answer in operation["responses"].items():
                assert answer["content"]["application/json"]["schema"], (operation, status)
    for ref in refs(document):
        assert ref.rsplit("/", 1)[-1] in document["components"]["schemas"], ref
    assert set(document["components"]["securitySchemes"]) == {"api_key_v1", "management_key"}


def refs(document: Any) -> Iterator[str]:
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(document, list):
        for value in document:
            yield from refs(value)


def test_the_openapi_document_says_amounts_are_numbers(sqlite_client: Client) -> None:
    schemas = sqlite_client.get("/openapi.json").json()["components"]["schemas"]

    assert '"decimal"' not in json.dumps(schemas)
    price = schemas["CartItem"]["properties"]["price"]["anyOf"][0]
    assert price["type"] == "number"
    assert schemas["CustomerSessionV2"]["properties"]["total"]["type"] == "number"


def test_an_unknown_path_is_a_404_in_talons_envelope(sqlite_client: Client) -> None:
    response = sqlite_client.get("/v2/nothing-here")

    assert response.status_code == 404
    assert response.json()["errors"][0]["title"] == "not_found"
