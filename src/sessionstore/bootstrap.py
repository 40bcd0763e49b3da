"""Composition root: settings in, ready-to-use parts out. Nothing happens at import time."""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from psycopg import sql

from sessionstore.adapters.eventstore import write_path
from sessionstore.adapters.postgres import connect
from sessionstore.application import SessionStore
from sessionstore.config import CONNECT_TIMEOUT, Settings, eventstore_env, postgres_schema
from sessionstore.parts import PART

log = logging.getLogger(__name__)


def prepare_database(url: str, timeout: int = CONNECT_TIMEOUT) -> None:
    """Create what must exist before the eventsourcing recorders create their tables."""
    env = eventstore_env(url)
    if "SQLITE_DBNAME" in env:
        Path(env["SQLITE_DBNAME"]).parent.mkdir(parents=True, exist_ok=True)
        return
    schema = postgres_schema(url)
    if schema:
        with connect(url, timeout) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


class OncePerMinute(logging.Filter):
    """aiokafka logs an ERROR on every reconnect attempt: let each message through once a
    minute. The parts say once that they lost the broker and once that it is back."""

    def __init__(self, every: float = 60.0) -> None:
        super().__init__()
        self._every = every
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        now = record.created
        if now - self._last.get(str(record.msg), -self._every) < self._every:
            return False
        self._last[str(record.msg)] = now
        return True


_once_a_minute = OncePerMinute()


def _quiet_aiokafka(record: logging.LogRecord) -> bool:
    return not record.name.startswith("aiokafka") or _once_a_minute.filter(record)


class JsonLines(logging.Formatter):
    """SESSIONSTORE_LOG_FORMAT=json: one object per line with time, level, logger and
    message, and the part (relay, projector-..., http) and session where known."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if part := PART.get():
            line["part"] = part
        if session := getattr(record, "session", None):
            line["session"] = str(session)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return msgspec.json.encode(line).decode()


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    if settings.log_format == "json":
        for handler in logging.root.handlers:
            handler.setFormatter(JsonLines())
    aiokafka = logging.getLogger("aiokafka")
    aiokafka.setLevel(max(logging.WARNING, logging.root.level))
    for handler in logging.root.handlers:
        handler.addFilter(_quiet_aiokafka)


@contextlib.contextmanager
def creating_tables(url: str, timeout: int = CONNECT_TIMEOUT) -> Iterator[None]:
    """Processes that start together take turns creating tables: PostgreSQL's
    `CREATE ... IF NOT EXISTS` fails when two sessions run it at once (pg_type races), and
    so does switching a new SQLite file to WAL. An advisory lock; on SQLite an flock."""
    env = eventstore_env(url)
    if "SQLITE_DBNAME" in env:  # switching a new file to WAL fails while another does it
        path = Path(env["SQLITE_DBNAME"])
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{path}.tables-lock", "a") as turns:
            fcntl.flock(turns, fcntl.LOCK_EX)
            yield  # closing the file drops the lock
        return
    with connect(url, timeout) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext('sessionstore.tables'))")
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('sessionstore.tables'))")


def build_store(settings: Settings) -> SessionStore:
    url, timeout = settings.database_url, settings.connect_timeout
    with creating_tables(url, timeout):
        prepare_database(url, timeout)
        env = eventstore_env(url) | {"POSTGRES_CONNECT_TIMEOUT": str(timeout)}
        store = SessionStore(env=env, write_path=write_path)
    log.info("event store ready at %s", _redacted(settings.database_url))
    return store


def _redacted(url: str) -> str:
    """Never log a password."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, credentials = head.partition("://")
    return f"{scheme}://{credentials.split(':')[0]}@{tail}"
