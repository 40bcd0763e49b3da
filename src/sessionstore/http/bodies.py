"""Request bodies, decoded with limits that hold before anything is stored.

- JSON nesting at most MAX_DEPTH levels anywhere in the body, known fields or not (deeper
  was a RecursionError in the decoder, or a history that could not be read back).
- Free-form values (the `attributes` of the session and of each cart item): whole numbers
  within 64 bits, and each value at most `max_attribute_bytes` once encoded.
- A typed field that fails names its exact JSON pointer, map keys included
  (`/customerSession/additionalCosts/shipping/price`). msgspec reports "some key of this map"
  as `[...]`; the key is found by decoding the body again with that map cut down to one key
  at a time (only for a body already refused, so a valid one costs nothing more).
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from sessionstore.domain.changes import SessionUpdate
from sessionstore.http.errors import ANY_KEY, HTTPProblem, Steps, path_steps, validation_problem
from sessionstore.http.numbers import require_numeric_amounts
from sessionstore.http.schemas import IntegrationRequest, ReturnIntegrationRequest

T = TypeVar("T")
LENIENT = msgspec.json.Decoder(float_hook=Decimal)  # any JSON, numbers beyond float64 too
_EXACT = msgspec.json.Encoder(decimal_format="number")  # ... and back, unchanged
MAX_DEPTH = 32
MAX_WHOLE_FLOATS = 100  # `2.0`s read as ints in one body, at most
MAX_INT64 = 2**63 - 1
_update = msgspec.json.Decoder(IntegrationRequest)
_return = msgspec.json.Decoder(ReturnIntegrationRequest)
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = re.compile(rb"[^\[\]{}]+")


def invalid(pointer: str, details: str, title: str) -> HTTPProblem:
    return HTTPProblem(400, title, f"{pointer}: {details}", pointer=pointer)


def update_request(raw: bytes, max_attribute_bytes: int) -> IntegrationRequest:
    """An update's body with every limit checked (the domain's rules come after)."""
    body = decode(_update, raw)
    require_numeric_amounts(raw)
    check_session_values(body.customer_session, max_attribute_bytes)
    return body


def return_request(raw: bytes) -> ReturnIntegrationRequest:
    return decode(_return, raw)


def decode(decoder: msgspec.json.Decoder[T], raw: bytes) -> T:
    """The typed body, or a 400 naming the field (invalid JSON is left to msgspec's error).

    A whole number written with a fraction (`2.0`) is a whole number, as JSON Schema says:
    where msgspec wants an int and finds such a float, the body is read again with an int.
    """
    check_depth(raw)
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as error:
        if (whole := _with_whole_numbers(error, decoder, raw)) is not None:
            return whole
        raise _named(error, decoder, raw) from None


def _with_whole_numbers(
    error: msgspec.ValidationError, decoder: msgspec.json.Decoder[T], raw: bytes
) -> T | None:
    document: Any = None
    for _ in range(MAX_WHOLE_FLOATS):
        steps = path_steps(str(error))
        if "got `float`" not in str(error) or "int" not in str(error) or ANY_KEY in steps:
            return None
        if document is None:
            document = LENIENT.decode(raw)
        holder, last = _at(document, steps[:-1]), steps[-1] if steps else None
        value = holder[last] if last is not None else None
        if not isinstance(value, Decimal) or value != value.to_integral_value():
            return None
        holder[last] = int(value)
        try:
            return decoder.decode(_EXACT.encode(document))
        except msgspec.ValidationError as again:
            error = again
    return None


def check_depth(raw: bytes) -> None:
    brackets = _NOT_BRACKETS.sub(b"", _STRINGS.sub(b"", raw))
    steps = (1 if byte in b"[{" else -1 for byte in brackets)
    if max(itertools.accumulate(steps), default=0) > MAX_DEPTH:
        raise invalid("/", f"JSON nested deeper than {MAX_DEPTH} levels", "maxDepth")


def check_session_values(session: SessionUpdate, max_bytes: int) -> None:
    """The free-form values of an update's `customerSession`."""
    check_free_values(session.attributes or {}, "/customerSession/attributes", max_bytes)
    for i, item in enumerate(session.cart_items or ()):
        where = f"/customerSession/cartItems/{i}/attributes"
        check_free_values(item.attributes, where, max_bytes)


def check_free_values(values: dict[str, Any], pointer: str, max_bytes: int) -> None:
    """An `attributes` map: whole numbers within 64 bits, each value within `max_bytes`."""
    for key, value in values.items():
        where = f"{pointer}/{key}"
        if len(msgspec.json.encode(value)) > max_bytes:
            raise invalid(where, f"larger than {max_bytes} bytes once encoded", "maxLength")
        for inner, number in _whole_numbers(value, where):
            if not -MAX_INT64 - 1 <= number <= MAX_INT64:
                raise invalid(inner, "a whole number beyond 64 bits", "maximum")


def _whole_numbers(value: Any, pointer: str) -> Iterator[tuple[str, int]]:
    """Every whole number inside `value`, `2.0` included (JSON Schema's integers)."""
    stack = [(pointer, value)]
    while stack:
        where, current = stack.pop()
        if isinstance(current, dict):
            stack.extend((f"{where}/{k}", v) for k, v in current.items())
        elif isinstance(current, list):
            stack.extend((f"{where}/{i}", v) for i, v in enumerate(current))
        elif isinstance(current, int) and not isinstance(current, bool):
            yield where, current
        elif isinstance(current, float) and current.is_integer():  # 1e19 is a whole number
            yield where, int(current)


# -- naming the map key msgspec leaves out ----------------------------------------------------


def _named(
    error: msgspec.ValidationError, decoder: msgspec.json.Decoder[Any], raw: bytes
) -> HTTPProblem:
    """msgspec's error at its path, every `[...]` in it replaced by the key that fails."""
    text = str(error)
    steps = path_steps(text)
    if ANY_KEY in steps:
        # LENIENT refuses only an integer of over 4,300 digits: then point at the map
        with contextlib.suppress(msgspec.ValidationError):
            steps = _resolve(steps, decoder, LENIENT.decode(raw)) or steps
    return validation_problem(text, steps)


def _resolve(steps: Steps, decoder: msgspec.json.Decoder[Any], document: Any) -> Steps | None:
    while ANY_KEY in steps:
        i = steps.index(ANY_KEY)
        holder = _at(document, steps[:i])
        if not isinstance(holder, dict):
            return None
        for key in holder:
            found = _failure(decoder, _with_only(document, steps[:i], key))
            if found[:i] == steps[:i] and found[i : i + 1] == [ANY_KEY]:
                steps = [*steps[:i], key, *found[i + 1 :]]
                break
        else:
            return None
    return steps


def _failure(decoder: msgspec.json.Decoder[Any], document: Any) -> Steps:
    """Where `document` fails to decode ([] if it does not fail, or fails at the top)."""
    try:
        decoder.decode(_EXACT.encode(document))
    except msgspec.ValidationError as error:
        return path_steps(str(error))
    return []


def _at(document: Any, steps: Steps) -> Any:
    for step in steps:
        document = document[step]
    return document


def _with_only(document: Any, steps: Steps, key: str) -> Any:
    """A copy of `document` in which the map at `steps` keeps only `key`."""
    if not steps:
        return {key: document[key]}
    copy: Any = dict(document) if isinstance(document, dict) else list(document)
    copy[steps[0]] = _with_only(document[steps[0]], steps[1:], key)
    return copy
