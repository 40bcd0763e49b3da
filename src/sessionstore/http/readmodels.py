"""Read endpoints over the projections: stored documents and Talon's Management API sessions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import anyio.to_thread
import msgspec
from litestar import Request, Response, Router, get

from sessionstore import codec
from sessionstore.adapters.filters import SORTABLE, Filters, micros
from sessionstore.adapters.readmodel_queries import ReadModelQueries
from sessionstore.config import Settings
from sessionstore.http.auth import application_of, require_management_key, secured
from sessionstore.http.bodies import MAX_INT64
from sessionstore.http.errors import HTTPProblem
from sessionstore.readmodels.application_session import ApplicationSession, in_list

T = TypeVar("T")
STATES = ("open", "closed", "partially_returned", "cancelled")
_app_session = msgspec.json.Decoder(ApplicationSession)
AnyRequest = Request[Any, Any, Any]


def _json(body: bytes) -> Response[bytes]:
    return Response(body, media_type="application/json")


def _not_found(what: str) -> HTTPProblem:
    return HTTPProblem(
        404,
        "not_found",
        f"{what} is not in the read model (yet)",
        parameter="sessionId",
        message="Not found",
    )


def _moment(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPProblem(
            400, "format", f"{name} must be an RFC 3339 date-time", parameter=name
        ) from None
    if moment.tzinfo is None:
        raise HTTPProblem(400, "format", f"{name} needs a time zone", parameter=name)
    return micros(moment)


def _paging(page_size: int, skip: int, sort: str) -> None:
    if not 1 <= page_size <= 1000:
        raise HTTPProblem(400, "maximum", "pageSize must be 1 to 1000", parameter="pageSize")
    if skip < 0:
        raise HTTPProblem(400, "minimum", "skip must not be negative", parameter="skip")
    if sort.removeprefix("-") not in SORTABLE:
        raise HTTPProblem(
            400,
            "enum",
            f"sort must be one of {', '.join(SORTABLE)}, optionally prefixed with -",
            parameter="sort",
        )


def _integer(query: Any, name: str, default: int) -> int:
    value = query.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise HTTPProblem(400, "type", f"{name} must be a whole number", parameter=name) from None
    if abs(number) > MAX_INT64:
        raise HTTPProblem(400, "maximum", f"{name} must fit 64 bits", parameter=name)
    return number


def _flag(query: Any, name: str) -> bool:
    value = query.get(name, "false")
    if value not in ("true", "false"):
        raise HTTPProblem(400, "type", f"{name} must be true or false", parameter=name)
    return bool(value == "true")


def _filters(query: Any) -> Filters:
    """Talon's filter parameters; partial matching needs at least 3 characters."""
    state = query.get("state")
    if state is not None and state not in STATES:
        raise HTTPProblem(
            400, "enum", f"state must be one of {', '.join(STATES)}", parameter="state"
        )
    partial = _flag(query, "partialMatch")
    texts = {name: query.get(param) for param, name in TEXT_FILTERS.items()}
    for param, name in TEXT_FILTERS.items():
        if partial and texts[name] is not None and len(texts[name]) < 3:
            raise HTTPProblem(
                400,
                "invalid_combination",
                f"{param} needs at least 3 characters with partialMatch",
                parameter=param,
            )
    return Filters(
        state=state,
        partial_match=partial,
        **texts,
        created_before_us=_moment("createdBefore", query.get("createdBefore")),
        created_after_us=_moment("createdAfter", query.get("createdAfter")),
    )


TEXT_FILTERS = {
    "profile": "profile",
    "coupon": "coupon",
    "referral": "referral",
    "integrationId": "integration_id",
    "storeIntegrationId": "store_integration_id",
}


def readmodel_router(readmodels: dict[str, ReadModelQueries], settings: Settings) -> Router:
    """Path and query values are read from the request (Litestar 2.25 deprecates inference).

    With keys set, `/readmodels/...` serves the API key's own application (another's session
    is not found) and the Management API needs a management key (see `http.auth`).
    """

    async def run(call: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(call)

    @get("/readmodels/{projection:str}/{application_id:int}/{integration_id:str}")
    async def stored_document(request: AnyRequest) -> Response[bytes]:
        projection = request.path_params["projection"]
        application_id = request.path_params["application_id"]
        integration_id = request.path_params["integration_id"]
        if secured(settings) and application_of(request, settings) != application_id:
            raise _not_found(f"session {integration_id!r}")  # another application's
        if projection not in readmodels:
            raise HTTPProblem(
                404,
                "not_found",
                f"no read model {projection!r}; use one of {', '.join(readmodels)}",
                parameter="projection",
                message="Not found",
            )
        body = await run(lambda: readmodels[projection].document(application_id, integration_id))
        if body is None:
            raise _not_found(f"session {integration_id!r}")
        return _json(body)

    @get("/v1/applications/{application_id:int}/sessions")
    async def get_application_sessions(request: AnyRequest) -> Response[bytes]:
        require_management_key(request, settings)
        query = request.query_params
        page_size = _integer(query, "pageSize", 1000)
        skip = _integer(query, "skip", 0)
        sort = query.get("sort", "created")
        _paging(page_size, skip, sort)
        filters = _filters(query)
        store = readmodels["application-sessions"]
        application_id = request.path_params["application_id"]
        rows, more = await run(
            lambda: store.documents(
                application_id, filters, sort=sort, skip=skip, page_size=page_size
            )
        )
        data = [in_list(_app_session.decode(row)) for row in rows]
        return _json(codec.encode_document({"hasMore": more, "data": data}))

    @get("/v1/applications/{application_id:int}/sessions/{session_id:int}")
    async def get_application_session(request: AnyRequest) -> Response[bytes]:
        require_management_key(request, settings)
        store = readmodels["application-sessions"]
        application_id = request.path_params["application_id"]
        session_id = request.path_params["session_id"]
        body = await run(lambda: store.document_by_session_id(application_id, session_id))
        if body is None:
            raise _not_found(f"session {session_id}")
        return _json(body)

    return Router(
        "/", route_handlers=[stored_document, get_application_sessions, get_application_session]
    )
