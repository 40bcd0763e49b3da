"""HTTP fixtures: the real Litestar app over a real event store, driven by Litestar's TestClient."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from sessionstore.application import SessionStore
from sessionstore.config import Settings
from sessionstore.http.app import create_app
from tests.integration.support import Client

API_KEYS = {"key-seven": 7, "key-eight": 8}


@pytest.fixture
def client(store: SessionStore) -> Iterator[Client]:
    """No API keys configured: every request belongs to application 1 (SQLite and PostgreSQL)."""
    with TestClient(create_app(store, Settings())) as test_client:
        yield test_client


@pytest.fixture
def sqlite_client(sqlite_store: SessionStore) -> Iterator[Client]:
    with TestClient(create_app(sqlite_store, Settings())) as test_client:
        yield test_client


@pytest.fixture
def keyed_client(sqlite_store: SessionStore) -> Iterator[Client]:
    """SESSIONSTORE_API_KEYS set: each key belongs to its own application."""
    with TestClient(create_app(sqlite_store, Settings(api_keys=API_KEYS))) as test_client:
        yield test_client
