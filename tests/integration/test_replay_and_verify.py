"""`sessionstore replay` and `verify` against real SQLite, PostgreSQL and the real broker.

Live read models are built by the projectors from Kafka; rebuilds from the event store or the
topic must hold the same bytes, and `verify` must catch stale rows and rewritten events.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from sessionstore import codec
from sessionstore.adapters.kafka import OutgoingRecord, Publisher, read_until_end
from sessionstore.application import SessionStore
from sessionstore.config import KafkaSettings
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.keys import session_key
from sessionstore.readmodels.projections import PROJECTIONS
from tests.integration.audit_support import (
    all_caught_up,
    documents,
    execute,
    expected_documents,
    live_projectors,
    relaying,
    sessionstore,
    tamper,
    versions,
    write_sessions,
    writing,
)
from tests.integration.stream_support import relay_all, stored_versions, wait_until

pytestmark = pytest.mark.timeout(180)
SUMMARY = re.compile(r"replayed (\d+) events of (\d+) sessions in [\d.]+ s \(([\d,]+) events/s\)")
EVENTS, SESSIONS = 9, 3  # write_sessions: swap 4 events, plain 1, gone 4


def replay(database_url: str, *args: str, kafka: KafkaSettings | None = None) -> str:
    """Run in a worker thread from async tests: the command runs its own event loop."""
    settings = {"kafka_bootstrap": kafka.bootstrap, "topic": kafka.topic} if kafka else {}
    result = sessionstore("replay", *args, database_url=database_url, **settings)
    assert result.exit_code == 0, result.output
    return result.stdout


def verify(database_url: str, readmodel_url: str, *args: str) -> tuple[int, str]:
    result = sessionstore(
        "verify", "--readmodel-url", readmodel_url, *args, database_url=database_url
    )
    return result.exit_code, result.stderr


def target_url(request: pytest.FixtureRequest, tmp_path: Path, target: str) -> str:
    """A fresh SQLite file, or a fresh PostgreSQL schema (never the live read models)."""
    if target == "sqlite":
        return f"sqlite:///{tmp_path / 'replayed.db'}"
    url: str = request.getfixturevalue("other_postgres_url")
    return url


@pytest.fixture
def replayed(store: SessionStore, database_url: str, tmp_path: Path) -> str:
    """Every read model rebuilt from the event store into a fresh SQLite file."""
    write_sessions(store)
    into = f"sqlite:///{tmp_path / 'replayed.db'}"
    replay(database_url, "--into", into)
    assert verify(database_url, into)[0] == 0
    return into


@pytest.mark.parametrize("source", ["store", "kafka"])
@pytest.mark.parametrize("target", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_a_replay_equals_the_live_read_models_and_verify_accepts_both(
    store: SessionStore,
    database_url: str,
    kafka: KafkaSettings,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    source: str,
    target: str,
) -> None:
    write_sessions(store)
    await relay_all(store, kafka)
    live_url = f"sqlite:///{tmp_path / 'live.db'}"
    async with live_projectors(live_url, kafka) as live:
        await all_caught_up(live, store)
    into = target_url(request, tmp_path, target)
    output = await asyncio.to_thread(
        replay, database_url, "--source", source, "--into", into, kafka=kafka
    )
    assert (match := SUMMARY.search(output)), output
    assert (int(match[1]), int(match[2])) == (EVENTS, SESSIONS)
    for name in PROJECTIONS:
        rebuilt = documents(into, name)
        assert rebuilt == documents(live_url, name) == expected_documents(store, name), name
    assert verify(database_url, live_url)[0] == 0
    code, report = verify(database_url, into)
    assert code == 0, report
    assert f"OK: {SESSIONS} sessions, {EVENTS} events" in report


async def test_a_kafka_replay_while_events_keep_arriving_reads_every_partition_from_its_start(
    store: SessionStore, database_url: str, kafka: KafkaSettings, tmp_path: Path
) -> None:
    write_sessions(store)
    await relay_all(store, kafka)
    on_the_topic = stored_versions(store)
    into = f"sqlite:///{tmp_path / 'during.db'}"
    async with relaying(store, kafka), writing(store) as written:
        await wait_until(lambda: written() >= 3, "writes to flow")
        args = ("--source", "kafka", "--into", into, "--projection", "v2")
        await asyncio.to_thread(replay, database_url, *args, kafka=kafka)
    rebuilt, at = documents(into, "v2"), versions(into, "v2")
    assert rebuilt.keys() >= on_the_topic.keys()
    for key, document in rebuilt.items():
        assert at[key] >= on_the_topic.get(key, 1)
        then = store.session_at(UUID(key), version=at[key])
        assert document == codec.encode_document(PROJECTIONS["v2"].render(then))


async def test_reading_the_topic_to_its_end_starts_at_the_beginning_while_records_arrive(
    kafka: KafkaSettings,
) -> None:
    """Each read races the consumer's initial offset reset, which used to win now and then."""
    records = [OutgoingRecord(key=f"{i}".encode(), value=b"", headers=()) for i in range(100)]
    publisher = Publisher(kafka)
    await publisher.start()
    stop = asyncio.Event()

    async def keep_publishing() -> None:
        while not stop.is_set():
            await publisher.publish(records[:1])

    await publisher.publish(records)
    task = asyncio.create_task(keep_publishing())
    try:
        for _ in range(20):
            first: dict[int, int] = {}
            async for batch in read_until_end(kafka):
                for record in batch:
                    first.setdefault(record.partition, record.offset)
            assert first == dict.fromkeys(range(kafka.partitions), 0)
    finally:
        stop.set()
        await task
        await publisher.stop()


@pytest.mark.parametrize("source", ["store", "kafka"])
async def test_since_rebuilds_only_the_sessions_touched_since_then_and_whole(
    store: SessionStore, database_url: str, kafka: KafkaSettings, tmp_path: Path, source: str
) -> None:
    store.update_session(1, "old", SessionUpdate(profile_id="ann"))
    store.update_session(1, "touched", SessionUpdate(attributes={"step": 1}))
    since = datetime.now(UTC)
    store.update_session(1, "touched", SessionUpdate(attributes={"step": 2}))
    store.update_session(1, "new", SessionUpdate(state="closed"))
    await relay_all(store, kafka)
    into = f"sqlite:///{tmp_path / 'since.db'}"
    args = ("--source", source, "--into", into, "--since", since.isoformat())
    output = await asyncio.to_thread(replay, database_url, *args, kafka=kafka)
    assert "of 2 sessions" in output
    for name in PROJECTIONS:
        expected = expected_documents(store, name)
        del expected[str(session_key(1, "old"))]
        assert documents(into, name) == expected, name


def test_replay_prints_a_progress_bar_and_a_summary_with_the_rate(
    sqlite_store: SessionStore, sqlite_url: str, tmp_path: Path
) -> None:
    write_sessions(sqlite_store)
    result = sessionstore(
        "replay",
        "--projection",
        "v1",
        "--into",
        f"sqlite:///{tmp_path / 'v1.db'}",
        database_url=sqlite_url,
    )
    assert result.exit_code == 0, result.output
    assert "replaying the event store" in result.stderr
    assert f"{EVENTS}/{EVENTS}" in result.stderr
    assert (match := SUMMARY.search(result.stdout)), result.stdout
    assert (int(match[1]), int(match[2])) == (EVENTS, SESSIONS)
    assert int(match[3].replace(",", "")) > 0
    assert "into 1 read model(s)" in result.stdout


def test_replay_without_into_or_swap_is_a_usage_error(sqlite_url: str) -> None:
    result = sessionstore("replay", database_url=sqlite_url)
    assert result.exit_code == 2
    assert "--into" in result.stderr


def test_verify_names_a_session_whose_read_model_is_stale(
    store: SessionStore, database_url: str, replayed: str
) -> None:
    store.update_session(1, "plain", SessionUpdate(attributes={"n": 2}))
    code, report = verify(database_url, replayed)
    assert code == 1
    for name in PROJECTIONS:
        assert f"MISMATCH {name}: session 1/plain: differs from the events" in report
    assert "1/swap" not in report
    assert "1/gone" not in report


def test_verify_names_a_session_whose_stored_document_was_edited(
    database_url: str, replayed: str
) -> None:
    execute(replayed, "UPDATE v2_sessions SET document = ? WHERE integration_id = ?", b"{}", "gone")
    code, report = verify(database_url, replayed)
    assert code == 1
    assert "MISMATCH v2: session 1/gone: differs from the events" in report
    assert report.count("MISMATCH") == 1
    assert verify(database_url, replayed, "--projection", "v1")[0] == 0


def test_verify_reports_a_missing_row_and_an_extra_row(database_url: str, replayed: str) -> None:
    execute(replayed, "DELETE FROM application_sessions_sessions WHERE integration_id = 'plain'")
    execute(
        replayed,
        "INSERT INTO v1_sessions SELECT 'ghost', 99, integration_id, session_id, version, state, "
        "profile, coupon, referral, store_integration_id, created_us, aggregate, document "
        "FROM v1_sessions WHERE integration_id = 'swap'",
    )
    code, report = verify(database_url, replayed)
    assert code == 1
    assert "MISMATCH application-sessions: session 1/plain: missing from the read model" in report
    assert "MISMATCH v1: session ghost: not in the event store" in report
    assert report.count("MISMATCH") == 2


def test_verify_catches_a_rewritten_early_event_that_left_the_current_state_unchanged(
    store: SessionStore, database_url: str, replayed: str
) -> None:
    before = store.get_session(1, "swap")
    assert before.coupon_codes == ("LATER",)
    tamper(database_url, "swap", 2, b'"EARLY"', b'"FORGED"')
    assert store.get_session(1, "swap") == before
    assert documents(replayed, "v2") == expected_documents(store, "v2")
    code, report = verify(database_url, replayed)
    assert code == 1
    assert "TAMPERED session 1/swap version 2: digest chain broken" in report
    assert "MISMATCH" not in report
    assert "1/plain" not in report
    assert "1/gone" not in report


def test_verify_names_a_session_whose_stored_event_no_longer_decodes(
    store: SessionStore, database_url: str, replayed: str
) -> None:
    tamper(database_url, "swap", 2, b'"EARLY"', b"EARLY")
    code, report = verify(database_url, replayed)
    assert code == 1
    assert "TAMPERED session 1/swap version 2: event does not decode" in report
    assert "MISMATCH" not in report  # its read-model rows cannot be judged, only its history
    assert "1/plain" not in report
    assert "1/gone" not in report
