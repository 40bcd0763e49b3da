"""A store written by version 0.1 (numbers kept as `sequence.allocated` events) keeps working."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from sessionstore import codec
from sessionstore.application import SessionStore
from sessionstore.bootstrap import build_store, prepare_database
from sessionstore.config import Settings, eventstore_env
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.events import SESSION_TAGS, ReturnedCartItem
from sessionstore.readmodels.v2 import render_v2
from tests.integration.support import notifications

STORES = Path(__file__).parent.parent / "data" / "stores"
EXPECTED: dict[str, Any] = json.loads((STORES / "expected.json").read_text())


def old_rows() -> list[StoredEvent]:
    with sqlite3.connect(STORES / "v0.1.db") as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY rowid"
        ).fetchall()
    return [StoredEvent(UUID(key), version, topic, state) for key, version, topic, state in rows]


class OldLayout(Application[UUID]):
    """Creates the event table exactly as version 0.1 did (eventsourcing's own recorder)."""

    name = "SessionStore"


@pytest.fixture
def old_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The v0.1 store: its SQLite file copied, or its rows written into a fresh PostgreSQL."""
    if "postgres" not in request.node.callspec.id:
        shutil.copy(STORES / "v0.1.db", tmp_path / "events.db")
        return f"sqlite:///{tmp_path / 'events.db'}"
    url: str = request.getfixturevalue("postgres_url")
    prepare_database(url)
    old = OldLayout(env=eventstore_env(url))
    old.recorder.insert_events(old_rows())
    old.close()
    return url


@pytest.fixture
def upgraded(old_store_url: str) -> Iterator[SessionStore]:
    store = build_store(Settings(database_url=old_store_url))
    yield store
    store.close()


pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)


def test_sessions_written_by_version_0_1_read_back_as_that_version_answered(
    upgraded: SessionStore, backend: str
) -> None:
    for name, document in EXPECTED.items():
        application, integration_id = name.split("/")
        session = upgraded.get_session(int(application), integration_id)
        assert json.loads(codec.encode_document(render_v2(session))) == document


def test_new_numbers_continue_above_the_highest_that_version_0_1_gave(
    upgraded: SessionStore, backend: str
) -> None:
    old_ids = {document["id"] for document in EXPECTED.values()}

    created = upgraded.update_session(1, "new-1", SessionUpdate(profile_id="carol")).session

    assert created.session_id > max(old_ids)
    assert (created.profile_number or 0) > 2  # version 0.1 numbered alice 1 and bob 2


def test_return_ids_continue_above_version_0_1s(upgraded: SessionStore, backend: str) -> None:
    upgraded.update_session(2, "old-3", SessionUpdate(state="closed"))

    _, record = upgraded.return_items(2, "old-3", (ReturnedCartItem(position=0, quantity=1),))

    assert record.return_id > 1  # version 0.1 gave return 1 to old-1


def test_a_profile_registered_by_version_0_1_is_known_so_its_next_session_is_not_first(
    upgraded: SessionStore, backend: str
) -> None:
    session = upgraded.update_session(1, "alice-again", SessionUpdate(profile_id="alice")).session

    assert session.first_session is False
    assert session.profile_number == 1


def test_the_old_bookkeeping_events_still_decode_and_are_never_published(
    upgraded: SessionStore, backend: str
) -> None:
    upgraded.update_session(1, "new-3", SessionUpdate())

    logged = notifications(upgraded)
    decoded = [codec.decode_event(n.state) for n in logged]
    tags = [codec.tag_of(e) for e in decoded]
    published = upgraded.recorder.select_notifications(start=1, limit=1000, topics=SESSION_TAGS)

    old_tags = [row.topic for row in old_rows()]
    assert tags.count("sequence.allocated") == old_tags.count("sequence.allocated") > 0
    assert {n.topic for n in published} <= set(SESSION_TAGS)
    assert [n.id for n in published] == sorted(n.id for n in published)
