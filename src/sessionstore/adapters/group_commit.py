"""Group commit: the commands that arrive together are written in one transaction.

Every `save()` of the application hands its stored events (one command's, possibly of
several aggregates: a session and a new profile) to one committer thread and waits. The
committer takes everything queued, and in ONE transaction takes the event table's write lock
(SQLite's write lock; PostgreSQL's EXCLUSIVE table lock, which keeps notification ids
visible in commit order, so the relay never skips one), checks every command's expected
versions, inserts the commands that still apply and commits: one fsync for the group. Each
waiting command is then answered: done, or a conflict (someone wrote that aggregate first),
which the application retries on fresh state. A command that fails the whole transaction for
another reason is isolated by committing the group's commands one by one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    Notification,
    StoredEvent,
    Subscription,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql

from sessionstore.ports import Done

log = logging.getLogger(__name__)
MAX_GROUP = 500

Unit = Sequence[StoredEvent]
Written = Sequence[int] | None  # the notification ids, or None: a conflict


class GroupWriter(Protocol):
    """Writes a group of commands in one transaction; a command that no longer applies
    (another write to one of its aggregates came first) gets None and is not written."""

    def write(self, units: Sequence[Unit]) -> list[Written]: ...
    def close(self) -> None: ...


def accepted(units: Sequence[Unit], current: dict[Any, int]) -> list[bool]:
    """Which units apply on top of `current` (aggregate id -> its latest stored version).

    A unit applies when each of its aggregates continues exactly from the stored version;
    a unit accepted earlier in the group counts as stored for the ones after it.
    """
    verdicts = []
    for unit in units:
        first: dict[Any, int] = {}
        last: dict[Any, int] = {}
        for event in unit:
            first.setdefault(event.originator_id, event.originator_version)
            last[event.originator_id] = event.originator_version
        ok = all(current.get(key, 0) == version - 1 for key, version in first.items())
        if ok:
            current.update(last)
        verdicts.append(ok)
    return verdicts


class _Pending:
    __slots__ = ("done", "unit")

    def __init__(self, unit: Unit, done: Done) -> None:
        self.unit = unit
        self.done = done

    def answer(self, result: Sequence[int] | BaseException) -> None:
        try:
            self.done(result)
        except Exception:  # a caller's bug must not stop the committer
            log.exception("answering a committed command failed")


class GroupCommitter:
    """One thread that writes every queued command of this process, a group at a time."""

    def __init__(self, writer: GroupWriter, *, max_group: int = MAX_GROUP) -> None:
        self.writer = writer
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="group-commit", daemon=True)
        self._progress = threading.Condition()
        self.submitted = 0  # commands handed in
        self.taken = 0  # commands taken into a group
        self.groups = 0  # groups written
        self._closed = False
        self._listeners: list[Callable[[], None]] = []
        self._thread.start()

    def commit(self, unit: Unit) -> Sequence[int]:
        """Write one command's events; raises IntegrityError if another write came first."""
        written: Future[Sequence[int]] = Future()
        self.submit(unit, lambda result: _settle(written, result))
        return written.result()

    def submit(self, unit: Unit, done: Done) -> None:
        """Hand a command's events in; `done` is called (on the committer's thread) with the
        notification ids once its group is durable, or with the error that refused it."""
        pending = _Pending(unit, done)
        if self._closed:
            pending.answer(RuntimeError("the event store is closed"))
            return
        with self._progress:
            self.submitted += 1
            self._queue.put(pending)
            self._progress.notify_all()

    def listen(self, written: Callable[[], None]) -> Callable[[], None]:
        """Call `written` (on the committer's thread) after every group that wrote events,
        until the returned function is called: the relay of the same process publishes them
        at once instead of at its next poll."""
        self._listeners.append(written)
        return lambda: self._listeners.remove(written)

    def wait_until(self, *, submitted: int = 0, taken: int = 0, timeout: float = 30) -> None:
        """Block until that many commands were handed in and taken into groups."""
        with self._progress:
            reached = self._progress.wait_for(
                lambda: self.submitted >= submitted and self.taken >= taken, timeout
            )
        if not reached:
            raise TimeoutError(f"committer did not reach submitted={submitted}, taken={taken}")

    def close(self) -> None:
        """Write what is queued, then stop; later commands are refused."""
        self._closed = True
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)
        self.writer.close()

    def _loop(self) -> None:
        while (group := self._next_group()) is not None:
            self._answer(group)

    def _next_group(self) -> list[_Pending] | None:
        first = self._queue.get()
        if first is None:
            return None
        group = [first]
        while len(group) < self._max_group:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # stop after this group
                break
            group.append(item)
        with self._progress:
            self.taken += len(group)
            self._progress.notify_all()
        return group

    def _answer(self, group: list[_Pending]) -> None:
        try:
            outcomes = self.writer.write([p.unit for p in group])
        except Exception as error:
            if len(group) > 1:
                log.debug("group of %d failed (%s); committing one by one", len(group), error)
                for pending in group:
                    self._answer([pending])
                return
            group[0].answer(error)
            return
        self.groups += 1
        for pending, outcome in zip(group, outcomes, strict=True):
            if outcome is None:
                pending.answer(IntegrityError("another write to this aggregate came first"))
            else:
                pending.answer(outcome)
        if any(outcome for outcome in outcomes):
            for listener in list(self._listeners):
                listener()


def _settle(future: Future[Sequence[int]], result: Sequence[int] | BaseException) -> None:
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


def _ids(units: Sequence[Unit], verdicts: list[bool], ids: Iterator[int]) -> list[Written]:
    """Split the group's notification ids (in insertion order) back onto its units."""
    return [
        [next(ids) for _ in unit] if ok else None for unit, ok in zip(units, verdicts, strict=True)
    ]


Row = tuple[str, int, str, bytes]


def _columns(event: StoredEvent) -> tuple[int, str, bytes]:
    return event.originator_version, event.topic, event.state


def _text(originator_id: UUID | str) -> str:
    """How eventsourcing's SQLite recorder stores an aggregate id."""
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


class SqliteGroupWriter:
    """Group writes on a SQLite file, over a connection owned by the committer thread.

    The committers of several processes (`serve --workers N`) take turns through an flock on
    `<file>.writer-lock` before SQLite's own write lock: a waiting process is woken the
    moment the other commits, where SQLite's busy handler would sleep and poll. The lock
    dies with its process.
    """

    def __init__(self, path: str, table: str) -> None:
        self._conn = sqlite3.connect(
            path, isolation_level=None, timeout=30, check_same_thread=False
        )
        self._turns = open(f"{path}.writer-lock", "a")  # noqa: SIM115 - held for the writer's life
        self._table = table
        self._insert = (
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)"
        )
        self._versions = (  # one backward probe of the primary key per aggregate
            f"SELECT k.value, (SELECT originator_version FROM {table} "
            "WHERE originator_id = k.value ORDER BY originator_version DESC LIMIT 1) "
            "FROM json_each(?) AS k"
        )

    def write(self, units: Sequence[Unit]) -> list[Written]:
        rows = [[(_text(e.originator_id), *_columns(e)) for e in unit] for unit in units]
        keys = json.dumps(sorted({row[0] for unit in rows for row in unit}))
        fcntl.flock(self._turns, fcntl.LOCK_EX)  # as little work as possible from here on
        try:
            return self._write(units, rows, keys)
        finally:
            fcntl.flock(self._turns, fcntl.LOCK_UN)

    def _write(self, units: Sequence[Unit], rows: list[list[Row]], keys: str) -> list[Written]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")  # the write lock: no one writes between check and insert
        try:
            latest = dict(conn.execute(self._versions, (keys,)).fetchall())
            verdicts = accepted(units, {UUID(k): v for k, v in latest.items() if v is not None})
            chosen = [row for unit, ok in zip(rows, verdicts, strict=True) if ok for row in unit]
            conn.executemany(self._insert, chosen)
            last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        # SQLite gives each new row the table's highest rowid + 1: one transaction's rows
        # are numbered consecutively, up to the last one inserted
        return _ids(units, verdicts, iter(range(last - len(chosen) + 1, last + 1)))

    def close(self) -> None:
        self._conn.close()
        self._turns.close()


class PostgresGroupWriter:
    """Group writes on PostgreSQL under eventsourcing's own EXCLUSIVE table lock."""

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self._recorder = recorder
        table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)
        self._versions = sql.SQL(  # one backward index probe per aggregate: flat in history
            "SELECT k AS originator_id, (SELECT originator_version FROM {} "
            "WHERE originator_id = k ORDER BY originator_version DESC LIMIT 1) AS v "
            "FROM unnest(%s::uuid[]) AS k"
        ).format(table)
        self._insert = sql.SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[]) "
            "RETURNING notification_id"
        ).format(table)
        self._notify = sql.SQL("NOTIFY {}").format(sql.Identifier(recorder.channel_name))

    def write(self, units: Sequence[Unit]) -> list[Written]:
        recorder = self._recorder
        with recorder.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cur:
            for statement in recorder.lock_table_statements:
                cur.execute(statement, prepare=True)
            keys = list({e.originator_id for u in units for e in u})
            cur.execute(self._versions, (keys,), prepare=True)
            latest = {row["originator_id"]: row["v"] for row in cur.fetchall() if row["v"]}
            verdicts = accepted(units, latest)
            rows = [e for unit, ok in zip(units, verdicts, strict=True) if ok for e in unit]
            ids: list[int] = []
            if rows:
                columns = (
                    [e.originator_id for e in rows],
                    [e.originator_version for e in rows],
                    [e.topic for e in rows],
                    [e.state for e in rows],
                )
                cur.execute(self._insert, columns, prepare=True)
                ids = [row["notification_id"] for row in cur.fetchall()]
                cur.execute(self._notify)
        return _ids(units, verdicts, iter(ids))

    def close(self) -> None:
        """The connections are eventsourcing's pool's; it closes them."""


class GroupCommitRecorder(ApplicationRecorder):
    """The application's recorder, with inserts going through the group committer."""

    def __init__(self, inner: ApplicationRecorder, committer: GroupCommitter) -> None:
        self.inner = inner
        self.committer = committer

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        return self.committer.commit(stored_events) if stored_events else []

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        return self.inner.select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        return self.inner.select_notifications(
            start, limit, stop, topics, inclusive_of_start=inclusive_of_start
        )

    def max_notification_id(self) -> int | None:
        return self.inner.max_notification_id()

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return self.inner.subscribe(gt, topics)
