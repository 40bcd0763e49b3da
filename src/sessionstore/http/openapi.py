"""The OpenAPI 3.1 document of the served paths: schemas generated from the wire Structs,
with money as numbers and the server's limits declared (`schema_limits`). Every answer has
a schema; the Integration API and `/readmodels/...` take `ApiKey-v1` keys, the Management API
`ManagementKey-v1` keys (both only once keys are set); `/health` and this document are open.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from sessionstore import __version__
from sessionstore.adapters.filters import SORTABLE
from sessionstore.domain.changes import MAX_ID_LENGTH
from sessionstore.http.bodies import MAX_INT64
from sessionstore.http.params import MAX_IDEMPOTENCY_KEY
from sessionstore.http.schema_limits import TEXT, with_limits
from sessionstore.http.schemas import (
    CustomerSessionResponse,
    ErrorResponse,
    IntegrationRequest,
    IntegrationStateV2,
    ReopenSessionResponse,
    ReturnIntegrationRequest,
)
from sessionstore.readmodels.application_session import ApplicationSession
from sessionstore.readmodels.history import HistoryItem
from sessionstore.readmodels.v1 import CustomerSession
from sessionstore.readmodels.v2 import CustomerSessionV2

REF = "#/components/schemas/{name}"
Security = list[dict[str, list[str]]]
API_KEY: Security = [{"api_key_v1": []}]
MANAGEMENT_KEY: Security = [{"management_key": []}]
OPEN: Security = []
STATES = ["open", "closed", "partially_returned", "cancelled"]
RULES = (
    "A 400 names the field (`source.pointer`) or parameter (`source.parameter`). Besides "
    "what the schema says, a request can break a rule of the session's state "
    "(`invalid_state_transition`, `invalid_return`), the cart's unit total (`maxUnits`), or "
    "a rule across parameters (`invalid_combination`, `invalid_time`)."
)
ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_ID_LENGTH,
    "pattern": "^[^/\\u0000-\\u001f\\u007f]+$",
}
WHOLE = {"type": "integer", "minimum": 0, "maximum": MAX_INT64}


def _parameter(name: str, where: str, schema: dict[str, Any], required: bool = False) -> Any:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


SESSION_ID = _parameter("customerSessionId", "path", ID)
DRY = _parameter("dry", "query", {"type": "boolean"})
NOW = _parameter("now", "query", {"type": "string", "format": "date-time"})
IDEMPOTENCY = _parameter(
    "Idempotency-Key",
    "header",
    {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY, "pattern": TEXT},
)
APPLICATION_ID = _parameter("applicationId", "path", WHOLE)
LIST_PARAMETERS = [
    _parameter(
        "pageSize", "query", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000}
    ),
    _parameter("skip", "query", WHOLE),
    _parameter(
        "sort", "query", {"enum": [*SORTABLE, *(f"-{s}" for s in SORTABLE)], "default": "created"}
    ),
    _parameter("partialMatch", "query", {"type": "boolean"}),
    _parameter("state", "query", {"enum": STATES}),
    *(
        _parameter(name, "query", {"type": "string"})
        for name in ("profile", "coupon", "referral", "integrationId", "storeIntegrationId")
    ),
    *(
        _parameter(name, "query", {"type": "string", "format": "date-time"})
        for name in ("createdBefore", "createdAfter")
    ),
]
HEALTH = {
    "type": "object",
    "required": ["status", "parts"],
    "properties": {
        "status": {"enum": ["ok", "unavailable"]},
        "parts": {"type": "object", "additionalProperties": {"type": "string"}},
        "errors": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
PAGE = {
    "type": "object",
    "required": ["hasMore", "data"],
    "properties": {
        "hasMore": {"type": "boolean"},
        "data": {"type": "array", "items": {"$ref": REF.format(name="ApplicationSession")}},
    },
}


def _ref(model: type) -> dict[str, Any]:
    return {"$ref": REF.format(name=model.__name__)}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    400: RULES,
    401: "No key, or not a key of this kind (once keys are set)",
    404: "Unknown session, or another application's; also a path no route matches (a "
    "non-numeric applicationId, say)",
    409: "Concurrent writes to this session kept colliding",
    413: "The body is larger than SESSIONSTORE_MAX_BODY_BYTES",
    503: "A part of the running command is not running",
}


def _operation(
    op_id: str,
    answer: dict[str, Any],
    parameters: list[Any],
    *,
    security: Security,
    errors: tuple[int, ...],
    body: type | None = None,
) -> dict[str, Any]:
    responses = {"200": _json("OK", answer)}
    responses |= {str(s): _json(ERRORS[s], _ref(ErrorResponse)) for s in errors}
    operation: dict[str, Any] = {
        "operationId": op_id,
        "parameters": parameters,
        "security": security,
        "responses": responses,
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return operation


def _integration(op_id: str, answer: type, parameters: list[Any], body: type | None = None) -> Any:
    errors = (400, 401, 404, 409, 413) if body else (400, 401, 404, 409)
    return _operation(op_id, _ref(answer), parameters, security=API_KEY, errors=errors, body=body)


@cache
def openapi_document() -> dict[str, Any]:
    models = (
        IntegrationRequest,
        IntegrationStateV2,
        CustomerSessionResponse,
        ReturnIntegrationRequest,
        ReopenSessionResponse,
        ErrorResponse,
        HistoryItem,
        CustomerSession,
        CustomerSessionV2,
        ApplicationSession,
    )
    _, components = msgspec.json.schema_components(models, ref_template=REF)
    session = "/v2/customer_sessions/{customerSessionId}"
    documents = {
        "oneOf": [_ref(CustomerSession), _ref(CustomerSessionV2), _ref(ApplicationSession)]
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sessionstore: Talon.One's Integration API customer sessions",
            "version": __version__,
        },
        "components": {
            "schemas": with_limits(components),
            "securitySchemes": {
                "api_key_v1": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`ApiKey-v1 <key>`, a key of SESSIONSTORE_API_KEYS",
                },
                "management_key": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`ManagementKey-v1 <key>`, a key of "
                    "SESSIONSTORE_MANAGEMENT_KEYS",
                },
            },
        },
        "paths": {
            session: {
                "put": _integration(
                    "updateCustomerSessionV2",
                    IntegrationStateV2,
                    [SESSION_ID, DRY, NOW],
                    IntegrationRequest,
                ),
                "get": _integration("getCustomerSession", CustomerSessionResponse, [SESSION_ID]),
            },
            session + "/history": {
                "get": _operation(
                    "getCustomerSessionHistory",
                    {"type": "array", "items": _ref(HistoryItem)},
                    [SESSION_ID],
                    security=API_KEY,
                    errors=(400, 401, 404),
                ),
            },
            session + "/returns": {
                "post": _integration(
                    "returnCartItems",
                    IntegrationStateV2,
                    [SESSION_ID, DRY, IDEMPOTENCY],
                    ReturnIntegrationRequest,
                ),
            },
            session + "/reopen": {
                "put": _integration("reopenCustomerSession", ReopenSessionResponse, [SESSION_ID]),
            },
            "/readmodels/{projection}/{applicationId}/{integrationId}": {
                "get": _operation(
                    "getReadModelDocument",
                    documents,
                    [
                        _parameter(
                            "projection", "path", {"enum": ["v1", "v2", "application-sessions"]}
                        ),
                        APPLICATION_ID,
                        _parameter("integrationId", "path", ID),
                    ],
                    security=API_KEY,
                    errors=(400, 401, 404),
                ),
            },
            "/v1/applications/{applicationId}/sessions": {
                "get": _operation(
                    "getApplicationSessions",
                    PAGE,
                    [APPLICATION_ID, *LIST_PARAMETERS],
                    security=MANAGEMENT_KEY,
                    errors=(400, 401, 404),
                ),
            },
            "/v1/applications/{applicationId}/sessions/{sessionId}": {
                "get": _operation(
                    "getApplicationSession",
                    _ref(ApplicationSession),
                    [APPLICATION_ID, _parameter("sessionId", "path", WHOLE)],
                    security=MANAGEMENT_KEY,
                    errors=(400, 401, 404),
                ),
            },
            "/health": {
                "get": {
                    "operationId": "health",
                    "security": OPEN,
                    "responses": {
                        "200": _json("Every part runs", HEALTH),
                        "503": _json(ERRORS[503], HEALTH),
                    },
                }
            },
        },
    }
