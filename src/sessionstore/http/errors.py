"""Talon.One's error envelope: {message, errors: [{title, details, source}], StatusCode}."""

from __future__ import annotations

import re

import msgspec
from litestar import Response

from sessionstore import codec
from sessionstore.domain.errors import ConcurrentUpdate, DomainError, SessionNotFound
from sessionstore.http.schemas import APIError, ErrorResponse, ErrorSource

INVALID = "The submitted data was invalid"
_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_STEP = re.compile(r"\.(?P<field>[^.\[]+)|\[(?P<index>\d+|\.\.\.)\]")
_TITLES = (
    ("Invalid enum value", "enum"),
    ("length <=", "maxLength"),
    ("length >=", "minLength"),
    ("missing required field", "required"),
    ("Expected", "type"),
)


class HTTPProblem(Exception):
    """An error raised by the HTTP layer itself (auth, query parameters, headers)."""

    def __init__(
        self,
        status: int,
        title: str,
        details: str,
        *,
        pointer: str | None = None,
        parameter: str | None = None,
        message: str = INVALID,
    ) -> None:
        super().__init__(details)
        self.status = status
        self.message = message
        self.error = APIError(
            title=title, details=details, source=ErrorSource(pointer=pointer, parameter=parameter)
        )


def problem_response(problem: HTTPProblem) -> Response[bytes]:
    return envelope(problem.status, problem.message, problem.error)


def domain_error_response(error: DomainError) -> Response[bytes]:
    status, message = 400, INVALID
    if isinstance(error, SessionNotFound):
        status, message = 404, "Not found"
    elif isinstance(error, ConcurrentUpdate):
        status, message = 409, error.details
    source = (
        ErrorSource(pointer=error.pointer)
        if error.pointer
        else ErrorSource(parameter="customerSessionId")
    )
    return envelope(
        status, message, APIError(title=error.title, details=error.details, source=source)
    )


def decode_error_response(error: msgspec.MsgspecError) -> Response[bytes]:
    """Invalid JSON names no field; a validation error names its JSON pointer."""
    text = str(error)
    if not isinstance(error, msgspec.ValidationError):  # ValidationError is a DecodeError
        return envelope(
            400,
            INVALID,
            APIError(title="invalid_json", details=text, source=ErrorSource(pointer="")),
        )
    return problem_response(validation_problem(text))


Steps = list[str | int]
ANY_KEY = "..."  # msgspec's `[...]`: some key of a map, which it does not name


def path_steps(text: str) -> Steps:
    """The steps of msgspec's `- at `$.a.b[0]`` (`[]` when the message has no path)."""
    match = _PATH.search(text)
    if match is None:
        return []
    return [
        int(m["index"]) if m["index"] not in (None, ANY_KEY) else (m["field"] or ANY_KEY)
        for m in _STEP.finditer(match["path"])
    ]


def validation_problem(text: str, steps: Steps | None = None) -> HTTPProblem:
    """msgspec's `<details> - at `$.a.b[0]`` becomes a 400 at the JSON pointer /a/b/0 (or at
    the `steps` given, where the caller found the keys msgspec leaves out); a missing
    required field is named in the pointer too."""
    details = _PATH.sub("", text)
    steps = path_steps(text) if steps is None else steps
    if ANY_KEY in steps:  # a key nobody could name: point at its map
        steps = steps[: steps.index(ANY_KEY)]
    elif missing := _MISSING.search(details):
        steps = [*steps, missing.group(1)]
    pointer = "".join(f"/{_escaped(step)}" for step in steps) or "/"
    title = next((t for needle, t in _TITLES if needle in details), "invalid")
    return HTTPProblem(400, title, f"{pointer}: {details}", pointer=pointer)


def _escaped(step: str | int) -> str:
    """RFC 6901: `~` and `/` inside a key."""
    return str(step).replace("~", "~0").replace("/", "~1")


def envelope(status: int, message: str, *errors: APIError) -> Response[bytes]:
    body = ErrorResponse(message=message, errors=errors, StatusCode=status)
    return Response(codec.encode_document(body), status_code=status, media_type="application/json")
