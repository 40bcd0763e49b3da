"""What the generated JSON Schemas do not say by themselves: money travels as JSON numbers,
and the limits the server checks (docs/talon.md §5.3 and `http.bodies`).

msgspec writes a `Decimal` as a decimal string; on the wire this API takes and sends
numbers (decision 24), so every decimal becomes `number`. The limits are declared here, by
component and property, rather than as msgspec constraints on the domain's Structs: those
Structs also decode stored events, which must keep decoding whatever the limits become.
"""

from __future__ import annotations

import sys
from typing import Any

from sessionstore.domain.changes import (
    MAX_CODE_LENGTH,
    MAX_ID_LENGTH,
    MAX_IDENTIFIERS,
    MAX_LINES,
    MAX_LOYALTY_CARDS,
    MAX_UNITS,
)
from sessionstore.http.bodies import MAX_INT64

TEXT = "^[^\\u0000-\\u001f\\u007f]*$"  # no control characters
NAME = {"minLength": 1, "pattern": TEXT}
AMOUNT = {"type": "number", "minimum": -sys.float_info.max, "maximum": sys.float_info.max}
INT64 = {"type": "integer", "minimum": -MAX_INT64 - 1, "maximum": MAX_INT64}

ATTRIBUTE_VALUE = {  # any JSON, whole numbers (2 and 2.0 alike) within 64 bits at every depth
    "description": "Free-form; whole numbers within 64 bits, at most 32 levels deep, at most "
    "SESSIONSTORE_MAX_ATTRIBUTE_BYTES once encoded",
    "if": {"type": "integer"},
    "then": {"minimum": -MAX_INT64 - 1, "maximum": MAX_INT64},
    "items": {"$ref": "#/components/schemas/AttributeValue"},
    "additionalProperties": {"$ref": "#/components/schemas/AttributeValue"},
}
ATTRIBUTES = {"additionalProperties": {"$ref": "#/components/schemas/AttributeValue"}}

LIMITS: dict[str, dict[str, dict[str, Any]]] = {
    "SessionUpdate": {
        "profileId": {"maxLength": MAX_ID_LENGTH, "pattern": TEXT},
        "storeIntegrationId": {"minLength": 1, "maxLength": MAX_ID_LENGTH, "pattern": TEXT},
        "couponCodes": {"items": {"maxLength": MAX_CODE_LENGTH, "pattern": TEXT}},
        "referralCode": {"maxLength": MAX_CODE_LENGTH, "pattern": TEXT},
        "loyaltyCards": {"maxItems": MAX_LOYALTY_CARDS, "items": {"pattern": TEXT}},
        "identifiers": {"maxItems": MAX_IDENTIFIERS, "items": {"pattern": TEXT}},
        "cartItems": {"maxItems": MAX_LINES},
        "additionalCosts": {"propertyNames": NAME},
        "discounts": {"propertyNames": {"pattern": TEXT}},
        "attributes": ATTRIBUTES,
    },
    "CartItem": {
        "sku": NAME,
        "quantity": {"minimum": 1, "maximum": MAX_UNITS},
        "name": {"pattern": TEXT},
        "category": {"pattern": TEXT},
        "additionalCosts": {"propertyNames": NAME},
        "attributes": ATTRIBUTES,
    },
    "Product": {"name": {"pattern": TEXT}},
    "ReturnedCartItem": {"position": {"minimum": 0}, "quantity": {"minimum": 1}},
}


def with_limits(components: dict[str, Any]) -> dict[str, Any]:
    """The components with numbers for decimals and the limits above applied."""
    fixed: dict[str, Any] = _numbers(components) | {"AttributeValue": ATTRIBUTE_VALUE}
    for name, properties in LIMITS.items():
        for prop, limits in properties.items():
            _merge(_value_schema(fixed[name]["properties"][prop]), limits)
    return fixed


def _numbers(schema: Any) -> Any:
    if isinstance(schema, dict):
        if schema.get("type") == "string" and schema.get("format") == "decimal":
            return dict(AMOUNT)
        return {key: _numbers(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_numbers(value) for value in schema]
    return schema


def _value_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """For `X | None` (an anyOf with null), the X branch."""
    branches: list[dict[str, Any]] = schema.get("anyOf", [])
    for branch in branches:
        if branch.get("type") != "null":
            return branch  # changed in place: `_numbers` made fresh copies
    return schema


def _merge(target: dict[str, Any], limits: dict[str, Any]) -> None:
    for key, value in limits.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
