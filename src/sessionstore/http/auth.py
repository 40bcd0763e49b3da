"""Who may call what, once keys are set.

- The Integration API and `/readmodels/...`: `Authorization: ApiKey-v1 <key>`, a key of
  `SESSIONSTORE_API_KEYS`; the key's application is the only one served.
- The Management API (`/v1/applications/...`): `Authorization: ManagementKey-v1 <key>`, a key
  of `SESSIONSTORE_MANAGEMENT_KEYS`; each reads every application. API keys are refused.
- No keys set at all: everything is open and the Integration API serves application 1.
- `/health` and `/openapi.json` are always open.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from sessionstore.config import Settings
from sessionstore.http.errors import HTTPProblem

DEFAULT_APPLICATION = 1
API_KEY = "ApiKey-v1"
MANAGEMENT_KEY = "ManagementKey-v1"


def secured(settings: Settings) -> bool:
    return bool(settings.api_keys or settings.management_keys)


def application_of(request: Request[Any, Any, Any], settings: Settings) -> int:
    """The application an Integration API or read-model request acts for."""
    if not secured(settings):
        return DEFAULT_APPLICATION
    key = _key(request, API_KEY)
    if key not in settings.api_keys:
        raise _unauthorized(API_KEY)
    return settings.api_keys[key]


def require_management_key(request: Request[Any, Any, Any], settings: Settings) -> None:
    if secured(settings) and _key(request, MANAGEMENT_KEY) not in settings.management_keys:
        raise _unauthorized(MANAGEMENT_KEY)


def _key(request: Request[Any, Any, Any], scheme: str) -> str:
    kind, _, key = request.headers.get("authorization", "").strip().partition(" ")
    return key.strip() if kind == scheme else ""


def _unauthorized(scheme: str) -> HTTPProblem:
    return HTTPProblem(
        401,
        "unauthorized",
        f"send a known key as `Authorization: {scheme} <key>`",
        parameter="Authorization",
        message="Unauthorized",
    )
