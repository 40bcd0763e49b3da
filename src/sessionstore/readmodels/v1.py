"""CustomerSession (V1, deprecated): one coupon string, a discounts map (docs/talon.md §1.2)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sessionstore.domain.changes import State
from sessionstore.domain.events import SessionEvents
from sessionstore.domain.session import Session, fold
from sessionstore.readmodels.items import CartItemView, Shape, cart_item_views, joined


class CustomerSession(Shape, frozen=True, kw_only=True):
    integration_id: str
    created: datetime
    application_id: int
    profile_id: str
    coupon: str
    referral: str
    state: State
    cart_items: tuple[CartItemView, ...]
    identifiers: tuple[str, ...]
    total: Decimal
    attributes: dict[str, Any]
    first_session: bool
    update_count: int
    discounts: dict[str, Decimal]
    updated: datetime


def render_v1(session: Session) -> CustomerSession:
    return CustomerSession(
        integration_id=session.integration_id,
        created=session.created,
        application_id=session.application_id,
        profile_id=session.profile_id,
        coupon=joined(session.coupon_codes),
        referral=session.referral_code,
        state=session.state,
        cart_items=cart_item_views(session),
        identifiers=session.identifiers,
        total=session.totals.total,
        attributes=session.attributes,
        first_session=session.first_session,
        update_count=session.update_count,
        discounts=session.discounts,
        updated=session.updated,
    )


def fold_v1(events: Iterable[SessionEvents]) -> CustomerSession | None:
    session = fold(events)
    return render_v1(session) if session else None
