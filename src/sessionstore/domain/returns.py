"""Returning cart items: which units of which line a request takes back (decisions 4-8)."""

from __future__ import annotations

from sessionstore.domain.commands import Stamp
from sessionstore.domain.errors import InvalidReturn, InvalidTransition
from sessionstore.domain.events import ItemsReturned, ReturnedCartItem, ReturnedLine
from sessionstore.domain.session import Session

POINTER = "/return/returnedCartItems"


def return_items(
    session: Session,
    stamp: Stamp,
    requested: tuple[ReturnedCartItem, ...],
    *,
    return_id: int,
    idempotency_key: str | None,
) -> ItemsReturned:
    if session.state not in ("closed", "partially_returned"):
        raise InvalidTransition(
            f"cannot return items of a {session.state} session; close it first",
            "/customerSession/state",
        )
    if not requested:
        raise InvalidReturn("returnedCartItems must name at least one item", POINTER)
    taking = [0] * len(session.cart_items)
    for index, item in enumerate(requested):
        position = _line_of(session, item, f"{POINTER}/{index}")
        remaining = session.remaining(position) - taking[position]
        amount = remaining if item.quantity is None else item.quantity
        if not 1 <= amount <= remaining:
            raise InvalidReturn(
                f"cannot return {amount} unit(s) of the line at position {position}: "
                f"{remaining} remain",
                f"{POINTER}/{index}/quantity",
            )
        taking[position] += amount
    lines = tuple(
        ReturnedLine(position=position, quantity=quantity)
        for position, quantity in enumerate(taking)
        if quantity
    )
    return ItemsReturned(
        **stamp.fields(1),
        return_id=return_id,
        requested=requested,
        lines=lines,
        idempotency_key=idempotency_key,
    )


def _line_of(session: Session, item: ReturnedCartItem, where: str) -> int:
    """By position, by SKU, or both when they agree; an SKU on several lines is ambiguous."""
    items = session.cart_items
    if item.position is not None:
        if not 0 <= item.position < len(items):
            raise InvalidReturn(f"the session has no line at position {item.position}", where)
        if item.sku is not None and items[item.position].sku != item.sku:
            raise InvalidReturn(
                f"the line at position {item.position} has sku {items[item.position].sku!r},"
                f" not {item.sku!r}",
                where,
            )
        return item.position
    if item.sku is None:
        raise InvalidReturn("give the line's position or its sku", where)
    matches = [i for i, line in enumerate(items) if line.sku == item.sku]
    if not matches:
        raise InvalidReturn(f"the session has no line with sku {item.sku!r}", f"{where}/sku")
    if len(matches) > 1:
        raise InvalidReturn(
            f"sku {item.sku!r} is on {len(matches)} lines; give the position too", f"{where}/sku"
        )
    return matches[0]
