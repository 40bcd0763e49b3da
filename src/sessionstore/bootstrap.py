"""Composition root: settings in, ready-to-use parts out. Nothing happens at import time."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
from psycopg import sql

from sessionstore.adapters.eventstore import write_path
from sessionstore.application import SessionStore
from sessionstore.config import Settings, eventstore_env, postgres_schema

log = logging.getLogger(__name__)


def prepare_database(url: str) -> None:
    """Create what must exist before the eventsourcing recorders create their tables."""
    env = eventstore_env(url)
    if "SQLITE_DBNAME" in env:
        Path(env["SQLITE_DBNAME"]).parent.mkdir(parents=True, exist_ok=True)
        return
    schema = postgres_schema(url)
    if schema:
        with psycopg.connect(url.split("?")[0], autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def build_store(settings: Settings) -> SessionStore:
    prepare_database(settings.database_url)
    store = SessionStore(env=eventstore_env(settings.database_url), write_path=write_path)
    log.info("event store ready at %s", _redacted(settings.database_url))
    return store


def _redacted(url: str) -> str:
    """Never log a password."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, credentials = head.partition("://")
    return f"{scheme}://{credentials.split(':')[0]}@{tail}"
