"""Query parameters, headers and path ids, checked with Talon's limits (docs/talon.md §5.3)."""

from __future__ import annotations

from datetime import UTC, datetime

from sessionstore.domain.changes import MAX_ID_LENGTH
from sessionstore.http.errors import HTTPProblem

MAX_IDEMPOTENCY_KEY = 255


def integration_id(value: str) -> str:
    if not value or len(value) > MAX_ID_LENGTH:
        raise HTTPProblem(
            400,
            "maxLength",
            f"customerSessionId must be 1 to {MAX_ID_LENGTH} characters long",
            parameter="customerSessionId",
        )
    return value


def dry_run(dry: str | None, now: str | None) -> bool:
    """`now` is allowed only with dry=true and must be a future RFC 3339 time (decision 16)."""
    if dry not in (None, "true", "false"):
        raise HTTPProblem(400, "type", "dry must be true or false", parameter="dry")
    is_dry = dry == "true"
    if now is None:
        return is_dry
    if not is_dry:
        raise HTTPProblem(
            400, "invalid_combination", "now is only allowed with dry=true", parameter="now"
        )
    try:
        moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPProblem(
            400, "format", "now must be an RFC 3339 date-time", parameter="now"
        ) from None
    if moment.tzinfo is None or moment <= datetime.now(UTC):
        raise HTTPProblem(
            400, "invalid_time", "now must be a future time with a zone", parameter="now"
        )
    return is_dry


def idempotency_key(value: str | None) -> str | None:
    if value is not None and not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY:
        raise HTTPProblem(
            400,
            "maxLength",
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
            parameter="Idempotency-Key",
        )
    return value
