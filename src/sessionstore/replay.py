"""Rebuilds for auditors, and `verify`.

A rebuild reads the event store's log (in pages, the stored bytes only) or the topic (to
the true end of each partition) and folds each session in memory once for all the chosen
read models: each event decoded once, each session rendered and written once per
`SESSIONS_IN_MEMORY` sessions, in large transactions into shadow tables (so memory stays
flat whatever the event count). The folds, the version guard and the rows are the
projector's own, so a rebuilt read model is byte-identical to one built live.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

import msgspec
from eventsourcing.persistence import Notification

from sessionstore import codec
from sessionstore.adapters.kafka import IncomingRecord, read_until_end
from sessionstore.adapters.readmodel_queries import ReadModelQueries
from sessionstore.adapters.readmodel_rebuild import ShadowTables
from sessionstore.application import SessionStore
from sessionstore.config import KafkaSettings
from sessionstore.domain.events import SESSION_TAGS, SessionEvents
from sessionstore.domain.session import Session, fold
from sessionstore.readmodels.integrity import Finding, check_chain
from sessionstore.readmodels.progress import Gap, Parked, advance_batch
from sessionstore.readmodels.shared import Shared, session_keys

log = logging.getLogger(__name__)
PAGE = 1000  # notifications per page of `verify`
LOG_PAGE = 5000  # notifications per page of a rebuild
SESSIONS_IN_MEMORY = 10_000  # folded sessions kept before they are written out
Advance = Callable[[int], None]


class Summary(msgspec.Struct, kw_only=True):
    events: int = 0
    sessions: int = 0
    parked: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class Rebuild:
    """Sessions folded in memory and written to the shadow tables in bulk.

    `reading_back`: the shadows may already hold some sessions (kept by a partial rebuild,
    or written by this one before a catch-up), so a session not in memory is looked up
    there before it counts as new; otherwise only after the first write.
    """

    def __init__(
        self,
        shadow: ShadowTables,
        cluster: str | None = None,
        wanted: set[str] | None = None,
        *,
        reading_back: bool = False,
    ) -> None:
        self.shadow = shadow
        self.cluster = cluster
        self.wanted = wanted
        self.summary = Summary()
        self._states: dict[str, Session] = {}
        self._parked: list[Parked] = []
        self._gaps: list[Gap] = []
        self._offsets: dict[tuple[str, int], int] = {}
        self._reading_back = reading_back
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="rebuild-writer")
        self._writing: Future[None] | None = None
        self._started = time.monotonic()

    def add(self, records: Sequence[IncomingRecord]) -> None:
        shared = Shared()
        if self.wanted is not None:
            records = [r for r in records if shared.session_of(r) in self.wanted]
        if self._reading_back:
            self._written()  # what is read back must be there
            keys = [k for k in session_keys(records, shared) if k not in self._states]
            self._states.update(self.shadow.stored(keys))  # even a first event may be a repeat
        batch = advance_batch(records, self._states.get, shared)
        self._states.update(batch.sessions)
        self._parked += batch.parked
        self._gaps += batch.gaps
        self._offsets.update(batch.offsets)
        self.summary.events += len(records)
        self.summary.parked += len(batch.parked)
        if len(self._states) >= SESSIONS_IN_MEMORY:
            self.write()

    def write(self) -> None:
        """Write out what is in memory (the rows, parked records, gaps and offsets): the rows
        are made here, the database writes them on the writer thread while the next
        sessions are folded (at most one write waits)."""
        self._written()
        if self._states or self._parked or self._gaps or self._offsets:
            rows = self.shadow.rows(list(self._states.values()))
            work = (rows, self._parked, self._gaps, self.cluster, dict(self._offsets))
            self._writing = self._writer.submit(self.shadow.write, *work)
        self._states, self._parked, self._gaps = {}, [], []
        self._reading_back = True

    def _written(self) -> None:
        """Wait for the write under way (raising what it raised)."""
        if self._writing is not None:
            writing, self._writing = self._writing, None
            writing.result()

    def finish(self) -> Summary:
        """Write out the rest; the summary, with the number of sessions the shadows hold
        (of those wanted, for a partial rebuild)."""
        self.write()
        self._written()
        self._writer.shutdown()
        wanted = self.wanted
        self.summary.sessions = self.shadow.count() if wanted is None else len(wanted)
        self.summary.seconds = time.monotonic() - self._started
        return self.summary


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """No cyclic garbage collection while a rebuild runs: it makes no cycles, and the
    collector's passes over the folded sessions in memory would cost a third of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def store_records(store: SessionStore, start: int = 1) -> Iterator[list[IncomingRecord]]:
    """The stored session events as records (offset = notification id), a page at a time."""
    for page in store.write_path.log_pages(SESSION_TAGS, start, LOG_PAGE):
        yield [IncomingRecord("", 0, i, None, state, ()) for i, state in page]


def rebuild_from_store(store: SessionStore, rebuild: Rebuild, advance: Advance) -> None:
    with bulk():
        for records in store_records(store):
            rebuild.add(records)
            advance(len(records))


async def rebuild_from_kafka(
    kafka: KafkaSettings,
    rebuild: Rebuild,
    advance: Advance,
    start: dict[int, int] | None = None,
    total: Callable[[int], None] = lambda _: None,
) -> None:
    with bulk():
        async for records in read_until_end(kafka, start, ends_known=total):
            rebuild.add(records)
            advance(len(records))


def count_events(store: SessionStore) -> int:
    return store.write_path.log_count(SESSION_TAGS)


def touched_in_store(store: SessionStore, since: datetime) -> set[str]:
    """The sessions with an event at or after `since`: a partial rebuild replays them whole."""
    return _touched((r for page in store_records(store) for r in page), since)


async def touched_on_topic(kafka: KafkaSettings, since: datetime) -> set[str]:
    touched: set[str] = set()
    async for records in read_until_end(kafka):
        touched |= _touched(records, since)
    return touched


def _touched(records: Iterable[IncomingRecord], since: datetime) -> set[str]:
    touched = set()
    for record in records:
        with contextlib.suppress(msgspec.MsgspecError):
            event = codec.decode_session_event(record.value)
            if event.timestamp >= since:
                touched.add(str(event.originator_id))
    return touched


def _pages(store: SessionStore) -> Iterator[Sequence[Notification]]:
    """The session events of the notification log, a page at a time, in stored order."""
    start = 1
    while page := store.recorder.select_notifications(start, PAGE, topics=SESSION_TAGS):
        yield page
        start = page[-1].id + 1


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


def verify(store: SessionStore, readmodels: Sequence[ReadModelQueries], advance: Advance) -> Report:
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
    rm: ReadModelQueries, expected: dict[str, bytes], unreadable: set[str]
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
