"""SessionStore, the eventsourcing Application: commands save events; no Kafka, no SQL here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar, cast
from uuid import NAMESPACE_URL, UUID, uuid5

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import (
    ApplicationRecorder,
    Mapper,
    RecordConflictError,
    StoredEvent,
    Transcoder,
)
from eventsourcing.utils import EnvType

from sessionstore import codec
from sessionstore.cache import SessionCache
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
    """Where stores written before version 0.2 kept a sequence (`sequence.allocated` events)."""
    return uuid5(NAMESPACE, f"sequence/{name}")


SEQUENCES = ("sessions", "profiles", "returns")
LEGACY_SEQUENCES = {name: sequence_key(name) for name in SEQUENCES}


class Numbers(Protocol):
    """Store-wide sequences that independent commands never conflict over (decision 22)."""

    def next(self, name: str) -> int: ...
    def peek(self, name: str) -> int: ...


class WritePath(Protocol):
    """What the storage adapter adds to eventsourcing's recorder: group commit and numbers."""

    @property
    def recorder(self) -> ApplicationRecorder: ...
    @property
    def numbers(self) -> Numbers: ...
    def close(self) -> None: ...


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

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        write_path: Callable[[ApplicationRecorder], WritePath],
        cache_size: int = 10_000,
    ) -> None:
        self._make_write_path = write_path
        self.cache = SessionCache(cache_size)
        super().__init__(env)

    def construct_mapper(self) -> Mapper[UUID]:
        return EventMapper()

    def construct_recorder(self) -> ApplicationRecorder:
        self.write_path = self._make_write_path(super().construct_recorder())
        self.numbers = self.write_path.numbers
        return self.write_path.recorder

    def close(self) -> None:
        self.write_path.close()
        super().close()

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
            returned = return_items(
                session,
                self._stamp(session),
                items,
                return_id=self._next_number("returns", dry),
                idempotency_key=idempotency_key,
            )
            outcome = self._commit(session, [returned], dry)
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

    def _current(self, key: UUID) -> Session | None:
        """The latest state: the cached fold brought up to the stored version (one read)."""
        cached = self.cache.get(key)
        newer = self.session_events(key, after=cached.version if cached else None)
        if not newer:
            return cached
        session = fold(newer, cached)
        if session is not None:
            self.cache.put(session)
        return session

    def _update(
        self, application_id: int, integration_id: str, update: SessionUpdate, dry: bool
    ) -> Outcome:
        allocations: list[StoredEvents] = []
        key = session_key(application_id, integration_id)
        session = self._current(key)
        profile = self._profile(application_id, session, update.profile_id, allocations, dry)
        if session is None:
            stamp = Stamp(key=key, version=0, at=_now())
            events = commands.create_session(
                stamp,
                update,
                application_id=application_id,
                integration_id=integration_id,
                session_id=self._next_number("sessions", dry),
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
            self.cache.put(after)
            if log.isEnabledFor(logging.DEBUG):
                tags = ", ".join(codec.tag_of(e) for e in sealed)
                log.debug("session %r: recorded %s", after.integration_id, tags)
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
        number = self._next_number("profiles", dry)
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

    def _next_number(self, name: str, dry: bool) -> int:
        """A number no other command gets: unique, positive, never reused; gaps allowed."""
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

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Optimistic concurrency: a lost race is replayed on fresh state, then answered 409."""
        for _ in range(ATTEMPTS):
            try:
                return attempt()
            except RecordConflictError:
                log.debug("concurrent write lost a race; retrying on fresh state")
        raise ConcurrentUpdate()


def _now(after: datetime | None = None) -> datetime:
    """UTC now, strictly later than `after`, so a session's timestamps always increase."""
    now = datetime.now(UTC)
    if after is not None and now <= after:
        return after + timedelta(microseconds=1)
    return now
