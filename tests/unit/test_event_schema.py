"""The JSON Schema of the event stream, checked into the package, matches the event Structs."""

from __future__ import annotations

import json
import typing
from importlib.resources import files

from sessionstore import codec
from sessionstore.domain.events import SESSION_TAGS, StoredEvents


def test_the_checked_in_event_schema_is_the_one_the_structs_generate() -> None:
    checked_in = files("sessionstore").joinpath("event-schema.json").read_bytes()
    assert checked_in == codec.event_schema(), (
        "run `sessionstore schema > src/sessionstore/event-schema.json`"
    )


def test_the_event_schema_names_every_published_event_type() -> None:
    schema = json.loads(codec.event_schema())
    tags = {
        definition["properties"]["type"]["enum"][0]
        for definition in schema["$defs"].values()
        if "type" in definition.get("properties", {})
    }
    assert tags == set(SESSION_TAGS)


def test_every_stored_event_type_is_published_unless_it_is_the_stores_own_bookkeeping() -> None:
    stored = {t.__struct_config__.tag for t in typing.get_args(StoredEvents)}
    assert stored - set(SESSION_TAGS) == {"sequence.allocated", "profile.registered"}
    assert set(SESSION_TAGS) == {
        "session.created",
        "session.items_updated",
        "session.closed",
        "session.returned",
        "session.cancelled",
        "session.reopened",
    }
