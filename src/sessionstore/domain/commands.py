"""Commands: (state, request, time, ids) -> the events that record them. Pure, no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from sessionstore.domain.changes import SessionChanges, SessionUpdate, validate
from sessionstore.domain.errors import InvalidTransition
from sessionstore.domain.events import (
    ItemsUpdated,
    SessionCancelled,
    SessionClosed,
    SessionCreated,
    SessionEvents,
    SessionReopened,
)
from sessionstore.domain.session import Session

STATE_POINTER = "/customerSession/state"


class Profile(msgspec.Struct, frozen=True, kw_only=True):
    """What the store knows of a profile an update names (decision 12 and 18)."""

    number: int
    had_sessions: bool


class Stamp(msgspec.Struct, frozen=True, kw_only=True):
    """Numbers a command's events after the session's current version, all at one instant."""

    key: UUID
    version: int
    at: datetime

    def fields(self, offset: int) -> dict[str, Any]:
        return {
            "originator_id": self.key,
            "originator_version": self.version + offset,
            "timestamp": self.at,
        }


def create_session(
    stamp: Stamp,
    update: SessionUpdate,
    *,
    application_id: int,
    integration_id: str,
    session_id: int,
    profile: Profile | None,
) -> list[SessionEvents]:
    validate(update)
    state = update.state or "open"
    if state not in ("open", "closed"):
        raise InvalidTransition(f"a session cannot be created as {state}", STATE_POINTER)
    created = SessionCreated(
        **stamp.fields(1),
        application_id=application_id,
        integration_id=integration_id,
        session_id=session_id,
        profile_number=profile.number if profile else None,
        first_session=profile is None or not profile.had_sessions,
        fields=update.changes,
    )
    if state == "closed":
        return [created, SessionClosed(**stamp.fields(2), update_count=1)]
    return [created]


def update_session(
    session: Session, stamp: Stamp, update: SessionUpdate, profile: Profile | None
) -> list[SessionEvents]:
    """An update that changes nothing records nothing, in any state (decision 20)."""
    validate(update)
    target = update.state or session.state
    changes = changed_fields(session, update.changes)
    if session.state != "open":
        return _update_frozen(session, stamp, target, changes)
    if target == "partially_returned":
        raise _illegal(session.state, target)
    count = session.update_count + 1
    events: list[SessionEvents] = []
    if changes is not None:
        events.append(_items_updated(session, stamp, changes, count, profile))
    if target == "closed":
        events.append(SessionClosed(**stamp.fields(len(events) + 1), update_count=count))
    elif target == "cancelled":
        ledger = changes.discounts if changes and changes.discounts is not None else None
        events.append(_cancelled(session, stamp, len(events) + 1, count, ledger))
    return events


def reopen_session(session: Session, stamp: Stamp) -> list[SessionEvents]:
    if session.state != "closed":
        raise InvalidTransition(
            f"cannot reopen a {session.state} session: only closed sessions can be reopened",
            STATE_POINTER,
        )
    return [SessionReopened(**stamp.fields(1), rolled_back_discounts=session.discounts)]


def changed_fields(session: Session, changes: SessionChanges) -> SessionChanges | None:
    """The given fields whose values differ from the stored ones; attributes key by key."""
    differing: dict[str, Any] = {}
    for name, value in msgspec.structs.asdict(changes).items():
        if value is None:
            continue
        if name == "attributes":
            value = {k: v for k, v in value.items() if not _same(session.attributes.get(k), v)}
            if value:
                differing[name] = value
        elif name == "discounts":
            if not _same(session.discounts, {k: v for k, v in value.items() if v != 0}):
                differing[name] = value
        elif not _same(getattr(session, name), value):
            differing[name] = value
    return SessionChanges(**differing) if differing else None


def _update_frozen(
    session: Session, stamp: Stamp, target: str, changes: SessionChanges | None
) -> list[SessionEvents]:
    """Closed, returned and cancelled sessions accept only a cancellation (decision 3)."""
    if target == "cancelled" and session.state in ("closed", "partially_returned"):
        return [_cancelled(session, stamp, 1, session.update_count + 1, None)]
    if target != session.state:
        raise _illegal(session.state, target)
    if changes is not None:
        raise InvalidTransition(
            f"a {session.state} session cannot be modified; only cancelling it is allowed",
            "/customerSession",
        )
    return []


def _items_updated(
    session: Session,
    stamp: Stamp,
    changes: SessionChanges,
    count: int,
    profile: Profile | None,
) -> ItemsUpdated:
    recompute = changes.profile_id and not session.first_session_fixed
    return ItemsUpdated(
        **stamp.fields(1),
        changes=changes,
        update_count=count,
        profile_number=profile.number if profile else None,
        first_session=(not profile.had_sessions) if recompute and profile else None,
    )


def _cancelled(
    session: Session,
    stamp: Stamp,
    offset: int,
    count: int,
    new_ledger: dict[str, Any] | None,
) -> SessionCancelled:
    ledger = session.discounts if new_ledger is None else new_ledger
    return SessionCancelled(
        **stamp.fields(offset),
        previous_state=session.state,
        update_count=count,
        rolled_back_discounts={k: v for k, v in ledger.items() if v != 0},
    )


def _illegal(current: str, target: str) -> InvalidTransition:
    return InvalidTransition(
        f"cannot change state from {current} to {target} via update", STATE_POINTER
    )


def _same(a: Any, b: Any) -> bool:
    """Compare as JSON would: 1, 1.0 and True differ, the order of an object's keys does not."""
    return msgspec.json.encode(a, order="sorted") == msgspec.json.encode(b, order="sorted")
