"""CustomerSessionV2: the Integration API's session shape (docs/talon.md §1.1)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sessionstore.domain.cart import AdditionalCost
from sessionstore.domain.changes import ExperimentVariantAllocation, State
from sessionstore.domain.events import SessionEvents
from sessionstore.domain.session import Session, fold
from sessionstore.readmodels.items import CartItemView, Shape, cart_item_views


class CustomerSessionV2(Shape, frozen=True, kw_only=True):
    id: int
    created: datetime
    integration_id: str
    application_id: int
    profile_id: str
    store_integration_id: str | None = None
    coupon_codes: tuple[str, ...]
    referral_code: str
    loyalty_cards: tuple[str, ...]
    state: State
    cart_items: tuple[CartItemView, ...]
    experiment_variant_allocations: tuple[ExperimentVariantAllocation, ...] = ()
    additional_costs: dict[str, AdditionalCost]
    identifiers: tuple[str, ...]
    attributes: dict[str, Any]
    first_session: bool
    update_count: int
    total: Decimal
    cart_item_total: Decimal
    additional_cost_total: Decimal
    cart_item_additional_cost_total: Decimal
    updated: datetime


def render_v2(session: Session) -> CustomerSessionV2:
    totals = session.totals
    return CustomerSessionV2(
        id=session.session_id,
        created=session.created,
        integration_id=session.integration_id,
        application_id=session.application_id,
        profile_id=session.profile_id,
        store_integration_id=session.store_integration_id,
        coupon_codes=session.coupon_codes,
        referral_code=session.referral_code,
        loyalty_cards=session.loyalty_cards,
        state=session.state,
        cart_items=cart_item_views(session),
        experiment_variant_allocations=session.experiment_variant_allocations,
        additional_costs=session.additional_costs,
        identifiers=session.identifiers,
        attributes=session.attributes,
        first_session=session.first_session,
        update_count=session.update_count,
        total=totals.total,
        cart_item_total=totals.cart_items,
        additional_cost_total=totals.additional_costs,
        cart_item_additional_cost_total=totals.cart_item_additional_costs,
        updated=session.updated,
    )


def fold_v2(events: Iterable[SessionEvents]) -> CustomerSessionV2 | None:
    session = fold(events)
    return render_v2(session) if session else None
