"""Talon's getApplicationSessions filters, sorting, and how they become SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Filters(msgspec.Struct, frozen=True, kw_only=True):
    """Talon's getApplicationSessions filters (docs/talon.md §6)."""

    state: str | None = None
    profile: str | None = None
    coupon: str | None = None
    referral: str | None = None
    integration_id: str | None = None
    store_integration_id: str | None = None
    created_before_us: int | None = None
    created_after_us: int | None = None
    partial_match: bool = False


SORTABLE = {
    "created": "created_us",
    "id": "session_id",
    "integrationId": "integration_id",
    "state": "state",
    "profile": "profile",
    "coupon": "coupon",
}


def micros(moment: datetime) -> int:
    """Microseconds since the epoch: exact, and sortable as a number."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def where(application_id: int, f: Filters) -> tuple[str, list[Any]]:
    clauses: list[str] = ["application_id = ?"]
    params: list[Any] = [application_id]
    matchable = {
        "profile": f.profile,
        "coupon": f.coupon,
        "referral": f.referral,
        "integration_id": f.integration_id,
        "store_integration_id": f.store_integration_id,
    }
    for column, value in matchable.items():
        if value is None:
            continue
        if f.partial_match:
            clauses.append(f"{column} LIKE ?")
            params.append("%" + value.replace("%", "").replace("_", "") + "%")
        else:
            clauses.append(f"{column} = ?")
            params.append(value)
    if f.state is not None:
        clauses.append("state = ?")
        params.append(f.state)
    if f.created_before_us is not None:
        clauses.append("created_us < ?")
        params.append(f.created_before_us)
    if f.created_after_us is not None:
        clauses.append("created_us > ?")
        params.append(f.created_after_us)
    return " AND ".join(clauses), params
