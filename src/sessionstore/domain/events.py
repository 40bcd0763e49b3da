"""Every event the store records. Tags are the wire names; the schema is append-only.

A new field needs a default; never rename, retype or remove one (style.md rule 1).
"""

from __future__ import annotations

import typing
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import msgspec

from sessionstore.domain.changes import SessionChanges, State


class Event(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    rename="camel",
    omit_defaults=True,
    tag_field="type",
):
    originator_id: UUID
    originator_version: int
    timestamp: datetime


class SessionEvent(Event, frozen=True, kw_only=True):
    """An event of a customer session: published to Kafka, chained by `digest`."""

    digest: str = ""


class SessionCreated(SessionEvent, tag="session.created", frozen=True, kw_only=True):
    application_id: int
    integration_id: str
    session_id: int
    profile_number: int | None = None
    first_session: bool
    fields: SessionChanges


class ItemsUpdated(SessionEvent, tag="session.items_updated", frozen=True, kw_only=True):
    """Only the fields that changed; `firstSession` is set when it was computed again."""

    changes: SessionChanges
    update_count: int
    profile_number: int | None = None
    first_session: bool | None = None


class SessionClosed(SessionEvent, tag="session.closed", frozen=True, kw_only=True):
    update_count: int


class ReturnedCartItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One entry of a return request, as the integrator sent it."""

    position: int | None = None
    quantity: int | None = None
    sku: str | None = None


class ReturnedLine(msgspec.Struct, frozen=True, kw_only=True):
    """How many units of which line a return took back, after resolving the request."""

    position: int
    quantity: int


class ItemsReturned(SessionEvent, tag="session.returned", frozen=True, kw_only=True):
    return_id: int
    requested: tuple[ReturnedCartItem, ...]
    lines: tuple[ReturnedLine, ...]
    idempotency_key: str | None = None


class SessionCancelled(SessionEvent, tag="session.cancelled", frozen=True, kw_only=True):
    """From `closed` or `partially_returned` this is what Talon calls a revocation."""

    previous_state: State
    update_count: int
    rolled_back_discounts: dict[str, Decimal] = {}


class SessionReopened(SessionEvent, tag="session.reopened", frozen=True, kw_only=True):
    rolled_back_discounts: dict[str, Decimal] = {}


SessionEvents = (
    SessionCreated
    | ItemsUpdated
    | SessionClosed
    | ItemsReturned
    | SessionCancelled
    | SessionReopened
)


class NumberAllocated(Event, tag="sequence.allocated", frozen=True, kw_only=True):
    """One number of a store-wide sequence: the number is the event's version."""


class ProfileRegistered(Event, tag="profile.registered", frozen=True, kw_only=True):
    """A profile integration id first named in an application, with its numeric id."""

    application_id: int
    profile_id: str
    profile_number: int


StoredEvents = SessionEvents | NumberAllocated | ProfileRegistered

SESSION_TAGS: tuple[str, ...] = tuple(
    str(t.__struct_config__.tag) for t in typing.get_args(SessionEvents)
)
"""The tags of the session events, which the relay publishes: derived from the union, so a
new event type cannot be stored and silently never published."""
