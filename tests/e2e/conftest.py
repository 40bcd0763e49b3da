"""One `sessionstore serve` process per module, and an SDK client authenticated against it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from talon_one import IntegrationApi

from sessionstore.adapters.broker import EmbeddedBroker
from tests.e2e.sdk import API_KEYS, MANAGEMENT_KEY, integration_api
from tests.e2e.server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Stopped in a finalizer; no request may have crashed it into a traceback."""
    running = Server(
        tmp_path_factory.mktemp("e2e") / "events.db", API_KEYS, management_keys=MANAGEMENT_KEY
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()
    assert "Traceback" not in running.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[IntegrationApi]:
    with integration_api(server.base_url) as integration:
        yield integration


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A broker of the test's own, for tests that kill or restart things around it."""
    with EmbeddedBroker(tmp_path / "broker.log") as running:
        yield running
