"""A customer session's state, and the one `evolve` that moves it forward by an event."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, assert_never
from uuid import UUID

import msgspec

from sessionstore.domain.cart import AdditionalCost, CartItem, Totals, totals
from sessionstore.domain.changes import ExperimentVariantAllocation, SessionChanges, State
from sessionstore.domain.events import (
    ItemsReturned,
    ItemsUpdated,
    ReturnedCartItem,
    SessionCancelled,
    SessionClosed,
    SessionCreated,
    SessionEvents,
    SessionReopened,
)


class Return(msgspec.Struct, frozen=True, kw_only=True):
    """A return as recorded, kept for `previousReturns` and Idempotency-Key replays."""

    return_id: int
    created: datetime
    requested: tuple[ReturnedCartItem, ...]
    version: int
    idempotency_key: str | None


class Session(msgspec.Struct, frozen=True, kw_only=True):
    key: UUID
    version: int
    digest: str
    application_id: int
    integration_id: str
    session_id: int
    created: datetime
    updated: datetime
    state: State = "open"
    profile_id: str = ""
    profile_number: int | None = None
    first_session: bool = True
    first_session_fixed: bool = False
    store_integration_id: str | None = None
    coupon_codes: tuple[str, ...] = ()
    referral_code: str = ""
    loyalty_cards: tuple[str, ...] = ()
    cart_items: tuple[CartItem, ...] = ()
    additional_costs: dict[str, AdditionalCost] = {}
    identifiers: tuple[str, ...] = ()
    attributes: dict[str, Any] = {}
    experiment_variant_allocations: tuple[ExperimentVariantAllocation, ...] = ()
    discounts: dict[str, Decimal] = {}
    update_count: int = 1
    returned: tuple[int, ...] | None = None
    returns: tuple[Return, ...] = ()

    @property
    def totals(self) -> Totals:
        return totals(self.cart_items, self.additional_costs)

    def remaining(self, position: int) -> int:
        returned = self.returned[position] if self.returned else 0
        return self.cart_items[position].quantity - returned


def apply_changes(session: Session, changes: SessionChanges) -> Session:
    """Lists and maps replace wholesale, attributes merge by key (decision 15)."""
    given = {
        name: value
        for name, value in msgspec.structs.asdict(changes).items()
        if value is not None and name != "attributes"
    }
    if given.get("discounts") is not None:
        given["discounts"] = {k: v for k, v in given["discounts"].items() if v != 0}
    if changes.attributes is not None:
        given["attributes"] = {**session.attributes, **changes.attributes}
    return msgspec.structs.replace(session, **given)


def evolve(session: Session | None, event: SessionEvents) -> Session:
    """The only place session state changes."""
    if isinstance(event, SessionCreated):
        return _created(event)
    if session is None:
        raise ValueError(f"session {event.originator_id} has no created event")
    moved = msgspec.structs.replace(
        session, version=event.originator_version, digest=event.digest, updated=event.timestamp
    )
    return _apply(moved, event)


def _apply(
    session: Session,
    event: ItemsUpdated | SessionClosed | ItemsReturned | SessionCancelled | SessionReopened,
) -> Session:
    """A new event type that is not handled here fails type-checking (assert_never)."""
    replace = msgspec.structs.replace
    match event:
        case ItemsUpdated():
            fields: dict[str, Any] = {"update_count": event.update_count}
            if event.changes.profile_id is not None:
                fields["profile_number"] = event.profile_number
            if event.first_session is not None:
                fields.update(first_session=event.first_session, first_session_fixed=True)
            return replace(apply_changes(session, event.changes), **fields)
        case SessionClosed():
            return replace(session, state="closed", update_count=event.update_count)
        case ItemsReturned():
            return replace(session, state="partially_returned", **_after_return(session, event))
        case SessionCancelled():
            return replace(
                session, state="cancelled", update_count=event.update_count, discounts={}
            )
        case SessionReopened():
            return replace(session, state="open", discounts={})
        case _:
            assert_never(event)


def _created(event: SessionCreated) -> Session:
    blank = Session(
        key=event.originator_id,
        version=event.originator_version,
        digest=event.digest,
        application_id=event.application_id,
        integration_id=event.integration_id,
        session_id=event.session_id,
        created=event.timestamp,
        updated=event.timestamp,
        profile_number=event.profile_number,
        first_session=event.first_session,
        first_session_fixed=bool(event.fields.profile_id),
    )
    return apply_changes(blank, event.fields)


def _after_return(session: Session, event: ItemsReturned) -> dict[str, Any]:
    returned = list(session.returned or [0] * len(session.cart_items))
    for line in event.lines:
        returned[line.position] += line.quantity
    record = Return(
        return_id=event.return_id,
        created=event.timestamp,
        requested=event.requested,
        version=event.originator_version,
        idempotency_key=event.idempotency_key,
    )
    return {"returned": tuple(returned), "returns": (*session.returns, record)}


def fold(events: Iterable[SessionEvents], session: Session | None = None) -> Session | None:
    for event in events:
        session = evolve(session, event)
    return session
