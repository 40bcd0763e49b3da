"""What an update asks for, and the limits of docs/talon.md §5.3 that every request must respect.

`None` means "left out, keep what is stored"; an empty list, map or string clears (decision 15).
"""

from __future__ import annotations

import re
import sys
from decimal import Decimal
from typing import Any, Literal

import msgspec

from sessionstore.domain.cart import AdditionalCost, CartItem, Value
from sessionstore.domain.errors import InvalidField

State = Literal["open", "closed", "partially_returned", "cancelled"]

MAX_LINES = 1000
MAX_UNITS = 10_000
MAX_CODE_LENGTH = 100
MAX_ID_LENGTH = 1000
MAX_IDENTIFIERS = 5
MAX_LOYALTY_CARDS = 1
MAX_AMOUNT = Decimal(sys.float_info.max)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # what a JSON number can be for every client


class ExperimentVariantAllocation(Value, frozen=True, kw_only=True):
    experiment_id: int = msgspec.field(name="experimentID")
    variant_id: int = msgspec.field(name="variantID")


class SessionChanges(Value, frozen=True, kw_only=True):
    """The writable fields of NewCustomerSessionV2, plus the `discounts` extension (decision 21)."""

    profile_id: str | None = None
    store_integration_id: str | None = None
    coupon_codes: tuple[str, ...] | None = None
    referral_code: str | None = None
    loyalty_cards: tuple[str, ...] | None = None
    cart_items: tuple[CartItem, ...] | None = None
    additional_costs: dict[str, AdditionalCost] | None = None
    identifiers: tuple[str, ...] | None = None
    attributes: dict[str, Any] | None = None
    experiment_variant_allocations: tuple[ExperimentVariantAllocation, ...] | None = None
    discounts: dict[str, Decimal] | None = None


class SessionUpdate(SessionChanges, frozen=True, kw_only=True):
    """An update request's `customerSession`: the changes plus the requested state."""

    state: State | None = None

    @property
    def changes(self) -> SessionChanges:
        fields = msgspec.structs.asdict(self)
        del fields["state"]
        return SessionChanges(**fields)


POINTER = "/customerSession"


def validate(changes: SessionChanges) -> None:
    """Raise InvalidField for the first limit broken, naming its JSON pointer."""
    _check_length(changes.profile_id, "profileId", MAX_ID_LENGTH)
    if changes.store_integration_id is not None:
        _check_length(changes.store_integration_id, "storeIntegrationId", MAX_ID_LENGTH, 1)
    for i, code in enumerate(changes.coupon_codes or ()):
        _check_length(code, f"couponCodes/{i}", MAX_CODE_LENGTH)
    _check_length(changes.referral_code, "referralCode", MAX_CODE_LENGTH)
    _check_count(changes.loyalty_cards, "loyaltyCards", MAX_LOYALTY_CARDS)
    _check_count(changes.identifiers, "identifiers", MAX_IDENTIFIERS)
    for field, texts in (
        ("loyaltyCards", changes.loyalty_cards),
        ("identifiers", changes.identifiers),
    ):
        for i, text in enumerate(texts or ()):
            _check_text(text, f"{field}/{i}")
    _check_costs(changes.additional_costs or {}, "additionalCosts")
    for name, amount in (changes.discounts or {}).items():
        _check_text(name, f"discounts/{name}")
        _check_amount(amount, f"discounts/{name}")
    if changes.cart_items is not None:
        _check_cart(changes.cart_items)


def _check_cart(items: tuple[CartItem, ...]) -> None:
    _check_count(items, "cartItems", MAX_LINES)
    for i, item in enumerate(items):
        where = f"cartItems/{i}"
        if not item.sku:
            raise InvalidField(f"{POINTER}/{where}/sku", "sku must not be empty", "minLength")
        for name, text in (("sku", item.sku), ("name", item.name), ("category", item.category)):
            _check_text(text, f"{where}/{name}")
        _check_text(item.product.name if item.product else None, f"{where}/product/name")
        if item.quantity < 1:
            raise InvalidField(
                f"{POINTER}/{where}/quantity", "quantity must be at least 1", "minimum"
            )
        for name in ("price", "weight", "height", "width", "length"):
            _check_amount(getattr(item, name), f"{where}/{name}")
        _check_costs(item.additional_costs, f"{where}/additionalCosts")
    units = sum(item.quantity for item in items)
    if units > MAX_UNITS:
        raise InvalidField(
            f"{POINTER}/cartItems",
            f"the quantities add up to {units}, more than {MAX_UNITS}",
            "maxUnits",
        )


def _check_costs(costs: dict[str, AdditionalCost], where: str) -> None:
    for name, cost in costs.items():
        if not name:
            raise InvalidField(f"{POINTER}/{where}", "a cost name must not be empty", "minLength")
        _check_text(name, f"{where}/{name}")
        _check_amount(cost.price, f"{where}/{name}/price")


def _check_amount(amount: Decimal | None, where: str) -> None:
    if amount is None:
        return
    if not amount.is_finite():
        raise InvalidField(f"{POINTER}/{where}", f"{amount} is not a finite number", "type")
    if abs(amount) > MAX_AMOUNT:
        raise InvalidField(f"{POINTER}/{where}", "beyond the range of a 64-bit float", "maximum")


def _check_text(value: str | None, where: str) -> None:
    """No control characters (NUL, line breaks, ...): storage and logs could not take them."""
    if value is not None and _CONTROL.search(value):
        raise InvalidField(f"{POINTER}/{where}", "must not contain control characters", "format")


def _check_length(value: str | None, where: str, most: int, least: int = 0) -> None:
    if value is None:
        return
    _check_text(value, where)
    if len(value) > most:
        raise InvalidField(
            f"{POINTER}/{where}", f"must be at most {most} characters long", "maxLength"
        )
    if len(value) < least:
        raise InvalidField(
            f"{POINTER}/{where}", f"must be at least {least} characters long", "minLength"
        )


def _check_count(values: tuple[Any, ...] | None, where: str, most: int) -> None:
    if values is not None and len(values) > most:
        raise InvalidField(f"{POINTER}/{where}", f"must have at most {most} items", "maxItems")
