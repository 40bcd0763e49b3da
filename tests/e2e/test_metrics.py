"""GET /metrics of a real `sessionstore run`: it parses with prometheus_client's own parser,
and it moves: requests and commands are counted, events applied, and both lags return to 0
once the read models caught up."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sessionstore.adapters.broker import EmbeddedBroker, free_port
from sessionstore.adapters.kafka import ensure_topic
from sessionstore.application import SessionStore
from sessionstore.config import Settings
from tests.e2e.pipeline import lifecycles
from tests.e2e.processes import launcher, poll_until, start_run, stream_env
from tests.e2e.test_run_command import CART, run_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: httpx.Client) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def test_metrics_count_requests_and_commands_and_lags_return_to_zero(tmp_path: Path) -> None:
    with launcher(tmp_path) as running:
        process, client = start_run(running, run_env(tmp_path))
        with client:
            before = scrape(client)
            for i in range(5):
                body = {"customerSession": {"profileId": f"p{i}", "cartItems": CART}}
                assert client.put(f"/v2/customer_sessions/m-{i}", json=body).status_code == 200
            bad = {"customerSession": {"cartItems": [{"sku": "", "quantity": 1}]}}
            assert client.put("/v2/customer_sessions/m-bad", json=bad).status_code == 400

            def caught_up() -> bool:
                now = scrape(client)
                lags = [
                    v for (n, _), v in now.items() if n == "sessionstore_projection_lag_records"
                ]
                applied = total(now, "sessionstore_projection_applied_total", projection="v2")
                return (
                    now[("sessionstore_relay_lag_events", ())] == 0
                    and bool(lags)
                    and not any(lags)
                    and applied >= 5
                )

            poll_until(caught_up, "both lags at 0 and 5 events applied", process)
            after = scrape(client)

    route = "/v2/customer_sessions/{customer_session_id:str}"
    count = "sessionstore_http_request_duration_seconds_count"
    assert (
        total(after, count, method="PUT", route=route, status="200")
        - total(before, count, method="PUT", route=route, status="200")
        == 5
    )
    assert total(after, "sessionstore_commands_total", command="update", outcome="ok") == 5
    assert total(after, "sessionstore_commands_total", command="update", outcome="rejected") == 1
    assert after[("sessionstore_parked_records", (("projection", "v1"),))] == 0
    labels = {label for (_, ls) in after for label in ls}
    assert not any("m-" in value or value == "p1" for _, value in labels)  # no customer data


async def test_relay_and_project_serve_their_metrics_on_their_health_port(
    tmp_path: Path, sqlite_store: SessionStore, sqlite_url: str, own_broker: EmbeddedBroker
) -> None:
    kafka = await ensure_topic(Settings().kafka(own_broker.bootstrap, embedded=True))
    env = stream_env(sqlite_url, f"sqlite:///{tmp_path / 'rm.db'}", kafka.bootstrap, kafka.topic)
    lifecycles(sqlite_store, "scraped", count=3, rounds=1)
    relay_port, project_port = free_port(), free_port()
    with launcher(tmp_path) as running:
        relay = running.start(env, "relay", "--port", str(relay_port))
        running.start(env, "project", "all", "--port", str(project_port))
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{relay_port}", timeout=5) as relay_client,
            httpx.Client(base_url=f"http://127.0.0.1:{project_port}", timeout=5) as project_client,
        ):

            def settled() -> bool:
                try:
                    relayed, projected = scrape(relay_client), scrape(project_client)
                except httpx.TransportError:
                    return False
                applied = total(projected, "sessionstore_projection_applied_total")
                lags = [
                    v
                    for (n, _), v in projected.items()
                    if n == "sessionstore_projection_lag_records"
                ]
                return (
                    relayed.get(("sessionstore_relay_lag_events", ())) == 0
                    and applied > 0
                    and bool(lags)
                    and not any(lags)
                )

            poll_until(settled, "the relay and the projector to report caught up", relay)
