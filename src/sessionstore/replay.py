"""Replay for auditors: rebuild read models from the event store or Kafka, and verify them.

Rebuilds reuse the projectors' own `apply` (same folds, same version guard), so a rebuilt
read model is byte-identical to a live one built from the same events.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

import msgspec
from eventsourcing.persistence import Notification

from sessionstore import codec
from sessionstore.adapters.kafka import IncomingRecord, read_until_end
from sessionstore.adapters.readmodel_store import ReadModelStore
from sessionstore.application import SessionStore
from sessionstore.config import KafkaSettings
from sessionstore.domain.events import SESSION_TAGS, SessionEvents
from sessionstore.domain.session import fold
from sessionstore.readmodels.integrity import Finding, check_chain

log = logging.getLogger(__name__)
PAGE = 1000
Advance = Callable[[int], None]


class Summary(msgspec.Struct, kw_only=True):
    events: int = 0
    sessions: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _pages(store: SessionStore) -> Iterator[Sequence[Notification]]:
    """The session events of the notification log, a page at a time, in stored order."""
    start = 1
    while page := store.recorder.select_notifications(start, PAGE, topics=SESSION_TAGS):
        yield page
        start = page[-1].id + 1


def count_events(store: SessionStore) -> int:
    return sum(len(page) for page in _pages(store))


def _touched_since(store: SessionStore, since: datetime) -> set[str]:
    return {
        str(n.originator_id)
        for page in _pages(store)
        for n in page
        if codec.decode_session_event(n.state).timestamp >= since
    }


def replay_from_store(
    store: SessionStore,
    targets: Sequence[ReadModelStore],
    advance: Advance,
    since: datetime | None = None,
) -> Summary:
    """Fold every stored session event (of sessions active since `since`) into the targets."""
    started, summary, keys = time.monotonic(), Summary(), set[str]()
    wanted = _touched_since(store, since) if since else None
    for page in _pages(store):
        records = [
            IncomingRecord(topic="", partition=0, offset=n.id, key=None, value=n.state, headers=())
            for n in page
            if wanted is None or str(n.originator_id) in wanted
        ]
        _apply(targets, records, None, summary, keys)
        advance(len(page))
    return _finish(summary, keys, started)


async def replay_from_kafka(
    kafka: KafkaSettings,
    targets: Sequence[ReadModelStore],
    advance: Advance,
    since: datetime | None = None,
    start: dict[int, int] | None = None,
) -> Summary:
    """Read the topic from the beginning (or `start`) to its current end into the targets."""
    started, summary, keys = time.monotonic(), Summary(), set[str]()
    wanted = await _touched_since_on_topic(kafka, since) if since else None
    async for records in read_until_end(kafka, start):
        if wanted is not None:
            records = [r for r in records if _session_of(r) in wanted]
        _apply(targets, records, kafka.cluster_id, summary, keys)
        advance(len(records))
    return _finish(summary, keys, started)


async def _touched_since_on_topic(kafka: KafkaSettings, since: datetime) -> set[str]:
    """A first pass: whole sessions are replayed, not just their events since `since`."""
    return {
        _session_of(r)
        async for records in read_until_end(kafka)
        for r in records
        if codec.decode_session_event(r.value).timestamp >= since
    }


def _session_of(record: IncomingRecord) -> str:
    return str(codec.decode_session_event(record.value).originator_id)


def _apply(
    targets: Sequence[ReadModelStore],
    records: list[IncomingRecord],
    cluster: str | None,
    summary: Summary,
    keys: set[str],
) -> None:
    for target in targets:
        target.apply(records, cluster)
    summary.events += len(records)
    keys.update(str(codec.decode_session_event(r.value).originator_id) for r in records)


def _finish(summary: Summary, keys: set[str], started: float) -> Summary:
    summary.sessions = len(keys)
    summary.seconds = time.monotonic() - started
    return summary


class Report(msgspec.Struct, kw_only=True):
    """What `verify` found; empty lists mean everything matched."""

    sessions: int = 0
    events: int = 0
    tampered: list[Finding] = []
    differing: list[tuple[str, str, str]] = []  # (projection, session key, what)
    names: dict[str, str] = {}  # session key -> "applicationId/integrationId"

    def name(self, key: str) -> str:
        return self.names.get(key, key)

    @property
    def ok(self) -> bool:
        return not self.tampered and not self.differing


def verify(store: SessionStore, readmodels: Sequence[ReadModelStore], advance: Advance) -> Report:
    """Check every session's digest chain and compare every read model with the folds."""
    history: dict[str, list[bytes]] = defaultdict(list)
    for page in _pages(store):
        for n in page:
            history[str(n.originator_id)].append(n.state)
        advance(len(page))
    report = Report(
        sessions=len(history),
        events=sum(map(len, history.values())),
        tampered=[],
        differing=[],
        names={},
    )
    expected: dict[str, dict[str, bytes]] = {rm.projection.name: {} for rm in readmodels}
    unreadable: set[str] = set()
    for key, stored in history.items():
        report.tampered += check_chain(key, stored)
        readable = list(_decodable(stored))
        try:
            session = fold(readable)
        except Exception as error:  # an altered history may not fold at all
            report.tampered.append(
                Finding(session_key=key, version=0, problem=f"history does not fold: {error!r}")
            )
            unreadable.add(key)
            continue
        if session is not None:  # named even when a later event no longer decodes
            report.names[key] = f"{session.application_id}/{session.integration_id}"
        if session is None or len(readable) < len(stored):
            unreadable.add(key)
            continue  # reported by check_chain; the read models cannot be checked against it
        for rm in readmodels:
            document = codec.encode_document(rm.projection.render(session))
            expected[rm.projection.name][key] = document
    for rm in readmodels:
        report.differing += _compare(rm, expected[rm.projection.name], unreadable)
    return report


def _decodable(stored: Sequence[bytes]) -> Iterator[SessionEvents]:
    """A session's events up to the first that no longer decodes."""
    for data in stored:
        try:
            yield codec.decode_session_event(data)
        except msgspec.MsgspecError:
            return


def _compare(
    rm: ReadModelStore, expected: dict[str, bytes], unreadable: set[str]
) -> list[tuple[str, str, str]]:
    actual = {k: v for k, v in rm.documents_by_key().items() if k not in unreadable}
    name = rm.projection.name
    differing = [
        (name, key, "missing from the read model") for key in expected.keys() - actual.keys()
    ]
    differing += [(name, key, "not in the event store") for key in actual.keys() - expected.keys()]
    differing += [
        (name, key, "differs from the events")
        for key in expected.keys() & actual.keys()
        if expected[key] != actual[key]
    ]
    return differing
