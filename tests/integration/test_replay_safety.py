"""A replay never destroys by accident: it builds shadow tables and swaps them in only once
it succeeded. A refused target, an unreachable broker or a replay killed halfway leave the
live read models exactly as they were; `--since` keeps every other session; and a replay
from Kafka reads each partition to its true end, however the topic was batched."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from benchmarks.replay import write_events
from click.testing import Result
from eventsourcing.persistence import Notification

from sessionstore import codec
from sessionstore.adapters.kafka import Publisher
from sessionstore.adapters.readmodel_tables import open_database
from sessionstore.adapters.readmodel_writer import ReadModelWriter
from sessionstore.application import SessionStore
from sessionstore.config import KafkaSettings
from sessionstore.domain.changes import SessionUpdate
from sessionstore.readmodels.projections import PROJECTIONS
from sessionstore.relay import outgoing
from sessionstore.replay import SESSIONS_IN_MEMORY, store_records
from tests.e2e.server import executable
from tests.integration.audit_support import (
    documents,
    expected_documents,
    sessionstore,
    write_sessions,
)
from tests.integration.support import feed, notifications

pytestmark = pytest.mark.timeout(180)


def live_read_models(store: SessionStore, url: str) -> dict[str, dict[str, bytes]]:
    """Read models at `url` fed with everything stored, as the projectors would; their
    documents by projection."""
    database = open_database(url)
    feed(store, [ReadModelWriter(database, p) for p in PROJECTIONS.values()])
    database.close()
    return {name: documents(url, name) for name in PROJECTIONS}


def verify(database_url: str, readmodel_url: str) -> int:
    return sessionstore(
        "verify", "--readmodel-url", readmodel_url, database_url=database_url
    ).exit_code


def without_a_broker(database_url: str, *args: str, **settings: str) -> Result:
    """`replay ARGS` with a Kafka bootstrap address nothing listens on."""
    return sessionstore(
        "replay",
        *args,
        database_url=database_url,
        kafka_bootstrap="127.0.0.1:1",
        connect_timeout_s="2",
        **settings,
    )


def test_a_replay_into_the_live_read_models_without_swap_is_refused(
    sqlite_store: SessionStore, sqlite_url: str, tmp_path: Path
) -> None:
    write_sessions(sqlite_store)
    live = f"sqlite:///{tmp_path / 'live.db'}"
    before = live_read_models(sqlite_store, live)
    same_file = f"sqlite:///{tmp_path / 'sub' / '..' / 'live.db'}"
    for into in (live, same_file):
        result = sessionstore("replay", "--into", into, database_url=sqlite_url, readmodel_url=live)
        assert result.exit_code == 2, result.output
        assert "holds the live read models" in result.stderr
        assert "--swap" in result.stderr
    assert {name: documents(live, name) for name in PROJECTIONS} == before


def test_a_swap_from_an_unreachable_broker_changes_nothing(
    sqlite_store: SessionStore, sqlite_url: str, tmp_path: Path
) -> None:
    write_sessions(sqlite_store)
    live = f"sqlite:///{tmp_path / 'live.db'}"
    before = live_read_models(sqlite_store, live)
    sqlite_store.update_session(1, "later", SessionUpdate(profile_id="zoe"))  # not in live
    for source in ("kafka", "store"):
        result = without_a_broker(sqlite_url, "--swap", "--source", source, readmodel_url=live)
        assert result.exit_code == 1, result.output
        assert "Kafka" in result.stderr
        assert "Traceback" not in result.output
        assert {name: documents(live, name) for name in PROJECTIONS} == before


def test_a_replay_into_another_database_from_an_unreachable_broker_changes_nothing(
    sqlite_store: SessionStore, sqlite_url: str, tmp_path: Path
) -> None:
    write_sessions(sqlite_store)
    rebuilt = f"sqlite:///{tmp_path / 'rebuilt.db'}"
    assert sessionstore("replay", "--into", rebuilt, database_url=sqlite_url).exit_code == 0
    before = {name: documents(rebuilt, name) for name in PROJECTIONS}
    result = without_a_broker(sqlite_url, "--source", "kafka", "--into", rebuilt)
    assert result.exit_code == 1, result.output
    assert {name: documents(rebuilt, name) for name in PROJECTIONS} == before
    assert all(before.values())
    assert verify(sqlite_url, rebuilt) == 0


def test_a_swap_killed_halfway_leaves_the_live_read_models_as_they_were(
    sqlite_store: SessionStore, sqlite_url: str, kafka: KafkaSettings, tmp_path: Path
) -> None:
    write_events(sqlite_store, (SESSIONS_IN_MEMORY * 3) * 5)  # several writes of the shadows
    live = f"sqlite:///{tmp_path / 'live.db'}"
    before = live_read_models(sqlite_store, live)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSTORE_")} | {
        "SESSIONSTORE_DATABASE_URL": sqlite_url,
        "SESSIONSTORE_READMODEL_URL": live,
        "SESSIONSTORE_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "SESSIONSTORE_TOPIC": kafka.topic,
    }
    replay = subprocess.Popen(
        [executable(), "replay", "--swap"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while shadow_rows(tmp_path / "live.db") == 0:  # the first write of the shadows
            assert replay.poll() is None, "the replay ended before it wrote its shadows"
            assert time.monotonic() < deadline, "the replay never wrote its shadow tables"
            with contextlib.suppress(subprocess.TimeoutExpired):
                replay.wait(timeout=0.01)  # the pause between two looks
        replay.kill()
    finally:
        replay.kill()
        replay.wait()
    assert {name: documents(live, name) for name in PROJECTIONS} == before
    assert verify(sqlite_url, live) == 0

    result = sessionstore(  # the next rebuild starts over and completes
        "replay",
        "--swap",
        database_url=sqlite_url,
        readmodel_url=live,
        kafka_bootstrap=kafka.bootstrap,
        topic=kafka.topic,
    )
    assert result.exit_code == 0, result.output
    assert verify(sqlite_url, live) == 0
    assert shadow_tables(tmp_path / "live.db") == []


def shadow_rows(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        try:
            return int(conn.execute("SELECT COUNT(*) FROM shadow_v1_sessions").fetchone()[0])
        except sqlite3.OperationalError:  # not created yet
            return 0


def shadow_tables(path: Path) -> list[str]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    return [name for name in names if name.startswith("shadow_")]


def test_since_with_swap_rebuilds_the_touched_sessions_and_keeps_every_other(
    sqlite_store: SessionStore, sqlite_url: str, kafka: KafkaSettings, tmp_path: Path
) -> None:
    write_sessions(sqlite_store)
    live = f"sqlite:///{tmp_path / 'live.db'}"
    live_read_models(sqlite_store, live)
    since = notifications(sqlite_store)[-1]  # the last event so far: `gone` cancelled
    with sqlite3.connect(tmp_path / "live.db") as conn:  # a live row that went wrong
        conn.execute("UPDATE v2_sessions SET document = X'7B7D' WHERE integration_id = 'gone'")
    at = codec.decode_session_event(since.state).timestamp
    result = sessionstore(
        "replay",
        "--swap",
        "--since",
        at.isoformat(),
        database_url=sqlite_url,
        readmodel_url=live,
        kafka_bootstrap=kafka.bootstrap,
        topic=kafka.topic,
    )
    assert result.exit_code == 0, result.output
    assert "of 1 sessions" in result.stdout
    for name in PROJECTIONS:
        assert documents(live, name) == expected_documents(sqlite_store, name), name
    assert verify(sqlite_url, live) == 0


async def test_a_kafka_replay_of_a_topic_published_in_many_small_batches_reads_every_event(
    sqlite_store: SessionStore, sqlite_url: str, kafka: KafkaSettings, tmp_path: Path
) -> None:
    """The embedded broker reports a partition's end as its last batch's first offset + 1."""
    write_events(sqlite_store, 1300)
    records = [outgoing(n) for n in store_notifications(sqlite_store)]
    publisher = Publisher(kafka)
    await publisher.start()
    try:
        sizes = random.Random(8).choices(range(1, 60), k=len(records))
        first = 0
        for size in sizes:
            if first >= len(records):
                break
            await publisher.publish(records[first : first + size])  # a batch per partition
            first += size
    finally:
        await publisher.stop()
    into = f"sqlite:///{tmp_path / 'from-kafka.db'}"
    settings = {"kafka_bootstrap": kafka.bootstrap, "topic": kafka.topic}
    result = await asyncio.to_thread(
        sessionstore,
        "replay",
        "--source",
        "kafka",
        "--into",
        into,
        database_url=sqlite_url,
        **settings,
    )
    assert result.exit_code == 0, result.output
    assert "replayed 1300 events of 260 sessions" in result.stdout
    assert verify(sqlite_url, into) == 0


def store_notifications(store: SessionStore) -> list[Notification]:
    return [n for n in notifications(store) if n.topic.startswith("session.")]


def test_store_records_are_the_stored_session_events_in_order(sqlite_store: SessionStore) -> None:
    write_sessions(sqlite_store)
    stored = store_notifications(sqlite_store)
    read = [r for page in store_records(sqlite_store) for r in page]
    assert [(r.offset, r.value) for r in read] == [(n.id, n.state) for n in stored]
