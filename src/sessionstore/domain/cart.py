"""Cart items, additional costs and the totals of docs/talon.md §4 (Decimal only)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

ZERO = Decimal(0)


class Value(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    """Base of the value objects: camelCase on the wire, unset fields left out."""


class AdditionalCost(Value, frozen=True, kw_only=True):
    price: Decimal


class Product(Value, frozen=True, kw_only=True):
    name: str


class CartItem(Value, frozen=True, kw_only=True):
    """A cart line as the integrator sent it; server-computed fields are never stored."""

    sku: str
    quantity: int
    name: str | None = None
    price: Decimal | None = None
    category: str | None = None
    product: Product | None = None
    weight: Decimal | None = None
    height: Decimal | None = None
    width: Decimal | None = None
    length: Decimal | None = None
    attributes: dict[str, Any] = {}
    additional_costs: dict[str, AdditionalCost] = {}


class Totals(msgspec.Struct, frozen=True, kw_only=True):
    cart_items: Decimal
    additional_costs: Decimal
    cart_item_additional_costs: Decimal

    @property
    def total(self) -> Decimal:
        return self.cart_items + self.additional_costs + self.cart_item_additional_costs


def item_cost_per_unit(item: CartItem) -> Decimal:
    return sum((cost.price for cost in item.additional_costs.values()), ZERO)


def totals(items: tuple[CartItem, ...], costs: dict[str, AdditionalCost]) -> Totals:
    """Per-item costs are charged per unit (decision 9); a line without price counts 0."""
    return Totals(
        cart_items=sum(((item.price or ZERO) * item.quantity for item in items), ZERO),
        additional_costs=sum((cost.price for cost in costs.values()), ZERO),
        cart_item_additional_costs=sum(
            (item_cost_per_unit(item) * item.quantity for item in items), ZERO
        ),
    )
