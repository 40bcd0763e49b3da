"""This process's Prometheus metrics, served as `GET /metrics` by the HTTP API and by the
health port of `relay` and `project`. Labels carry route templates, projection names,
partitions and outcomes: never an id, a key or anything else of a customer.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

HTTP_DURATION = Histogram(
    "sessionstore_http_request_duration_seconds",
    "HTTP requests by method, route template and status",
    ["method", "route", "status"],
)
COMMANDS = Counter(
    "sessionstore_commands_total",
    "Integration API commands by outcome (ok, rejected, unauthorized, not_found, conflict, "
    "too_large, failed)",
    ["command", "outcome"],
)
RELAY_LAG = Gauge(
    "sessionstore_relay_lag_events",
    "Session events in the event store the relay has not published (NaN: no relay publishes "
    "from this process)",
)
RELAY_LAG.set(float("nan"))
PROJECTION_LAG = Gauge(
    "sessionstore_projection_lag_records",
    "Records on the topic past what the projection has stored (the fetch high watermark "
    "minus the stored offset)",
    ["projection", "partition"],
)
APPLIED = Counter(
    "sessionstore_projection_applied_total", "Events applied to a read model", ["projection"]
)
PARKED = Gauge("sessionstore_parked_records", "Records a projection set aside", ["projection"])

_ADOPTED: dict[tuple[str, str], float] = {}  # the child's counters as last adopted


def adopt(text: str) -> None:
    """Take over the projection metrics of a child process (the projector of `run`) from
    its /metrics text, so that this process's /metrics reports them: gauges are set, the
    counter moves by what the child's moved (from 0 again after the child restarted)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "sessionstore_projection_lag_records":
                PROJECTION_LAG.labels(labels["projection"], labels["partition"]).set(sample.value)
            elif sample.name == "sessionstore_parked_records":
                PARKED.labels(labels["projection"]).set(sample.value)
            elif sample.name == "sessionstore_projection_applied_total":
                key = (sample.name, labels["projection"])
                before = _ADOPTED.get(key, 0.0)
                moved = sample.value - before if sample.value >= before else sample.value
                APPLIED.labels(labels["projection"]).inc(moved)
                _ADOPTED[key] = sample.value


COMMAND_ROUTES = {
    ("PUT", "/v2/customer_sessions/{customer_session_id:str}"): "update",
    ("POST", "/v2/customer_sessions/{customer_session_id:str}/returns"): "return",
    ("PUT", "/v2/customer_sessions/{customer_session_id:str}/reopen"): "reopen",
}
OUTCOMES = {
    400: "rejected",
    401: "unauthorized",
    404: "not_found",
    409: "conflict",
    413: "too_large",
}

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST


def measured(app: ASGIApp) -> Any:
    """ASGI middleware timing every HTTP request under its route template (Litestar runs
    it for requests that matched a route)."""

    async def middleware(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            _observe(scope, status, time.perf_counter() - started)

    return middleware


def route_template(scope: Any) -> str | None:
    """The path template of the route an ASGI scope matched (`/v2/.../{customer_session_id:str}`),
    None before routing or when none matched."""
    paths = sorted(getattr(scope.get("route_handler"), "paths", ()) or ())
    return str(paths[0]) if paths else None


def _observe(scope: Scope, status: int, seconds: float) -> None:
    route = route_template(scope) or "unmatched"
    method = str(scope.get("method", ""))
    HTTP_DURATION.labels(method, route, str(status)).observe(seconds)
    if command := COMMAND_ROUTES.get((method, route)):
        outcome = "ok" if status < 300 else OUTCOMES.get(status, "failed")
        COMMANDS.labels(command, outcome).inc()
