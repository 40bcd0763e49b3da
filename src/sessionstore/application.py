"""SessionStore, the eventsourcing Application: commands save events; no Kafka, no SQL here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast
from uuid import NAMESPACE_URL, UUID, uuid5

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, RecordConflictError, StoredEvent, Transcoder

from sessionstore import codec
from sessionstore.domain import commands
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.commands import Profile, Stamp
from sessionstore.domain.errors import ConcurrentUpdate, SessionNotFound
from sessionstore.domain.events import (
    NumberAllocated,
    ProfileRegistered,
    ReturnedCartItem,
    SessionEvents,
    StoredEvents,
)
from sessionstore.domain.returns import return_items
from sessionstore.domain.session import Return, Session, fold

log = logging.getLogger(__name__)
_NOT_SESSION_EVENTS = (NumberAllocated, ProfileRegistered)

NAMESPACE = uuid5(NAMESPACE_URL, "https://sessionstore.invalid/")
IDEMPOTENCY_WINDOW = timedelta(hours=24)
ATTEMPTS = 5
T = TypeVar("T")


def session_key(application_id: int, integration_id: str) -> UUID:
    """The aggregate id: one session per (application, integration id) (decision 18)."""
    return uuid5(NAMESPACE, f"session/{application_id}/{integration_id}")


def profile_key(application_id: int, profile_id: str) -> UUID:
    return uuid5(NAMESPACE, f"profile/{application_id}/{profile_id}")


def sequence_key(name: str) -> UUID:
    return uuid5(NAMESPACE, f"sequence/{name}")


class _Unused(Transcoder):
    """The mapper encodes Structs itself; eventsourcing's dict transcoder is never called."""

    def encode(self, obj: Any) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> Any:
        raise NotImplementedError


class EventMapper(Mapper[UUID]):
    """Stores each event as its msgspec JSON (codec), with its tag as the eventsourcing topic."""

    def __init__(self) -> None:
        super().__init__(transcoder=_Unused())

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=codec.tag_of(domain_event),
            state=codec.encode_event(domain_event),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return codec.decode_event(stored_event.state)


class Outcome(msgspec.Struct, frozen=True):
    """A command's result: the session after it, and the events it recorded (none if dry)."""

    session: Session
    events: tuple[SessionEvents, ...]


class SessionStore(Application[UUID]):
    name = "SessionStore"

    def construct_mapper(self) -> Mapper[UUID]:
        return EventMapper()

    def update_session(
        self, application_id: int, integration_id: str, update: SessionUpdate, *, dry: bool = False
    ) -> Outcome:
        """Create or update a session the way Talon's PUT /v2/customer_sessions/{id} does."""
        return self._retrying(lambda: self._update(application_id, integration_id, update, dry))

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

        def attempt() -> tuple[Outcome, Return]:
            session = self.get_session(application_id, integration_id)
            earlier = self._earlier_return(session, idempotency_key)
            if earlier is not None:
                return Outcome(self.session_at(session.key, version=earlier.version), ()), earlier
            allocations: list[StoredEvents] = []
            returned = return_items(
                session,
                self._stamp(session),
                items,
                return_id=self._next_number("returns", allocations, dry),
                idempotency_key=idempotency_key,
            )
            outcome = self._commit(session, [returned], dry, allocations)
            return outcome, outcome.session.returns[-1]

        return self._retrying(attempt)

    def reopen_session(self, application_id: int, integration_id: str) -> Outcome:
        def attempt() -> Outcome:
            session = self.get_session(application_id, integration_id)
            return self._commit(session, commands.reopen_session(session, self._stamp(session)))

        return self._retrying(attempt)

    def get_session(
        self, application_id: int, integration_id: str, *, version: int | None = None
    ) -> Session:
        """The session's current state, or as it was after `version`."""
        key = session_key(application_id, integration_id)
        return self.session_at(key, version=version, name=repr(integration_id))

    def session_at(self, key: UUID, *, version: int | None = None, name: str = "") -> Session:
        """The same, by session key (the aggregate id, also the Kafka key)."""
        session = fold(self.session_events(key, version=version))
        if session is None:
            raise SessionNotFound(f"no customer session {name or key}", "")
        return session

    def session_events(self, key: UUID, *, version: int | None = None) -> list[SessionEvents]:
        stored = cast("list[StoredEvents]", list(self.events.get(key, lte=version)))
        return [event for event in stored if not isinstance(event, _NOT_SESSION_EVENTS)]

    # -- internals -------------------------------------------------------------------------

    def _update(
        self, application_id: int, integration_id: str, update: SessionUpdate, dry: bool
    ) -> Outcome:
        allocations: list[StoredEvents] = []
        key = session_key(application_id, integration_id)
        session = fold(self.session_events(key))
        profile = self._profile(application_id, session, update.profile_id, allocations, dry)
        if session is None:
            stamp = Stamp(key=key, version=0, at=_now())
            events = commands.create_session(
                stamp,
                update,
                application_id=application_id,
                integration_id=integration_id,
                session_id=self._next_number("sessions", allocations, dry),
                profile=profile,
            )
        else:
            events = commands.update_session(session, self._stamp(session), update, profile)
        return self._commit(session, events, dry, allocations)

    def _commit(
        self,
        session: Session | None,
        events: list[SessionEvents],
        dry: bool = False,
        others: list[StoredEvents] | None = None,
    ) -> Outcome:
        sealed = codec.seal(session.digest if session else "", events)
        after = fold(sealed, session)
        assert after is not None
        if sealed and not dry:
            self.save(*sealed, *(others or []))
            log.info(
                "session %s: recorded %s",
                after.integration_id,
                ", ".join(codec.tag_of(e) for e in sealed),
            )
        return Outcome(after, () if dry else tuple(sealed))

    def _profile(
        self,
        application_id: int,
        session: Session | None,
        profile_id: str | None,
        allocations: list[StoredEvents],
        dry: bool,
    ) -> Profile | None:
        """Look up the profile an update names, registering it on first sight."""
        if not profile_id or (session is not None and session.profile_id == profile_id):
            return None
        key = profile_key(application_id, profile_id)
        known = list(self.events.get(key, limit=1))
        if known and isinstance(known[0], ProfileRegistered):
            return Profile(number=known[0].profile_number, had_sessions=True)
        number = self._next_number("profiles", allocations, dry)
        allocations.append(
            ProfileRegistered(
                originator_id=key,
                originator_version=1,
                timestamp=_now(),
                application_id=application_id,
                profile_id=profile_id,
                profile_number=number,
            )
        )
        return Profile(number=number, had_sessions=False)

    def _next_number(self, name: str, allocations: list[StoredEvents], dry: bool) -> int:
        """The next number of a store-wide sequence, saved atomically with the command.

        Two commands that take the same number conflict on the sequence's version, and the
        loser is retried: numbers are unique, positive and never reused (decision 22).
        """
        key = sequence_key(name)
        latest = list(self.events.get(key, desc=True, limit=1))
        number = latest[0].originator_version + 1 if latest else 1
        if not dry:
            allocations.append(
                NumberAllocated(originator_id=key, originator_version=number, timestamp=_now())
            )
        return number

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

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Optimistic concurrency: a lost race is replayed on fresh state, then answered 409."""
        for _ in range(ATTEMPTS):
            try:
                return attempt()
            except RecordConflictError:
                log.info("concurrent write lost a race; retrying on fresh state")
        raise ConcurrentUpdate()


def _now(after: datetime | None = None) -> datetime:
    """UTC now, strictly later than `after`, so a session's timestamps always increase."""
    now = datetime.now(UTC)
    if after is not None and now <= after:
        return after + timedelta(microseconds=1)
    return now
