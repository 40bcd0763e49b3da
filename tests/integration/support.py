"""Helpers shared by the integration tests: the event log, Talon's JSON, HTTP calls."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from eventsourcing.persistence import Notification
from litestar.testing import TestClient

from sessionstore.adapters.kafka import IncomingRecord
from sessionstore.adapters.readmodel_writer import ReadModelWriter
from sessionstore.application import SessionStore

Client = TestClient[Any]


def notifications(store: SessionStore) -> list[Notification]:
    """The whole notification log, read a section (10 notifications) at a time."""
    stored: list[Notification] = []
    while page := store.notification_log.select(start=stored[-1].id + 1 if stored else 1, limit=10):
        stored.extend(page)
    return stored


def feed(store: SessionStore, readmodels: Iterable[ReadModelWriter]) -> None:
    """Apply everything stored so far to the read models, as Kafka records (as a projector
    would, from partition 0)."""
    records = [
        IncomingRecord(
            topic="sessions",
            partition=0,
            offset=offset,
            key=str(n.originator_id).encode(),
            value=n.state,
            headers=(),
        )
        for offset, n in enumerate(n for n in notifications(store) if "session." in n.topic)
    ]
    for rm in readmodels:
        rm.apply(records, "in-process")


def url(integration_id: str, suffix: str = "") -> str:
    return f"/v2/customer_sessions/{integration_id}{suffix}"


def exact(text: str) -> dict[str, Any]:
    """Parse JSON with numbers as Decimal, so a number and a string can never be confused."""
    document: dict[str, Any] = json.loads(text, parse_float=Decimal)
    return document


RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
CART = [
    {"name": "Sneakers", "sku": "SHOE", "quantity": 1, "price": 89.90},
    {"sku": "SOCK", "quantity": 3, "price": 4.99, "additionalCosts": {"giftwrap": {"price": 1.5}}},
]
WITH_SESSION = ["customerSession"]


def put(
    client: Client,
    integration_id: str,
    session: dict[str, Any],
    *content: str,
    status: int = 200,
    **params: str,
) -> dict[str, Any]:
    response = client.put(
        url(integration_id),
        params=params,
        json={"customerSession": session, "responseContent": list(content)},
    )
    assert response.status_code == status, response.text
    return exact(response.text)


def get(client: Client, integration_id: str) -> dict[str, Any]:
    response = client.get(url(integration_id))
    assert response.status_code == 200, response.text
    session: dict[str, Any] = exact(response.text)["customerSession"]
    return session


def create_closed(client: Client, integration_id: str) -> dict[str, Any]:
    put(client, integration_id, {"profileId": "alice", "cartItems": CART})
    closed: dict[str, Any] = put(client, integration_id, {"state": "closed"}, *WITH_SESSION)[
        "customerSession"
    ]
    return closed
