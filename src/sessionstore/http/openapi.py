"""The OpenAPI 3.1 document of the served paths, with schemas generated from the wire Structs."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from sessionstore import __version__
from sessionstore.http.schemas import (
    CustomerSessionResponse,
    ErrorResponse,
    IntegrationRequest,
    IntegrationStateV2,
    ReopenSessionResponse,
    ReturnIntegrationRequest,
)

REF = "#/components/schemas/{name}"
SESSION_ID = {
    "name": "customerSessionId",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 1000},
}
DRY = {"name": "dry", "in": "query", "schema": {"type": "boolean"}}
NOW = {"name": "now", "in": "query", "schema": {"type": "string", "format": "date-time"}}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "schema": {"type": "string", "maxLength": 255},
}


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema}


APPLICATION_ID = _path("applicationId", {"type": "integer"})
LIST_PARAMETERS = [
    _query("pageSize", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000}),
    _query("skip", {"type": "integer", "minimum": 0}),
    _query("sort", {"type": "string", "default": "created"}),
    _query("partialMatch", {"type": "boolean"}),
    *(
        _query(name, {"type": "string"})
        for name in (
            "profile",
            "state",
            "coupon",
            "referral",
            "integrationId",
            "storeIntegrationId",
        )
    ),
    *(
        _query(name, {"type": "string", "format": "date-time"})
        for name in ("createdBefore", "createdAfter")
    ),
]


def _read(op_id: str, description: str, parameters: list[Any]) -> dict[str, Any]:
    """Read endpoints answer from the projections: eventually consistent."""
    return {
        "operationId": op_id,
        "parameters": parameters,
        "security": [],
        "responses": {
            "200": {"description": description},
            "400": {"description": "Bad parameter"},
            "404": {"description": "Not projected (yet)"},
        },
    }


def _ref(model: type) -> dict[str, Any]:
    return {"$ref": REF.format(name=model.__name__)}


def _body(model: type) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


def _responses(model: type, *errors: int) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": _ref(model)}}}
    }
    for status in errors:
        answers[str(status)] = {
            "description": "Error",
            "content": {"application/json": {"schema": _ref(ErrorResponse)}},
        }
    return answers


def _operation(
    op_id: str,
    model: type,
    parameters: list[Any],
    body: type | None = None,
    errors: tuple[int, ...] = (400, 401, 404, 409),
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": op_id,
        "parameters": parameters,
        "responses": _responses(model, *errors),
    }
    if body is not None:
        operation["requestBody"] = _body(body)
    return operation


@cache
def openapi_document() -> dict[str, Any]:
    models = (
        IntegrationRequest,
        IntegrationStateV2,
        CustomerSessionResponse,
        ReturnIntegrationRequest,
        ReopenSessionResponse,
        ErrorResponse,
    )
    _, components = msgspec.json.schema_components(models, ref_template=REF)
    session = "/v2/customer_sessions/{customerSessionId}"
    return {
        "openapi": "3.1.0",
        "info": {"title": "sessionstore Integration API", "version": __version__},
        "components": {
            "schemas": components,
            "securitySchemes": {
                "api_key_v1": {"type": "apiKey", "in": "header", "name": "Authorization"}
            },
        },
        "security": [{"api_key_v1": []}],
        "paths": {
            session: {
                "put": _operation(
                    "updateCustomerSessionV2",
                    IntegrationStateV2,
                    [SESSION_ID, DRY, NOW],
                    IntegrationRequest,
                ),
                "get": _operation("getCustomerSession", CustomerSessionResponse, [SESSION_ID]),
            },
            session + "/history": {
                "get": {
                    "operationId": "getCustomerSessionHistory",
                    "parameters": [SESSION_ID],
                    "responses": {
                        "200": {"description": "The session's events in order"},
                        "404": {"description": "Unknown session"},
                    },
                },
            },
            session + "/returns": {
                "post": _operation(
                    "returnCartItems",
                    IntegrationStateV2,
                    [SESSION_ID, DRY, IDEMPOTENCY],
                    ReturnIntegrationRequest,
                ),
            },
            session + "/reopen": {
                "put": _operation("reopenCustomerSession", ReopenSessionResponse, [SESSION_ID]),
            },
            "/readmodels/{projection}/{applicationId}/{integrationId}": {
                "get": _read(
                    "getReadModelDocument",
                    "The stored read-model document",
                    [
                        _path("projection", {"enum": ["v1", "v2", "application-sessions"]}),
                        APPLICATION_ID,
                        _path("integrationId", {"type": "string"}),
                    ],
                ),
            },
            "/v1/applications/{applicationId}/sessions": {
                "get": _read(
                    "getApplicationSessions",
                    "{hasMore, data: ApplicationSession[]}",
                    [APPLICATION_ID, *LIST_PARAMETERS],
                ),
            },
            "/v1/applications/{applicationId}/sessions/{sessionId}": {
                "get": _read(
                    "getApplicationSession",
                    "One ApplicationSession",
                    [APPLICATION_ID, _path("sessionId", {"type": "integer"})],
                ),
            },
            "/health": {
                "get": {
                    "operationId": "health",
                    "security": [],
                    "responses": {"200": {"description": "Ready"}},
                }
            },
        },
    }
