"""Given / when / then helpers: drive the pure domain the way the HTTP layer does.

Requests are written as Talon's JSON (camelCase, numbers as on the wire) and decoded by
msgspec, so `0.1` arrives as `Decimal("0.1")`. Every command happens one minute after the
session's latest event, so timestamps increase and can be predicted from the version.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

import msgspec

from sessionstore import codec
from sessionstore.domain import commands, returns
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.commands import Profile, Stamp
from sessionstore.domain.events import ReturnedCartItem, SessionEvents
from sessionstore.domain.session import Session, fold
from sessionstore.readmodels.application_session import render_application_session
from sessionstore.readmodels.v1 import render_v1
from sessionstore.readmodels.v2 import render_v2

KEY = UUID("00000000-0000-4000-8000-000000000001")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
APPLICATION_ID = 7
INTEGRATION_ID = "order-1"
SESSION_ID = 42


class Step(NamedTuple):
    """What a command recorded, and the session after folding those events."""

    session: Session
    events: list[SessionEvents]


def at(version: int) -> datetime:
    """The timestamp of the event with this version."""
    return T0 + timedelta(minutes=version)


def request(**fields: Any) -> SessionUpdate:
    """An update's `customerSession`, decoded from JSON as the HTTP layer decodes it."""
    return msgspec.json.decode(msgspec.json.encode(fields), type=SessionUpdate)


def item(sku: str, quantity: int = 1, price: Any = 10, **fields: Any) -> dict[str, Any]:
    return {"sku": sku, "quantity": quantity, "price": price, **fields}


def stamp(session: Session | None) -> Stamp:
    version = session.version if session else 0
    return Stamp(key=KEY, version=version, at=at(version + 1))


def _step(session: Session | None, events: list[SessionEvents]) -> Step:
    after = fold(events, session)
    assert after is not None
    return Step(after, events)


def created(update: SessionUpdate | None = None, *, profile: Profile | None = None) -> Step:
    events = commands.create_session(
        stamp(None),
        update or request(),
        application_id=APPLICATION_ID,
        integration_id=INTEGRATION_ID,
        session_id=SESSION_ID,
        profile=profile,
    )
    return _step(None, events)


def updated(session: Session, update: SessionUpdate, *, profile: Profile | None = None) -> Step:
    return _step(session, commands.update_session(session, stamp(session), update, profile))


def returned(session: Session, *entries: dict[str, Any], return_id: int = 1) -> Step:
    """Return cart items; each entry is a ReturnedCartItem as JSON."""
    requested = msgspec.convert(list(entries), tuple[ReturnedCartItem, ...])
    event = returns.return_items(
        session, stamp(session), requested, return_id=return_id, idempotency_key=None
    )
    return _step(session, [event])


def reopened(session: Session) -> Step:
    return _step(session, commands.reopen_session(session, stamp(session)))


def given(*updates: SessionUpdate, profile: Profile | None = None) -> Session:
    """A session created by the first update and changed by the others, in order."""
    session = created(updates[0] if updates else None, profile=profile).session
    for update in updates[1:]:
        session = updated(session, update).session
    return session


def closed(*items: dict[str, Any], **fields: Any) -> Session:
    """A session created closed with these cart lines."""
    return given(request(cartItems=list(items), state="closed", **fields))


def document(shape: Any) -> dict[str, Any]:
    """A read shape as the JSON a client receives; numbers parsed exactly."""
    parsed: dict[str, Any] = json.loads(codec.encode_document(shape), parse_float=Decimal)
    return parsed


def v2(session: Session) -> dict[str, Any]:
    return document(render_v2(session))


def v1(session: Session) -> dict[str, Any]:
    return document(render_v1(session))


def management(session: Session) -> dict[str, Any]:
    return document(render_application_session(session))
