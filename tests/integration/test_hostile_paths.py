"""Hostile paths: an id is exactly one path segment, and a bad segment is a 400 that names
its parameter and changes no session (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from sessionstore.application import SessionStore
from sessionstore.config import Settings
from sessionstore.http.app import create_app
from sessionstore.runtime import open_queries
from tests.integration.support import CART, Client, create_closed, notifications, put, url

RETURN = {"returnedCartItems": [{"position": 0}]}


@pytest.fixture
def reads(store: SessionStore, database_url: str) -> Iterator[Client]:
    """The app with its read endpoints, as `serve` runs it."""
    readmodels = open_queries(Settings(readmodel_url=database_url))
    try:
        with TestClient(create_app(store, Settings(), readmodels=readmodels)) as client:
            yield client
    finally:
        for rm in readmodels.values():
            rm.close()


def refused(response: Any, parameter: str) -> None:
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["source"]["parameter"] == parameter, error


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/v2/customer_sessions/X%2Freopen", None),
        ("PUT", "/v2/customer_sessions/X%2freopen", None),
        ("POST", "/v2/customer_sessions/X%2Freturns", {"return": RETURN}),
        ("GET", "/v2/customer_sessions/X%2Fhistory", None),
        ("PUT", "/v2/customer_sessions/%2FX", {"customerSession": {"state": "open"}}),
    ],
)
def test_an_encoded_slash_never_reaches_another_session(
    client: Client, store: SessionStore, method: str, path: str, body: Any
) -> None:
    create_closed(client, "X")
    before = notifications(store)

    refused(client.request(method, path, json=body), "customerSessionId")

    assert notifications(store) == before
    assert client.get(url("X")).json()["customerSession"]["state"] == "closed"


@pytest.mark.parametrize(
    "raw_id", ["bad%00id", "bad%0Aid", "bad%0D%0Aforged", "bad%7Fid", "bad%FFid", "bad%FEid"]
)
def test_control_characters_and_invalid_utf8_in_an_id_are_refused(
    client: Client, store: SessionStore, raw_id: str
) -> None:
    response = client.put(
        f"/v2/customer_sessions/{raw_id}", json={"customerSession": {"cartItems": CART}}
    )

    refused(response, "customerSessionId")
    assert notifications(store) == []


def test_an_empty_segment_before_an_id_is_refused(client: Client, store: SessionStore) -> None:
    put(client, "X", {"cartItems": CART})
    before = notifications(store)

    response = client.put("/v2/customer_sessions//X", json={"customerSession": {"state": "closed"}})

    assert response.status_code in (400, 404), response.text
    assert notifications(store) == before


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/v1/applications/9223372036854775808/sessions", "applicationId"),
        ("/v1/applications/1/sessions/18446744073709551616", "sessionId"),
        ("/readmodels/v2/18446744073709551616/x", "applicationId"),
        ("/readmodels/v2/1/bad%00id", "integrationId"),
    ],
)
def test_path_values_that_storage_cannot_hold_are_refused(
    reads: Client, path: str, parameter: str
) -> None:
    refused(reads.get(path), parameter)


@pytest.mark.parametrize("name", ["skip", "pageSize"])
def test_query_numbers_beyond_64_bits_are_refused(reads: Client, name: str) -> None:
    response = reads.get("/v1/applications/1/sessions", params={name: str(2**64)})

    refused(response, name)


def test_a_negative_application_id_is_below_the_minimum(reads: Client) -> None:
    response = reads.get("/v1/applications/-1/sessions")

    refused(response, "applicationId")
    assert response.json()["errors"][0]["title"] == "minimum"
