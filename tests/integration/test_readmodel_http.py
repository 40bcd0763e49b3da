"""The read endpoints over read models fed in-process (SQLite and PostgreSQL).

Sessions are written through the HTTP API; the read models are fed with the store's own
notifications as Kafka records (`ReadModelWriter.apply`, as the projector does), then read back
through GET /readmodels/... and Talon's Management API sessions.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import TestClient

from sessionstore.adapters.readmodel_writer import ReadModelWriter
from sessionstore.application import SessionStore
from sessionstore.config import Settings
from sessionstore.domain.changes import SessionUpdate
from sessionstore.http.app import create_app
from sessionstore.runtime import open_readmodels
from tests.integration.support import CART, Client, exact, feed, get, put

ORDER = ["o-1", "o-2", "o-3", "o-4", "o-5"]


class Reads:
    """The app with its read models, and a way to feed them everything stored so far."""

    def __init__(self, client: Client, store: SessionStore, readmodels: dict[str, ReadModelWriter]):
        self.client = client
        self._store = store
        self._readmodels = readmodels

    def feed(self) -> None:
        feed(self._store, self._readmodels.values())

    def json(self, path: str, status: int = 200, **params: Any) -> dict[str, Any]:
        response = self.client.get(path, params=params)
        assert response.status_code == status, response.text
        return exact(response.text)

    def listed(self, **params: Any) -> tuple[list[str], bool]:
        page = self.json("/v1/applications/1/sessions", **params)
        assert {row["totalDiscounts"] for row in page["data"]} <= {0}
        return [row["integrationId"] for row in page["data"]], page["hasMore"]


@pytest.fixture
def reads(store: SessionStore, database_url: str) -> Iterator[Reads]:
    readmodels = open_readmodels(Settings(readmodel_url=database_url))
    app = create_app(store, Settings(), readmodels={n: rm.queries for n, rm in readmodels.items()})
    try:
        with TestClient(app) as client:
            yield Reads(client, store, readmodels)
    finally:
        for readmodels_store in readmodels.values():
            readmodels_store.close()


def write_sessions(reads: Reads, store: SessionStore) -> None:
    """Five sessions of application 1, in this order, and one of application 2."""
    client = reads.client
    put(client, "o-1", {"profileId": "alice", "cartItems": CART, "couponCodes": ["SPRING"]})
    put(client, "o-1", {"referralCode": "FRIEND1", "discounts": {"a": 2, "b": 0.5}})
    put(client, "o-2", {"profileId": "alice", "cartItems": CART, "storeIntegrationId": "store-9"})
    put(client, "o-2", {"state": "closed"})
    put(client, "o-3", {"profileId": "bob", "cartItems": CART, "couponCodes": ["SPRING"]})
    put(client, "o-3", {"state": "closed"})
    returned = {"return": {"returnedCartItems": [{"position": 0, "quantity": 1}]}}
    assert client.post("/v2/customer_sessions/o-3/returns", json=returned).status_code == 200
    put(client, "o-4", {"profileId": "carol", "cartItems": CART, "state": "closed"})
    put(client, "o-4", {"state": "cancelled"})
    put(client, "o-5", {"cartItems": CART})
    store.update_session(2, "elsewhere", SessionUpdate(profile_id="alice"))
    reads.feed()


def test_stored_documents_equal_the_sessions_the_write_side_answers(
    reads: Reads, store: SessionStore
) -> None:
    write_sessions(reads, store)
    reads.feed()  # every record a second time: skipped as duplicates, nothing changes

    for sid in ORDER:
        assert reads.json(f"/readmodels/v2/1/{sid}") == get(reads.client, sid)
        assert reads.json(f"/readmodels/v1/1/{sid}")["state"] == get(reads.client, sid)["state"]
        stored = reads.json(f"/readmodels/application-sessions/1/{sid}")
        assert reads.json(f"/v1/applications/1/sessions/{stored['id']}") == stored
    assert reads.json("/readmodels/application-sessions/1/o-1")["totalDiscounts"] == Decimal("2.5")
    assert reads.json("/readmodels/v2/2/elsewhere")["applicationId"] == 2


def test_the_management_api_filters_sorts_and_pages_like_talon(
    reads: Reads, store: SessionStore
) -> None:
    write_sessions(reads, store)
    created = {sid: reads.json(f"/readmodels/v2/1/{sid}")["created"] for sid in ORDER}

    assert reads.listed() == (ORDER, False)
    assert reads.listed(sort="-created") == (ORDER[::-1], False)
    assert reads.listed(sort="integrationId") == (sorted(ORDER), False)
    assert reads.listed(state="closed") == (["o-2"], False)
    assert reads.listed(state="partially_returned") == (["o-3"], False)
    assert reads.listed(profile="alice") == (["o-1", "o-2"], False)
    assert reads.listed(coupon="SPRING") == (["o-1", "o-3"], False)
    assert reads.listed(referral="FRIEND1") == (["o-1"], False)
    assert reads.listed(integrationId="o-4") == (["o-4"], False)
    assert reads.listed(storeIntegrationId="store-9") == (["o-2"], False)
    assert reads.listed(profile="lic", partialMatch="true") == (["o-1", "o-2"], False)
    assert reads.listed(createdAfter=created["o-3"]) == (["o-4", "o-5"], False)
    assert reads.listed(createdBefore=created["o-2"]) == (["o-1"], False)
    assert reads.listed(pageSize=2) == (ORDER[:2], True)
    assert reads.listed(pageSize=2, skip=2) == (ORDER[2:4], True)
    assert reads.listed(pageSize=2, skip=4) == (ORDER[4:], False)
    assert reads.json("/v1/applications/2/sessions")["data"][0]["integrationId"] == "elsewhere"


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"pageSize": "0"}, "pageSize"),
        ({"pageSize": "1001"}, "pageSize"),
        ({"pageSize": "ten"}, "pageSize"),
        ({"skip": "-1"}, "skip"),
        ({"sort": "bogus"}, "sort"),
        ({"sort": "-total"}, "sort"),
        ({"state": "bogus"}, "state"),
        ({"createdBefore": "notadate"}, "createdBefore"),
        ({"createdAfter": "2025-01-01T00:00:00"}, "createdAfter"),
        ({"partialMatch": "yes"}, "partialMatch"),
        ({"profile": "al", "partialMatch": "true"}, "profile"),
        ({"coupon": "SP", "partialMatch": "true"}, "coupon"),
    ],
)
def test_a_bad_query_parameter_gets_400_in_talons_envelope_naming_it(
    reads: Reads, query: dict[str, str], parameter: str
) -> None:
    body = reads.json("/v1/applications/1/sessions", 400, **query)

    assert body["message"] == "The submitted data was invalid"
    assert [error["source"]["parameter"] for error in body["errors"]] == [parameter]
    assert parameter in body["errors"][0]["details"]


def test_unknown_sessions_and_read_models_get_404_in_talons_envelope(
    reads: Reads, store: SessionStore
) -> None:
    write_sessions(reads, store)
    put(reads.client, "not-fed-yet", {"cartItems": CART})  # stored, not yet projected

    for path in (
        "/readmodels/v2/1/never-written",
        "/readmodels/v2/1/not-fed-yet",
        "/readmodels/v2/2/o-1",
        "/readmodels/v9/1/o-1",
        "/v1/applications/1/sessions/999999",
    ):
        body = reads.json(path, 404)
        assert body["message"] == "Not found", path
        assert [error["title"] for error in body["errors"]] == ["not_found"], path
