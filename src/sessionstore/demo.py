"""A short scripted session life over HTTP, for `sessionstore run` and `sessionstore demo`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

STEPS: tuple[tuple[str, str, str, dict[str, Any] | None], ...] = (
    (
        "create an open cart",
        "PUT",
        "",
        {
            "customerSession": {
                "profileId": "demo-customer",
                "couponCodes": ["WELCOME10"],
                "cartItems": [
                    {"name": "Sneakers", "sku": "SKU-SNEAK", "quantity": 1, "price": 89.90},
                    {
                        "name": "Socks",
                        "sku": "SKU-SOCK",
                        "quantity": 3,
                        "price": 4.99,
                        "additionalCosts": {"giftwrap": {"price": 1.5}},
                    },
                ],
                "additionalCosts": {"shipping": {"price": 4.95}},
                "attributes": {"channel": "web"},
            },
            "responseContent": ["customerSession"],
        },
    ),
    (
        "close it (the order is placed)",
        "PUT",
        "",
        {"customerSession": {"state": "closed"}, "responseContent": ["customerSession"]},
    ),
    (
        "return one pair of socks",
        "POST",
        "/returns",
        {
            "return": {"returnedCartItems": [{"sku": "SKU-SOCK", "quantity": 1}]},
            "responseContent": ["customerSession"],
        },
    ),
    (
        "cancel the rest (a revocation)",
        "PUT",
        "",
        {"customerSession": {"state": "cancelled"}, "responseContent": ["customerSession"]},
    ),
)


def call(
    base: str, method: str, path: str, body: dict[str, Any] | None, api_key: str | None = None
) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"ApiKey-v1 {api_key}"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def run_demo(base_url: str, api_key: str | None = None, say: Callable[[str], None] = print) -> str:
    """Drive one session through its life (as the key's application, if given); return its
    integration id."""
    integration_id = f"demo-{uuid.uuid4().hex[:8]}"
    path = f"{base_url}/v2/customer_sessions/{integration_id}"
    for title, method, suffix, body in STEPS:
        session = call(path, method, suffix, body, api_key)["customerSession"]
        say(
            f"{title:34} state={session['state']:<19} total={session['total']:<8} "
            f"updateCount={session['updateCount']} updated={session['updated']}"
        )
    say(f"GET {path} shows the session; GET {base_url}/openapi.json describes the API.")
    return integration_id


def failure(url: str, error: OSError) -> str:
    """One line on why the demo could not run."""
    if isinstance(error, urllib.error.HTTPError):
        try:
            details = json.loads(error.read())["errors"][0]["details"]
        except (ValueError, KeyError, IndexError, TypeError):
            details = error.reason
        return f"{url} answered {error.code}: {details}"
    return f"cannot reach {url}: {error}"
