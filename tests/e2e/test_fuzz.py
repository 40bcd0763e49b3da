"""schemathesis against the real `sessionstore serve` process, from its own /openapi.json.

Every check of schemathesis runs, on schema-valid and schema-invalid requests alike, with
the keys each path takes; and beyond them:
- a schema-valid request refused with a 400 broke one of the rules the document names as
  beyond a schema (a state move, a return, the cart's unit total, a rule across parameters);
  schemathesis' own check of this (positive_data_acceptance) would count those as failures;
- a refused write left its session's history as it was.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from sessionstore.http.openapi import openapi_document
from tests.e2e.sdk import KEY, MANAGEMENT_KEY
from tests.e2e.server import Server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
EXAMPLES = 30  # per operation: a few hundred requests in all
RULES = {
    "invalid_state_transition",
    "invalid_return",
    "maxUnits",
    "invalid_combination",
    "invalid_time",
}
API = {"Authorization": f"ApiKey-v1 {KEY}"}
MANAGER = {"Authorization": f"ManagementKey-v1 {MANAGEMENT_KEY}"}


schema = schemathesis.openapi.from_dict(openapi_document())


def test_the_server_serves_this_document(server: Server) -> None:
    served = httpx.get(f"{server.base_url}/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(openapi_document()))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_server_keeps_every_promise_of_its_openapi_document(case: Any, server: Server) -> None:
    headers = MANAGER if case.path.startswith("/v1/applications") else API
    if case.meta.generation.mode.is_negative and case.meta.is_negative_at(ParameterLocation.HEADER):
        headers = {}  # schemathesis is testing the headers, the key among them: send its own
    session = case.path_parameters.get("customerSessionId") if case.path_parameters else None
    before = history(server, session) if session and case.method != "GET" else None

    response = case.call(base_url=server.base_url, headers=headers)
    case.validate_response(response, excluded_checks=[positive_data_acceptance], headers=headers)

    if response.status_code == 400 and not case.meta.generation.mode.is_negative:
        titles = {error["title"] for error in response.json()["errors"]}
        assert titles <= RULES, f"a schema-valid request was refused: {response.text}"
    if before is not None and response.status_code >= 400:
        assert history(server, session) == before, "a refused request changed the history"


def history(server: Server, session: str) -> Any:
    response = httpx.get(
        f"{server.base_url}/v2/customer_sessions/{quote(session, safe='')}/history", headers=API
    )
    return response.json() if response.status_code == 200 else response.status_code
