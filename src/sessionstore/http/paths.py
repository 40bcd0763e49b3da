"""Paths as they were sent: every path segment is one parameter, whatever it decodes to.

The server decodes the path before routing, so `X%2Freopen` would route to session X's
reopen. Before any handler runs, the raw path is checked segment by segment: a segment that
holds an encoded `/` (`%2F`), is empty (`//`), does not decode to UTF-8, or holds a control
character (NUL, a line break that would forge log lines, ...) is a 400 naming the parameter
it stands for. Whole numbers in the path must fit 64 bits (the storage's integers).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

from litestar import Request

from sessionstore.http.bodies import MAX_INT64
from sessionstore.http.errors import HTTPProblem
from sessionstore.metrics import route_template

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAMES = {  # a route's parameter -> its name in Talon's API, for the error's pointer
    "customer_session_id": "customerSessionId",
    "application_id": "applicationId",
    "session_id": "sessionId",
    "integration_id": "integrationId",
}


def guard_raw_path(request: Request[Any, Any, Any]) -> None:
    """A Litestar `before_request` hook: raises the 400 for the first bad segment."""
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    template = (route_template(request.scope) or "").split("/")[1:]
    segments = raw.split(b"?", 1)[0].split(b"/")[1:]
    for index, segment in enumerate(segments):
        name = _parameter(template, index)
        _check_segment(segment, name, last=index == len(segments) - 1)
    for key, value in request.path_params.items():
        if isinstance(value, int) and not 0 <= value <= MAX_INT64:
            name = _NAMES.get(key, key)
            title = "minimum" if value < 0 else "maximum"
            raise HTTPProblem(400, title, f"{name} must be 0 to {MAX_INT64}", parameter=name)


def _check_segment(segment: bytes, name: str, *, last: bool) -> None:
    if not segment and not last:
        raise HTTPProblem(400, "format", "the path has an empty segment (//)", parameter=name)
    if b"%2f" in segment.lower():
        raise HTTPProblem(
            400, "format", f"{name} must not contain '/' (sent as %2F)", parameter=name
        )
    try:
        text = unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPProblem(
            400, "format", f"{name} is not valid UTF-8 once percent-decoded", parameter=name
        ) from None
    if _CONTROL.search(text):
        raise HTTPProblem(
            400, "format", f"{name} must not contain control characters", parameter=name
        )


def _parameter(template: list[str], index: int) -> str:
    part = template[index] if index < len(template) else ""
    if part.startswith("{"):
        key = part[1:-1].split(":")[0]
        return _NAMES.get(key, key)
    return "path"
