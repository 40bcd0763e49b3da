"""Read endpoints over the projections: stored documents and Talon's Management API sessions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import anyio.to_thread
import msgspec
from litestar import Response, Router, get

from sessionstore import codec
from sessionstore.adapters.readmodel_store import SORTABLE, Filters, ReadModelStore, micros
from sessionstore.http.errors import HTTPProblem
from sessionstore.readmodels.application_session import ApplicationSession, in_list

T = TypeVar("T")
STATES = ("open", "closed", "partially_returned", "cancelled")
_app_session = msgspec.json.Decoder(ApplicationSession)


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


def readmodel_router(readmodels: dict[str, ReadModelStore]) -> Router:
    async def run(call: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(call)

    @get("/readmodels/{projection:str}/{application_id:int}/{integration_id:str}")
    async def stored_document(
        projection: str, application_id: int, integration_id: str
    ) -> Response[bytes]:
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
    async def get_application_sessions(
        application_id: int,
        pageSize: int = 1000,
        skip: int = 0,
        sort: str = "created",
        partialMatch: bool = False,
        profile: str | None = None,
        state: str | None = None,
        createdBefore: str | None = None,
        createdAfter: str | None = None,
        coupon: str | None = None,
        referral: str | None = None,
        integrationId: str | None = None,
        storeIntegrationId: str | None = None,
    ) -> Response[bytes]:
        _paging(pageSize, skip, sort)
        if state is not None and state not in STATES:
            raise HTTPProblem(
                400, "enum", f"state must be one of {', '.join(STATES)}", parameter="state"
            )
        filters = Filters(
            state=state,
            profile=profile,
            coupon=coupon,
            referral=referral,
            integration_id=integrationId,
            store_integration_id=storeIntegrationId,
            created_before_us=_moment("createdBefore", createdBefore),
            created_after_us=_moment("createdAfter", createdAfter),
            partial_match=partialMatch,
        )
        store = readmodels["application-sessions"]
        rows, more = await run(
            lambda: store.documents(
                application_id, filters, sort=sort, skip=skip, page_size=pageSize
            )
        )
        data = [in_list(_app_session.decode(row)) for row in rows]
        return _json(codec.encode_document({"hasMore": more, "data": data}))

    @get("/v1/applications/{application_id:int}/sessions/{session_id:int}")
    async def get_application_session(application_id: int, session_id: int) -> Response[bytes]:
        store = readmodels["application-sessions"]
        body = await run(lambda: store.document_by_session_id(application_id, session_id))
        if body is None:
            raise _not_found(f"session {session_id}")
        return _json(body)

    return Router(
        "/", route_handlers=[stored_document, get_application_sessions, get_application_session]
    )
