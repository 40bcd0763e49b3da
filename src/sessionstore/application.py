"""SessionStore, the eventsourcing Application: commands save events; no Kafka, no SQL here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import EnvType

from sessionstore import codec
from sessionstore.attempts import Attempts, NotInMemory, Outcome, Plan
from sessionstore.cache import KnownProfiles, SessionCache
from sessionstore.domain import commands
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.commands import Profile, Stamp
from sessionstore.domain.errors import SessionNotFound
from sessionstore.domain.events import (
    NumberAllocated,
    ProfileRegistered,
    ReturnedCartItem,
    SessionEvents,
    StoredEvents,
)
from sessionstore.domain.keys import profile_key, session_key
from sessionstore.domain.returns import return_items
from sessionstore.domain.session import Return, Session, fold
from sessionstore.eventmapper import EventMapper
from sessionstore.ports import Done, WritePath

log = logging.getLogger(__name__)
_NOT_SESSION_EVENTS = (NumberAllocated, ProfileRegistered)

IDEMPOTENCY_WINDOW = timedelta(hours=24)
T = TypeVar("T")
WORKERS = 8  # threads that read; the PostgreSQL pool holds one connection more (the committer)


class SessionStore(Application[UUID]):
    """Commands are planned on the state in memory where they can be, on a worker thread where
    they must read first, and answered through a future once the group commit made them
    durable; a command that lost a race is planned again on freshly read state."""

    name = "SessionStore"

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        write_path: Callable[[ApplicationRecorder], WritePath],
        cache_size: int = 10_000,
        workers: int = WORKERS,
    ) -> None:
        self._make_write_path = write_path
        self.cache = SessionCache(cache_size)
        self._profiles = KnownProfiles(cache_size * 10)
        self._workers = ThreadPoolExecutor(workers, thread_name_prefix="sessionstore")
        self._attempts = Attempts(self._workers, self._write, self._written)
        super().__init__(env)

    def construct_mapper(self) -> Mapper[UUID]:
        return EventMapper()

    def construct_recorder(self) -> ApplicationRecorder:
        self.write_path = self._make_write_path(super().construct_recorder())
        self.numbers = self.write_path.numbers
        return self.write_path.recorder

    def close(self) -> None:
        self._workers.shutdown(wait=True)
        self.write_path.close()
        super().close()

    # -- commands: each blocks until durable; the submit_* forms answer through a future ---

    def update_session(
        self, application_id: int, integration_id: str, update: SessionUpdate, *, dry: bool = False
    ) -> Outcome:
        """Create or update a session the way Talon's PUT /v2/customer_sessions/{id} does."""
        return self.submit_update(application_id, integration_id, update, dry=dry).result()

    def submit_update(
        self, application_id: int, integration_id: str, update: SessionUpdate, *, dry: bool = False
    ) -> Future[Outcome]:
        key = session_key(application_id, integration_id)

        def plan(fresh: bool) -> Plan[Outcome]:
            session = self._state(key, fresh)
            profile = self._profile(application_id, session, update.profile_id, fresh, dry)
            if session is None:
                events = commands.create_session(
                    Stamp(key=key, version=0, at=_now()),
                    update,
                    application_id=application_id,
                    integration_id=integration_id,
                    session_id=self._next_number("sessions", fresh, dry),
                    profile=profile[0] if profile else None,
                )
            else:
                events = commands.update_session(
                    session, self._stamp(session), update, profile[0] if profile else None
                )
            return self._plan(session, events, profile[1] if profile else [], _same_outcome)

        return self._attempts.run(plan, dry=dry)

    def return_items(
        self,
        application_id: int,
        integration_id: str,
        items: tuple[ReturnedCartItem, ...],
        *,
        idempotency_key: str | None = None,
        dry: bool = False,
    ) -> tuple[Outcome, Return]:
        """Return cart items; a key seen in the last 24 h answers as it did then."""
        return self.submit_return(
            application_id, integration_id, items, idempotency_key=idempotency_key, dry=dry
        ).result()

    def submit_return(
        self,
        application_id: int,
        integration_id: str,
        items: tuple[ReturnedCartItem, ...],
        *,
        idempotency_key: str | None = None,
        dry: bool = False,
    ) -> Future[tuple[Outcome, Return]]:
        key = session_key(application_id, integration_id)

        def plan(fresh: bool) -> Plan[tuple[Outcome, Return]]:
            session = self._existing(key, integration_id, fresh)
            earlier = self._earlier_return(session, idempotency_key)
            if earlier is not None:
                if not fresh:
                    raise NotInMemory  # answering as then means reading the history
                then = self.session_at(key, version=earlier.version)
                return Plan(session, [], [], lambda _: (Outcome(then, ()), earlier))
            returned = return_items(
                session,
                self._stamp(session),
                items,
                return_id=self._next_number("returns", fresh, dry),
                idempotency_key=idempotency_key,
            )
            return self._plan(session, [returned], [], _with_last_return)

        return self._attempts.run(plan, dry=dry)

    def reopen_session(self, application_id: int, integration_id: str) -> Outcome:
        return self.submit_reopen(application_id, integration_id).result()

    def submit_reopen(self, application_id: int, integration_id: str) -> Future[Outcome]:
        key = session_key(application_id, integration_id)

        def plan(fresh: bool) -> Plan[Outcome]:
            session = self._existing(key, integration_id, fresh)
            events = commands.reopen_session(session, self._stamp(session))
            return self._plan(session, events, [], _same_outcome)

        return self._attempts.run(plan)

    # -- queries: always read what is stored after the state in memory ---------------------

    def query(self, read: Callable[[], T]) -> Future[T]:
        """Run a read on the store's worker threads, whose connections the pool is sized for."""
        return self._workers.submit(read)

    def get_session(
        self, application_id: int, integration_id: str, *, version: int | None = None
    ) -> Session:
        """The session's current state, or as it was after `version`."""
        key = session_key(application_id, integration_id)
        return self.session_at(key, version=version, name=repr(integration_id))

    def session_at(self, key: UUID, *, version: int | None = None, name: str = "") -> Session:
        """The same, by session key (the aggregate id, also the Kafka key)."""
        if version is None:
            session = self._current(key)
        else:
            session = fold(self.session_events(key, version=version))
        if session is None:
            raise SessionNotFound(f"no customer session {name or key}", "")
        return session

    def session_events(
        self, key: UUID, *, version: int | None = None, after: int | None = None
    ) -> list[SessionEvents]:
        stored = cast("list[StoredEvents]", list(self.events.get(key, gt=after, lte=version)))
        return [event for event in stored if not isinstance(event, _NOT_SESSION_EVENTS)]

    # -- internals -------------------------------------------------------------------------

    def _plan(
        self,
        session: Session | None,
        events: list[SessionEvents],
        others: list[StoredEvents],
        answer: Callable[[Outcome], T],
    ) -> Plan[T]:
        sealed = codec.seal(session.digest if session else "", events)
        after = fold(sealed, session)
        assert after is not None
        return Plan(after, sealed, others, answer)

    def _write(self, plan: Plan[Any], done: Done) -> None:
        stored = [self.mapper.to_stored_event(e) for e in (*plan.sealed, *plan.others)]
        self.write_path.committer.submit(stored, done)

    def _written(self, plan: Plan[Any]) -> Outcome:
        self.cache.put(plan.after)
        for other in plan.others:
            if isinstance(other, ProfileRegistered):
                self._profiles.put(other.originator_id, other.profile_number)
        if log.isEnabledFor(logging.DEBUG):
            tags = ", ".join(codec.tag_of(e) for e in plan.sealed)
            log.debug("session %r: recorded %s", plan.after.integration_id, tags)
        return Outcome(plan.after, tuple(plan.sealed))

    def _state(self, key: UUID, fresh: bool) -> Session | None:
        """Freshly read, or the state in memory (a write finds out if it was stale)."""
        if fresh:
            return self._current(key)
        cached = self.cache.get(key)
        if cached is None:
            raise NotInMemory
        return cached

    def _existing(self, key: UUID, integration_id: str, fresh: bool) -> Session:
        session = self._state(key, fresh)
        if session is None:
            raise SessionNotFound(f"no customer session {integration_id!r}", "")
        return session

    def _current(self, key: UUID) -> Session | None:
        """The latest state: the state in memory brought up to the stored version (one read)."""
        cached = self.cache.get(key)
        newer = self.session_events(key, after=cached.version if cached else None)
        if not newer:
            return cached
        session = fold(newer, cached)
        if session is not None:
            self.cache.put(session)
        return session

    def _profile(
        self,
        application_id: int,
        session: Session | None,
        profile_id: str | None,
        fresh: bool,
        dry: bool,
    ) -> tuple[Profile, list[StoredEvents]] | None:
        """The profile an update names, and its registration event on first sight."""
        if not profile_id or (session is not None and session.profile_id == profile_id):
            return None
        key = profile_key(application_id, profile_id)
        number = self._profiles.get(key)
        if number is None and not fresh:
            raise NotInMemory
        if number is None:
            known = list(self.events.get(key, limit=1))
            if known and isinstance(known[0], ProfileRegistered):
                number = known[0].profile_number
                self._profiles.put(key, number)
        if number is not None:
            return Profile(number=number, had_sessions=True), []
        number = self._next_number("profiles", fresh, dry)
        registered = ProfileRegistered(
            originator_id=key,
            originator_version=1,
            timestamp=_now(),
            application_id=application_id,
            profile_id=profile_id,
            profile_number=number,
        )
        return Profile(number=number, had_sessions=False), [registered]

    def _next_number(self, name: str, fresh: bool, dry: bool) -> int:
        """A number no other command gets: unique, positive, never reused; gaps allowed."""
        if not fresh and not self.numbers.available(name):
            raise NotInMemory  # the next block is reserved by a worker, not the event loop
        return self.numbers.peek(name) if dry else self.numbers.next(name)

    def _stamp(self, session: Session) -> Stamp:
        return Stamp(key=session.key, version=session.version, at=_now(after=session.updated))

    @staticmethod
    def _earlier_return(session: Session, key: str | None) -> Return | None:
        if key is None:
            return None
        for earlier in session.returns:
            if earlier.idempotency_key == key and _now() - earlier.created < IDEMPOTENCY_WINDOW:
                return earlier
        return None


def _same_outcome(outcome: Outcome) -> Outcome:
    return outcome


def _with_last_return(outcome: Outcome) -> tuple[Outcome, Return]:
    return outcome, outcome.session.returns[-1]


def _now(after: datetime | None = None) -> datetime:
    """UTC now, strictly later than `after`, so a session's timestamps always increase."""
    now = datetime.now(UTC)
    if after is not None and now <= after:
        return after + timedelta(microseconds=1)
    return now
