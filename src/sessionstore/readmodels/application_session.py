"""ApplicationSession: the Management API's view (docs/talon.md §1.3)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from sessionstore.domain.cart import ZERO
from sessionstore.domain.changes import State
from sessionstore.domain.events import SessionEvents
from sessionstore.domain.session import Session, fold
from sessionstore.readmodels.items import CartItemView, Shape, cart_item_views, joined


class ApplicationSession(Shape, frozen=True, kw_only=True):
    id: int
    created: datetime
    integration_id: str
    store_integration_id: str | None = None
    application_id: int
    profile_id: int | None = None
    profile_integration_id: str | None = msgspec.field(default=None, name="profileintegrationid")
    coupon: str
    referral: str
    state: State
    cart_items: tuple[CartItemView, ...]
    discounts: dict[str, Decimal]
    total_discounts: Decimal
    total: Decimal
    attributes: dict[str, Any]


def render_application_session(session: Session) -> ApplicationSession:
    return ApplicationSession(
        id=session.session_id,
        created=session.created,
        integration_id=session.integration_id,
        store_integration_id=session.store_integration_id,
        application_id=session.application_id,
        profile_id=session.profile_number,
        profile_integration_id=session.profile_id or None,
        coupon=joined(session.coupon_codes),
        referral=session.referral_code,
        state=session.state,
        cart_items=cart_item_views(session),
        discounts=session.discounts,
        total_discounts=sum(session.discounts.values(), ZERO),
        total=session.totals.total,
        attributes=session.attributes,
    )


def in_list(document: ApplicationSession) -> ApplicationSession:
    """The list endpoint shows totalDiscounts as 0, as Talon documents (decision 14)."""
    return msgspec.structs.replace(document, total_discounts=ZERO)


def fold_application_session(events: Iterable[SessionEvents]) -> ApplicationSession | None:
    session = fold(events)
    return render_application_session(session) if session else None
