"""The CartItem shape shared by all three read models (docs/talon.md §1.4)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from sessionstore.domain.cart import AdditionalCost, Product
from sessionstore.domain.session import Session


class Shape(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    """Base of the read shapes: Talon's camelCase names, absent optional fields left out."""


class CartItemView(Shape, frozen=True, kw_only=True):
    name: str | None = None
    sku: str
    quantity: int
    returned_quantity: int | None = None
    remaining_quantity: int | None = None
    price: Decimal | None = None
    category: str | None = None
    product: Product | None = None
    weight: Decimal | None = None
    height: Decimal | None = None
    width: Decimal | None = None
    length: Decimal | None = None
    position: int
    attributes: dict[str, Any] = {}
    additional_costs: dict[str, AdditionalCost] = {}


def cart_item_views(session: Session) -> tuple[CartItemView, ...]:
    """Returned/remaining appear on every line once the session has a return (decision 7)."""
    views = []
    for position, item in enumerate(session.cart_items):
        returned = None if session.returned is None else session.returned[position]
        views.append(
            CartItemView(
                **msgspec.structs.asdict(item),
                returned_quantity=returned,
                remaining_quantity=None if returned is None else item.quantity - returned,
                position=position,
            )
        )
    return tuple(views)


def joined(codes: tuple[str, ...]) -> str:
    """Several coupon codes in one V1/Management `coupon` string (decision 13)."""
    return ",".join(codes)
