"""The Litestar application: Talon.One's Integration API paths over a SessionStore."""

from __future__ import annotations

import logging
from asyncio import wrap_future
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec
from litestar import Litestar, Request, Response, get, post, put
from litestar.exceptions import HTTPException

from sessionstore import codec, metrics
from sessionstore.adapters.readmodel_queries import ReadModelQueries
from sessionstore.application import SessionStore
from sessionstore.config import Settings
from sessionstore.domain.errors import DomainError, SessionNotFound
from sessionstore.domain.keys import session_key
from sessionstore.http import bodies, params
from sessionstore.http.auth import application_of
from sessionstore.http.errors import (
    HTTPProblem,
    decode_error_response,
    domain_error_response,
    envelope,
    problem_response,
)
from sessionstore.http.health import metrics_handler
from sessionstore.http.openapi import openapi_document
from sessionstore.http.options import with_options
from sessionstore.http.paths import guard_raw_path
from sessionstore.http.readmodels import readmodel_router
from sessionstore.http.responses import integration_state
from sessionstore.http.schemas import (
    APIError,
    CustomerSessionResponse,
    ErrorSource,
    ReopenSessionResponse,
)
from sessionstore.parts import Parts
from sessionstore.readmodels.history import history_items
from sessionstore.readmodels.v2 import render_v2

log = logging.getLogger(__name__)
T = TypeVar("T")
SESSION_PATH = "/v2/customer_sessions/{customer_session_id:str}"
AnyRequest = Request[Any, Any, Any]


def json(document: Any, status: int = 200) -> Response[bytes]:
    return Response(
        codec.encode_document(document), status_code=status, media_type="application/json"
    )


def create_app(
    store: SessionStore,
    settings: Settings,
    *,
    readmodels: dict[str, ReadModelQueries] | None = None,
    parts: Parts | None = None,
    on_shutdown: Sequence[Callable[[], None]] = (),
) -> Litestar:
    """The Integration API; with `readmodels`, also the read endpoints over the projections.

    `parts` are the other running parts of the command, which /health reports on.
    """

    async def run(call: Callable[[], T]) -> T:
        """Queries read the store on its worker threads, off the event loop. Commands answer
        through futures (the store plans them in memory and group-commits them)."""
        return await wrap_future(store.query(call))

    @put(SESSION_PATH)
    async def update_customer_session_v2(request: AnyRequest) -> Response[bytes]:
        application = application_of(request, settings)
        integration_id = _integration_id(request)
        is_dry = params.dry_run(request.query_params.get("dry"), request.query_params.get("now"))
        body = bodies.update_request(await request.body(), settings.max_attribute_bytes)
        outcome = await wrap_future(
            store.submit_update(application, integration_id, body.customer_session, dry=is_dry)
        )
        return json(integration_state(outcome.session, body.response_content, settings.account_id))

    @get(SESSION_PATH)
    async def get_customer_session(request: AnyRequest) -> Response[bytes]:
        application = application_of(request, settings)
        integration_id = _integration_id(request)
        session = await run(lambda: store.get_session(application, integration_id))
        return json(CustomerSessionResponse(customer_session=render_v2(session)))

    @get(SESSION_PATH + "/history")
    async def get_customer_session_history(request: AnyRequest) -> Response[bytes]:
        """The session's events, as `sessionstore history --json` prints them."""
        application = application_of(request, settings)
        key = session_key(application, _integration_id(request))
        events = await run(lambda: store.session_events(key))
        if not events:
            raise SessionNotFound(f"no customer session {_integration_id(request)!r}")
        return json(history_items(events))

    @post(SESSION_PATH + "/returns")
    async def return_cart_items(request: AnyRequest) -> Response[bytes]:
        application = application_of(request, settings)
        integration_id = _integration_id(request)
        is_dry = params.dry_run(request.query_params.get("dry"), None)
        key = params.idempotency_key(request.headers.get("idempotency-key"))
        body = bodies.return_request(await request.body())
        outcome, record = await wrap_future(
            store.submit_return(
                application,
                integration_id,
                body.return_.returned_cart_items,
                idempotency_key=key,
                dry=is_dry,
            )
        )
        return json(
            integration_state(outcome.session, body.response_content, settings.account_id, record)
        )

    @put(SESSION_PATH + "/reopen")
    async def reopen_customer_session(request: AnyRequest) -> Response[bytes]:
        application = application_of(request, settings)
        integration_id = _integration_id(request)
        await wrap_future(store.submit_reopen(application, integration_id))
        return json(ReopenSessionResponse())

    @get("/health")
    async def health() -> Response[bytes]:
        body, status = (parts or Parts()).health(eventStore="running", http="running")
        return json(body, status)

    @get("/openapi.json")
    async def openapi() -> Response[bytes]:
        return json(openapi_document())

    routers = [readmodel_router(readmodels, settings)] if readmodels else []
    return Litestar(
        route_handlers=[
            *routers,
            *with_options(
                [
                    update_customer_session_v2,
                    get_customer_session,
                    get_customer_session_history,
                    return_cart_items,
                    reopen_customer_session,
                    health,
                    openapi,
                    metrics_handler(),
                ]
            ),
        ],
        exception_handlers={
            HTTPProblem: lambda _, exc: problem_response(exc),
            DomainError: lambda _, exc: domain_error_response(exc),
            msgspec.MsgspecError: lambda _, exc: decode_error_response(exc),
            HTTPException: _http_exception,
            Exception: _unexpected,
        },
        before_request=guard_raw_path,
        middleware=[metrics.measured],
        request_max_body_size=settings.max_body_bytes,
        on_shutdown=list(on_shutdown),
        openapi_config=None,
        logging_config=None,
    )


def _integration_id(request: AnyRequest) -> str:
    """Read from the request: Litestar 2.25 deprecates parameters inferred from arguments."""
    return params.integration_id(request.path_params["customer_session_id"])


def _http_exception(_: AnyRequest, exc: HTTPException) -> Response[bytes]:
    """Litestar's own answers (404, 405 with its `Allow`, 413) in Talon's envelope."""
    title = "not_found" if exc.status_code == 404 else "http_error"
    response = envelope(
        exc.status_code,
        exc.detail,
        APIError(title=title, details=exc.detail, source=ErrorSource(pointer="")),
    )
    response.headers.update(exc.headers or {})
    return response


def _unexpected(request: AnyRequest, exc: Exception) -> Response[bytes]:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return envelope(
        500,
        "Internal server error",
        APIError(
            title="internal_error", details=type(exc).__name__, source=ErrorSource(pointer="")
        ),
    )
