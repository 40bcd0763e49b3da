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
    """msgspec's `- at $.a.b[0]` becomes the JSON pointer /a/b/0."""
    text = str(error)
    if not isinstance(error, msgspec.ValidationError):  # ValidationError is a DecodeError
        return envelope(
            400,
            INVALID,
            APIError(title="invalid_json", details=text, source=ErrorSource(pointer="")),
        )
    match = _PATH.search(text)
    path = match.group("path") if match else ""
    details = _PATH.sub("", text)
    pointer = re.sub(r"\[(\d+|\.\.\.)\]", r".\1", path).replace(".", "/")
    title = next((t for needle, t in _TITLES if needle in details), "invalid")
    return envelope(
        400,
        INVALID,
        APIError(
            title=title,
            details=f"{pointer or '/'}: {details}",
            source=ErrorSource(pointer=pointer or "/"),
        ),
    )


def envelope(status: int, message: str, *errors: APIError) -> Response[bytes]:
    body = ErrorResponse(message=message, errors=errors, StatusCode=status)
    return Response(codec.encode_document(body), status_code=status, media_type="application/json")
