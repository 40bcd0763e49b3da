"""Keys on every path: each endpoint against every kind of key (none, wrong, another
application's, a management key on the Integration API, an API key on the Management API)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from sessionstore.application import SessionStore
from sessionstore.config import Settings
from sessionstore.http.app import create_app
from sessionstore.runtime import open_readmodels
from tests.integration.support import CART, Client, feed, notifications, url

SEVEN, EIGHT, MANAGEMENT = "key-seven", "key-eight", "mgmt-key"
KEYED = Settings(api_keys={SEVEN: 7, EIGHT: 8}, management_keys=frozenset({MANAGEMENT}))
SESSION = "order-7"
INTEGRATION = [
    ("GET", url(SESSION)),
    ("GET", url(SESSION, "/history")),
    ("PUT", url(SESSION)),
    ("POST", url(SESSION, "/returns")),
    ("PUT", url(SESSION, "/reopen")),
    ("GET", f"/readmodels/v2/7/{SESSION}"),
]
MANAGEMENT_API = [("GET", "/v1/applications/7/sessions"), ("GET", "/v1/applications/7/sessions/1")]
WRONG = {
    "no key": {},
    "an unknown key": {"Authorization": "ApiKey-v1 nope"},
    "an unknown management key": {"Authorization": "ManagementKey-v1 nope"},
}


def api(key: str) -> dict[str, str]:
    return {"Authorization": f"ApiKey-v1 {key}"}


MANAGER = {"Authorization": f"ManagementKey-v1 {MANAGEMENT}"}
BODIES = {
    "PUT": {"customerSession": {"state": "closed"}},
    "POST": {"return": {"returnedCartItems": [{"position": 0}]}},
}


def app_client(store: SessionStore, database_url: str, settings: Settings) -> Iterator[Client]:
    readmodels = open_readmodels(Settings(readmodel_url=database_url))
    try:
        with TestClient(
            create_app(store, settings, readmodels={n: rm.queries for n, rm in readmodels.items()})
        ) as client:
            put = client.put(
                url(SESSION), json={"customerSession": {"cartItems": CART}}, headers=api(SEVEN)
            )
            assert put.status_code in (200, 401), put.text
            feed(store, readmodels.values())
            yield client
    finally:
        for rm in readmodels.values():
            rm.close()


@pytest.fixture
def keyed(store: SessionStore, database_url: str) -> Iterator[Client]:
    """API keys for applications 7 and 8, one management key; application 7 has a session."""
    yield from app_client(store, database_url, KEYED)


def send(client: Client, method: str, path: str, headers: dict[str, str]) -> int:
    return client.request(method, path, json=BODIES.get(method), headers=headers).status_code


def unauthorized(client: Client, method: str, path: str, headers: dict[str, str]) -> None:
    response = client.request(method, path, json=BODIES.get(method), headers=headers)
    assert response.status_code == 401, response.text
    (error,) = response.json()["errors"]
    assert error["source"]["parameter"] == "Authorization"


@pytest.mark.parametrize(("method", "path"), INTEGRATION + MANAGEMENT_API)
@pytest.mark.parametrize("wrong", list(WRONG))
def test_without_a_valid_key_every_path_is_a_401_and_nothing_changes(
    keyed: Client, store: SessionStore, method: str, path: str, wrong: str
) -> None:
    before = notifications(store)

    unauthorized(keyed, method, path, WRONG[wrong])

    assert notifications(store) == before


@pytest.mark.parametrize(("method", "path"), INTEGRATION)
def test_a_management_key_opens_no_integration_path(
    keyed: Client, store: SessionStore, method: str, path: str
) -> None:
    before = notifications(store)

    unauthorized(keyed, method, path, MANAGER)

    assert notifications(store) == before


@pytest.mark.parametrize(("method", "path"), MANAGEMENT_API)
@pytest.mark.parametrize("key", [SEVEN, EIGHT])
def test_an_api_key_opens_no_management_path(
    keyed: Client, method: str, path: str, key: str
) -> None:
    unauthorized(keyed, method, path, api(key))


@pytest.mark.parametrize(
    "path", [url(SESSION), url(SESSION, "/history"), f"/readmodels/v2/7/{SESSION}"]
)
def test_another_applications_key_does_not_find_the_session(keyed: Client, path: str) -> None:
    assert send(keyed, "GET", path, api(EIGHT)) == 404
    assert send(keyed, "GET", path, api(SEVEN)) == 200


def test_another_applications_key_cannot_touch_the_session(
    keyed: Client, store: SessionStore
) -> None:
    for method, path in INTEGRATION:
        if method != "GET":
            send(keyed, method, path, api(EIGHT))  # acts on application 8's own "order-7"

    session = keyed.get(url(SESSION), headers=api(SEVEN)).json()["customerSession"]
    assert session["state"] == "open"
    assert session["updateCount"] == 1


def test_a_management_key_reads_every_application(keyed: Client) -> None:
    listed = keyed.get("/v1/applications/7/sessions", headers=MANAGER)
    assert listed.status_code == 200, listed.text
    (row,) = listed.json()["data"]
    assert row["integrationId"] == SESSION

    one = keyed.get(f"/v1/applications/7/sessions/{row['id']}", headers=MANAGER)
    assert one.status_code == 200, one.text
    assert keyed.get("/v1/applications/8/sessions", headers=MANAGER).json()["data"] == []


def test_with_api_keys_and_no_management_keys_the_management_api_is_closed(
    store: SessionStore, database_url: str
) -> None:
    settings = Settings(api_keys={SEVEN: 7})
    for client in app_client(store, database_url, settings):
        for method, path in MANAGEMENT_API:
            for headers in (MANAGER, api(SEVEN), {}):
                unauthorized(client, method, path, headers)


@pytest.mark.parametrize("path", ["/health", "/openapi.json"])
def test_health_and_the_openapi_document_stay_open(keyed: Client, path: str) -> None:
    assert keyed.get(path).status_code == 200
