"""`sessionstore history` and `as-of` over a store written through the HTTP API.

The CLI runs in-process (click's runner) against the same SQLite file or PostgreSQL schema
the HTTP app writes to; `history --json` and GET .../history must print the same bytes.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from sessionstore import codec
from sessionstore.application import SessionStore
from sessionstore.readmodels.projections import PROJECTIONS
from tests.integration.audit_support import sessionstore
from tests.integration.support import CART, RFC3339, Client, exact, put, url


@pytest.fixture
def written(client: Client) -> Client:
    """`s-1`: created with coupon EARLY (v1), coupon LATER (v2), closed (v3)."""
    put(client, "s-1", {"profileId": "alice", "cartItems": CART, "couponCodes": ["EARLY"]})
    put(client, "s-1", {"couponCodes": ["LATER"]})
    put(client, "s-1", {"state": "closed"})
    return client


def history(database_url: str, *args: str) -> list[dict[str, Any]]:
    result = sessionstore("history", "s-1", "--json", *args, database_url=database_url)
    assert result.exit_code == 0, result.output
    items: list[dict[str, Any]] = json.loads(result.stdout)
    return items


def as_of(database_url: str, *args: str) -> str:
    result = sessionstore("as-of", "s-1", *args, database_url=database_url)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def instant(item: dict[str, Any], shift: timedelta = timedelta(0)) -> str:
    return (datetime.fromisoformat(item["timestamp"]) + shift).isoformat()


def test_history_lists_every_event_with_increasing_versions_and_timestamps(
    written: Client, database_url: str
) -> None:
    items = history(database_url)
    assert [i["type"] for i in items] == [
        "session.created",
        "session.items_updated",
        "session.closed",
    ]
    assert [i["version"] for i in items] == [1, 2, 3]
    assert all(RFC3339.match(i["timestamp"]) for i in items)
    moments = [datetime.fromisoformat(i["timestamp"]) for i in items]
    assert moments == sorted(set(moments))
    assert items[0]["data"]["fields"]["couponCodes"] == ["EARLY"]
    assert items[1]["data"]["changes"] == {"couponCodes": ["LATER"]}
    assert all(i["data"]["originatorVersion"] == i["version"] for i in items)


def test_history_json_and_the_http_history_endpoint_print_the_same_events(
    written: Client, database_url: str
) -> None:
    result = sessionstore("history", "s-1", "--json", database_url=database_url)
    response = written.get(url("s-1", "/history"))
    assert response.status_code == 200, response.text
    assert result.stdout.strip() == response.text


def test_history_without_json_prints_a_table(written: Client, database_url: str) -> None:
    result = sessionstore("history", "s-1", database_url=database_url)
    assert result.exit_code == 0, result.output
    assert "session 's-1' (application 1)" in result.stdout
    for column in ("version", "timestamp", "type", "digest", "session.closed"):
        assert column in result.stdout
    assert not result.stdout.lstrip().startswith("[")


def test_an_unknown_session_has_no_history(written: Client, database_url: str) -> None:
    for args in (["nope"], ["s-1", "--application-id", "2"]):
        result = sessionstore("history", *args, "--json", database_url=database_url)
        assert result.exit_code == 1
        assert "no session" in result.stderr
    assert written.get(url("nope", "/history")).status_code == 404
    result = sessionstore("as-of", "nope", "--version", "1", database_url=database_url)
    assert result.exit_code == 1
    assert "no session 'nope'" in result.stderr


def test_as_of_a_version_returns_the_earlier_states(written: Client, database_url: str) -> None:
    first, second = (json.loads(as_of(database_url, "--version", v)) for v in ("1", "2"))
    assert (first["couponCodes"], first["state"], first["updateCount"]) == (["EARLY"], "open", 1)
    assert (second["couponCodes"], second["state"], second["updateCount"]) == (["LATER"], "open", 2)
    assert json.loads(as_of(database_url, "--version", "3"))["state"] == "closed"


@pytest.mark.parametrize("shape", ["v2", "v1", "application-session"])
def test_as_of_renders_each_shape_with_the_read_models_folds(
    written: Client, store: SessionStore, database_url: str, shape: str
) -> None:
    projection = PROJECTIONS["application-sessions" if shape == "application-session" else shape]
    for version in (1, 2, 3):
        earlier = store.get_session(1, "s-1", version=version)
        expected = codec.encode_document(projection.render(earlier)).decode()
        assert as_of(database_url, "--version", str(version), "--shape", shape) == expected


def test_as_of_an_instant_returns_the_state_then(written: Client, database_url: str) -> None:
    items = history(database_url)
    just_before_second = instant(items[1], -timedelta(microseconds=1))
    assert as_of(database_url, "--at", just_before_second) == as_of(database_url, "--version", "1")
    assert as_of(database_url, "--at", instant(items[1])) == as_of(database_url, "--version", "2")
    later = (datetime.fromisoformat(items[2]["timestamp"]) + timedelta(days=1)).isoformat()
    assert as_of(database_url, "--at", later) == as_of(database_url, "--version", "3")


def test_as_of_an_instant_in_another_time_zone_means_the_same_instant(
    written: Client, database_url: str
) -> None:
    second = datetime.fromisoformat(history(database_url)[1]["timestamp"])
    elsewhere = second.astimezone(datetime.strptime("+0530", "%z").tzinfo).isoformat()
    assert elsewhere.endswith("+05:30")
    assert as_of(database_url, "--at", elsewhere) == as_of(database_url, "--version", "2")


def test_as_of_the_latest_version_equals_the_get_endpoint(
    written: Client, database_url: str
) -> None:
    latest = as_of(database_url, "--version", "3")
    response = written.get(url("s-1"))
    assert response.status_code == 200, response.text
    assert exact(response.text)["customerSession"] == exact(latest)
    assert response.text.startswith(f'{{"customerSession":{latest},')  # byte for byte


def test_as_of_a_version_past_the_last_fails(written: Client, database_url: str) -> None:
    result = sessionstore("as-of", "s-1", "--version", "99", database_url=database_url)
    assert result.exit_code == 1
    assert "has 3 version(s): --version 99 is past them" in result.stderr
    assert result.stdout == ""


def test_as_of_before_the_session_existed_fails(written: Client, database_url: str) -> None:
    before = instant(history(database_url)[0], -timedelta(seconds=1))
    result = sessionstore("as-of", "s-1", "--at", before, database_url=database_url)
    assert result.exit_code == 1
    assert "did not exist yet" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "2030-01-01T00:00:00Z", "--version", "1"], "exactly one of --at and --version"),
        ([], "exactly one of --at and --version"),
        (["--at", "yesterday"], "not an RFC 3339 date-time"),
        (["--at", "2030-01-01T00:00:00"], "needs a time zone"),
        (["--version", "0"], "--version"),
    ],
)
def test_as_of_rejects_a_bad_choice_of_moment_as_a_usage_error(
    sqlite_url: str, args: list[str], message: str
) -> None:
    result = sessionstore("as-of", "s-1", *args, database_url=sqlite_url)
    assert result.exit_code == 2
    assert message in result.stderr
