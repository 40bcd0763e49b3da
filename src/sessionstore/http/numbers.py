"""Amounts must arrive as JSON numbers, as Talon's schema says (decision 24).

msgspec would also read a decimal string into a `Decimal`; this check keeps `"9.99"` a 400.
A typed decode of just the amounts passes a valid body at C speed; only a body it refuses is
walked in Python, to name the exact field (map keys included) in the error.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import msgspec

from sessionstore.http.errors import HTTPProblem

ITEM_AMOUNTS = ("price", "weight", "height", "width", "length")
Number = int | float  # strict: neither a string nor a boolean


class _Cost(msgspec.Struct):
    price: Number | None = None


class _Item(msgspec.Struct, rename="camel"):
    price: Number | None = None
    weight: Number | None = None
    height: Number | None = None
    width: Number | None = None
    length: Number | None = None
    additional_costs: dict[str, _Cost] | None = None


class _Session(msgspec.Struct, rename="camel"):
    cart_items: list[_Item] | None = None
    additional_costs: dict[str, _Cost] | None = None
    discounts: dict[str, Number] | None = None


class _Body(msgspec.Struct, rename="camel"):
    customer_session: _Session | None = None


_numbers_only = msgspec.json.Decoder(_Body)
_lenient = msgspec.json.Decoder(float_hook=Decimal)  # reads 1e400 too (the domain refuses it)


def require_numeric_amounts(body: bytes) -> None:
    try:
        _numbers_only.decode(body)
        return
    except msgspec.ValidationError:
        pass  # find and name the field
    try:
        session = _object(_lenient.decode(body)).get("customerSession")
    except msgspec.ValidationError:
        return  # an integer of over 4,300 digits: the domain's range check names it
    for pointer, value in _amounts(_object(session)):
        if not isinstance(value, int | Decimal) or isinstance(value, bool):
            raise HTTPProblem(400, "type", f"{pointer}: expected a number", pointer=pointer)


def _amounts(session: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    base = "/customerSession"
    for i, item in enumerate(session.get("cartItems") or []):
        item = _object(item)
        for name in ITEM_AMOUNTS:
            if item.get(name) is not None:
                yield f"{base}/cartItems/{i}/{name}", item[name]
        yield from _costs(item.get("additionalCosts"), f"{base}/cartItems/{i}/additionalCosts")
    yield from _costs(session.get("additionalCosts"), f"{base}/additionalCosts")
    for label, amount in _object(session.get("discounts")).items():
        yield f"{base}/discounts/{label}", amount


def _costs(costs: Any, where: str) -> Iterator[tuple[str, Any]]:
    for name, cost in _object(costs).items():
        yield f"{where}/{name}/price", _object(cost).get("price")


def _object(value: Any) -> dict[str, Any]:
    """The typed decoder has already checked shapes; anything else counts as empty here."""
    return value if isinstance(value, dict) else {}
