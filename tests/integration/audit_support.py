"""Helpers for the auditing tests: the CLI in-process, live projectors, tampering with events."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from uuid import UUID

import psycopg
from click.testing import CliRunner, Result
from psycopg import sql

from sessionstore import codec
from sessionstore.adapters.kafka import Publisher
from sessionstore.adapters.readmodel_tables import open_database
from sessionstore.adapters.readmodel_writer import ReadModelWriter
from sessionstore.application import SessionStore
from sessionstore.cli import main
from sessionstore.config import KafkaSettings, eventstore_env, postgres_schema
from sessionstore.consuming import Projector
from sessionstore.domain.cart import CartItem
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.events import ReturnedCartItem
from sessionstore.domain.keys import session_key
from sessionstore.readmodels.projections import PROJECTIONS
from sessionstore.relay import Relay
from tests.integration.stream_support import caught_up, stored_versions, wait_until

CART = (
    CartItem(sku="A", quantity=2, price=Decimal("10.50")),
    CartItem(sku="B", quantity=1, price=Decimal("3.25")),
)


def sessionstore(*args: str, **settings: str) -> Result:
    """`sessionstore ARGS` in-process; `settings` become SESSIONSTORE_<NAME> variables only."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SESSIONSTORE_")}
    env |= {f"SESSIONSTORE_{name.upper()}": value for name, value in settings.items()}
    env["COLUMNS"] = "200"  # rich wraps at 80 columns without a terminal
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def write_sessions(store: SessionStore) -> None:
    """`swap`: a coupon replaced by a later update; `plain`: open; `gone`: returned, cancelled."""
    store.update_session(1, "swap", SessionUpdate(profile_id="ann", cart_items=CART))
    store.update_session(1, "swap", SessionUpdate(coupon_codes=("EARLY",)))
    store.update_session(1, "swap", SessionUpdate(coupon_codes=("LATER",)))
    store.update_session(1, "swap", SessionUpdate(state="closed"))
    store.update_session(1, "plain", SessionUpdate(profile_id="bob", attributes={"n": 1}))
    store.update_session(1, "gone", SessionUpdate(cart_items=CART, state="closed"))
    store.return_items(1, "gone", (ReturnedCartItem(sku="A", quantity=1),))
    store.update_session(1, "gone", SessionUpdate(state="cancelled"))


def expected_documents(store: SessionStore, name: str) -> dict[str, bytes]:
    """What each read model must hold: every stored session, rendered from its fold."""
    render = PROJECTIONS[name].render
    return {
        key: codec.encode_document(render(store.session_at(UUID(key))))
        for key in stored_versions(store)
    }


@asynccontextmanager
async def relaying(store: SessionStore, kafka: KafkaSettings) -> AsyncIterator[None]:
    """The outbox relay running in the background, as in production."""
    publisher = Publisher(kafka)
    await publisher.start()
    stop = asyncio.Event()
    task = asyncio.create_task(Relay(store, publisher, idle=0.02).run(stop))
    try:
        yield
    finally:
        stop.set()
        await task
        await publisher.stop()


@asynccontextmanager
async def writing(store: SessionStore) -> AsyncIterator[Callable[[], int]]:
    """Updates `busy` over and over until the block ends; yields how many were written."""
    stop, written = asyncio.Event(), 0

    async def write() -> None:
        nonlocal written
        while not stop.is_set():
            update = SessionUpdate(attributes={"n": written})
            await asyncio.to_thread(store.update_session, 1, "busy", update)
            written += 1

    task = asyncio.create_task(write())
    try:
        yield lambda: written
    finally:
        stop.set()
        await task


@asynccontextmanager
async def live_projectors(url: str, kafka: KafkaSettings) -> AsyncIterator[list[ReadModelWriter]]:
    """The three projectors feeding the live (unprefixed) read-model tables at `url`."""
    live = [ReadModelWriter(open_database(url), p) for p in PROJECTIONS.values()]
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(Projector(rm, kafka, f"group-{kafka.topic}-{rm.table}").run(stop))
        for rm in live
    ]
    try:
        yield live
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for rm in live:
            rm.close()


async def all_caught_up(readmodels: list[ReadModelWriter], store: SessionStore) -> None:
    for rm in readmodels:
        await wait_until(caught_up(rm, store), f"{rm.projection.name} to catch up")


def documents(url: str, name: str) -> dict[str, bytes]:
    rm = ReadModelWriter(open_database(url), PROJECTIONS[name])
    try:
        return rm.queries.documents_by_key()
    finally:
        rm.close()


def versions(url: str, name: str) -> dict[str, int]:
    rm = ReadModelWriter(open_database(url), PROJECTIONS[name])
    try:
        return dict(rm.queries.versions())
    finally:
        rm.close()


def execute(url: str, statement: str, *params: object) -> None:
    """One statement on a read-model database (`?` placeholders on SQLite and PostgreSQL)."""
    database = open_database(url)
    try:
        with database.transaction() as cur:
            cur.execute(statement, params)
    finally:
        database.close()


def tamper(database_url: str, integration_id: str, version: int, old: bytes, new: bytes) -> None:
    """Rewrite one stored event's bytes directly in the event store's own table."""
    key = session_key(1, integration_id)
    env = eventstore_env(database_url)
    if "SQLITE_DBNAME" in env:
        _tamper_sqlite(env["SQLITE_DBNAME"], key.hex, version, old, new)
        return
    table = sql.Identifier(postgres_schema(database_url), "sessionstore_events")
    where = sql.SQL(" WHERE originator_id = %s AND originator_version = %s")
    with psycopg.connect(database_url.split("?")[0], autocommit=True) as conn:
        row = conn.execute(sql.SQL("SELECT state FROM {}").format(table) + where, (key, version))
        altered = _replaced(row.fetchone(), old, new)
        update = sql.SQL("UPDATE {} SET state = %s").format(table) + where
        conn.execute(update, (altered, key, version))


def _tamper_sqlite(path: str, key: str, version: int, old: bytes, new: bytes) -> None:
    where = "WHERE originator_id = ? AND originator_version = ?"
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        row = conn.execute(f"SELECT state FROM stored_events {where}", (key, version))
        altered = _replaced(row.fetchone(), old, new)
        conn.execute(f"UPDATE stored_events SET state = ? {where}", (altered, key, version))


def _replaced(row: tuple[bytes] | None, old: bytes, new: bytes) -> bytes:
    assert row is not None, "no such stored event"
    assert old in row[0], row[0]
    return bytes(row[0]).replace(old, new)
