"""`Authorization: ApiKey-v1 <key>` -> the application the key belongs to."""

from __future__ import annotations

from typing import Any

from litestar import Request

from sessionstore.http.errors import HTTPProblem

DEFAULT_APPLICATION = 1
PREFIX = "ApiKey-v1 "


def application_of(request: Request[Any, Any, Any], api_keys: dict[str, int]) -> int:
    """No keys configured: every request belongs to application 1."""
    if not api_keys:
        return DEFAULT_APPLICATION
    header = request.headers.get("authorization", "")
    key = header[len(PREFIX) :].strip() if header.startswith(PREFIX) else ""
    if key not in api_keys:
        raise HTTPProblem(
            401,
            "unauthorized",
            "send a known key as `Authorization: ApiKey-v1 <key>`",
            parameter="Authorization",
            message="Unauthorized",
        )
    return api_keys[key]
