"""Zero-downtime rebuilds: shadow tables built while the projectors and writers carry on.

The relay and the three projectors run in-process against the real broker, feeding the live
read-model tables beside the event store (SQLite file or PostgreSQL schema), as in a
deployment without SESSIONSTORE_READMODEL_URL. A rebuild swaps its shadow tables in.
"""

from __future__ import annotations

import asyncio

import pytest

from sessionstore import auditing
from sessionstore.application import SessionStore
from sessionstore.bootstrap import build_store
from sessionstore.config import KafkaSettings, Settings
from sessionstore.domain.changes import SessionUpdate
from sessionstore.readmodels.projections import PROJECTIONS
from tests.integration.audit_support import (
    all_caught_up,
    execute,
    expected_documents,
    live_projectors,
    relaying,
    sessionstore,
    write_sessions,
    writing,
)
from tests.integration.stream_support import wait_until

pytestmark = pytest.mark.timeout(180)


def swap_from_the_store(settings: Settings) -> None:
    """`replay --swap` as the command does it, with its own event store connection."""
    store = build_store(settings)
    try:
        names = list(PROJECTIONS)
        auditing.replay(settings, store, "store", settings.readmodel_url, names, None, swap=True)
    finally:
        store.close()


def swap_from_kafka(settings: Settings) -> None:
    result = sessionstore(
        "replay",
        "--swap",
        "--source",
        "kafka",
        database_url=settings.database_url,
        readmodel_url=settings.readmodel_url,
        kafka_bootstrap=settings.kafka_bootstrap,
        topic=settings.topic,
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.count("swapped in") == 1  # all three together, in one transaction
    assert f"({', '.join(PROJECTIONS)})" in result.stderr


def verify(settings: Settings) -> int:
    return sessionstore("verify", database_url=settings.database_url).exit_code


async def test_swaps_rebuild_the_live_read_models_while_writes_and_projectors_continue(
    store: SessionStore, database_url: str, kafka: KafkaSettings
) -> None:
    settings = Settings(
        database_url=database_url,
        readmodel_url=database_url,
        kafka_bootstrap=kafka.bootstrap,
        topic=kafka.topic,
    )
    write_sessions(store)
    async with relaying(store, kafka), live_projectors(database_url, kafka) as live:
        await all_caught_up(live, store)
        # damage a live row no later event touches: only a rebuild can repair it
        execute(
            database_url,
            "UPDATE v2_sessions SET document = ? WHERE integration_id = ?",
            b"{}",
            "plain",
        )
        assert verify(settings) == 1
        # twice: the second shadow tables must not collide with what the first swap left
        for swap in (swap_from_the_store, swap_from_kafka):
            async with writing(store) as written:
                await wait_until(lambda: written() >= 3, "writes to flow")
                await asyncio.to_thread(swap, settings)
            store.update_session(1, f"after-{swap.__name__}", SessionUpdate(state="closed"))
            await all_caught_up(live, store)  # the projectors write into the swapped-in tables
            for rm in live:
                assert rm.queries.documents_by_key() == expected_documents(
                    store, rm.projection.name
                )
            assert verify(settings) == 0


def test_swap_without_a_kafka_bootstrap_is_a_usage_error(sqlite_url: str) -> None:
    result = sessionstore("replay", "--swap", database_url=sqlite_url)
    assert result.exit_code == 2
    assert "SESSIONSTORE_KAFKA_BOOTSTRAP" in result.stderr
