"""The stream against the real broker: relay -> topic -> projectors -> read models."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from decimal import Decimal

import pytest

from sessionstore import codec
from sessionstore.adapters.readmodel_tables import open_database
from sessionstore.adapters.readmodel_writer import ReadModelWriter
from sessionstore.application import SessionStore
from sessionstore.config import KafkaSettings
from sessionstore.consuming import Projector
from sessionstore.domain.cart import CartItem
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.events import ReturnedCartItem
from sessionstore.readmodels.projections import PROJECTIONS
from tests.integration.stream_support import (
    caught_up,
    read_topic,
    relay_all,
    stored_versions,
    wait_until,
)

pytestmark = pytest.mark.timeout(180)


def mixed_lifecycles(store: SessionStore, count: int = 6) -> None:
    """Open, closed, returned, cancelled and reopened sessions, some with shared profiles."""
    for i in range(count):
        sid = f"order-{i}"
        items = (
            CartItem(sku="A", quantity=2, price=Decimal("10.50")),
            CartItem(sku="B", quantity=1, price=Decimal("3.25")),
        )
        store.update_session(
            1,
            sid,
            SessionUpdate(
                profile_id=f"p{i % 2}",
                cart_items=items,
                coupon_codes=("C1", "C2"),
                discounts={"5 off": Decimal(5)},
            ),
        )
        if i % 3 == 0:
            continue
        store.update_session(1, sid, SessionUpdate(state="closed"))
        if i % 3 == 1:
            store.return_items(1, sid, (ReturnedCartItem(sku="A", quantity=1),))
            store.update_session(1, sid, SessionUpdate(state="cancelled"))
        else:
            store.reopen_session(1, sid)
            store.update_session(1, sid, SessionUpdate(attributes={"again": True}))


async def test_every_stored_event_reaches_the_topic_in_per_session_order(
    store: SessionStore, kafka: KafkaSettings
) -> None:
    mixed_lifecycles(store)
    published = await relay_all(store, kafka)
    records = await read_topic(kafka, published)
    assert len(records) == published == sum(stored_versions(store).values())
    by_session: dict[bytes, list[int]] = defaultdict(list)
    partitions: dict[bytes, set[int]] = defaultdict(set)
    for record in records:
        event = codec.decode_session_event(record.value)
        headers = dict(record.headers)
        assert record.key == str(event.originator_id).encode()
        assert headers["type"] == codec.tag_of(event).encode()
        assert headers["version"] == str(event.originator_version).encode()
        by_session[record.key].append(event.originator_version)
        partitions[record.key].add(record.partition)
    for key, versions in by_session.items():
        assert versions == list(range(1, len(versions) + 1))
        assert len(partitions[key]) == 1


async def test_projectors_rebuild_all_three_read_models_equal_to_the_folds(
    store: SessionStore, kafka: KafkaSettings, database_url: str
) -> None:
    mixed_lifecycles(store)
    await relay_all(store, kafka)
    readmodels = {
        name: ReadModelWriter(open_database(database_url), p, prefix="rm_")
        for name, p in PROJECTIONS.items()
    }
    stop = asyncio.Event()
    projectors = [
        Projector(rm, kafka, f"group-{kafka.topic}-{name}") for name, rm in readmodels.items()
    ]
    tasks = [asyncio.create_task(p.run(stop)) for p in projectors]
    try:
        for rm in readmodels.values():
            await wait_until(caught_up(rm, store), f"{rm.projection.name} to catch up")
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    for i in range(6):
        session = store.get_session(1, f"order-{i}")
        for name, rm in readmodels.items():
            expected = codec.encode_document(PROJECTIONS[name].render(session))
            assert rm.queries.document(1, f"order-{i}") == expected, (name, i)
    for rm in readmodels.values():
        rm.close()


async def test_one_projector_keeps_three_read_models_of_one_database_from_their_lowest_position(
    store: SessionStore, kafka: KafkaSettings, database_url: str
) -> None:
    mixed_lifecycles(store)
    await relay_all(store, kafka)
    database = open_database(database_url)
    v1, v2, sessions = (ReadModelWriter(database, p, prefix="one_") for p in PROJECTIONS.values())
    await _project_until_caught_up(Projector(v1, kafka, f"group-{kafka.topic}-v1"), store)
    ahead = v1.queries.documents_by_key()

    # v1 has applied the whole topic; v2 and application-sessions have applied nothing
    together = Projector([v1, v2, sessions], kafka, f"group-{kafka.topic}-together")
    await _project_until_caught_up(together, store)

    assert v1.queries.documents_by_key() == ahead  # what it saw again was skipped as duplicates
    for rm in (v2, sessions):
        for i in range(6):
            expected = rm.projection.render(store.get_session(1, f"order-{i}"))
            assert rm.queries.document(1, f"order-{i}") == codec.encode_document(expected)
    ends = [rm.positions(kafka.cluster_id, kafka.topic) for rm in (v1, v2, sessions)]
    assert ends[0]
    assert ends[0] == ends[1] == ends[2]
    database.close()


async def _project_until_caught_up(projector: Projector, store: SessionStore) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(projector.run(stop))
    try:
        for rm in projector.readmodels:
            await wait_until(caught_up(rm, store), f"{projector.name} to catch up")
    finally:
        stop.set()
        await task
