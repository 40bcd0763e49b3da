"""Replay benchmark: rebuild all three read models from N stored events, with a progress bar.

Events are written through the pure domain in bulk (not through HTTP) so that setting up
100k events takes seconds; the replay itself is the real command's code path.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

from rich.progress import Progress

from sessionstore import codec
from sessionstore.application import SessionStore
from sessionstore.auditing import progress, targets
from sessionstore.domain import commands
from sessionstore.domain.cart import CartItem
from sessionstore.domain.changes import SessionUpdate
from sessionstore.domain.commands import Stamp
from sessionstore.domain.events import SessionEvents
from sessionstore.domain.keys import session_key
from sessionstore.domain.session import fold
from sessionstore.readmodels.projections import PROJECTIONS
from sessionstore.replay import Summary, replay_from_store

PER_SESSION = 5  # created, three updates, closed


def _life(number: int) -> list[SessionEvents]:
    key = session_key(1, f"bench-{number}")
    at = datetime.now(UTC)
    first = SessionUpdate(
        profile_id=f"p{number % 97}",
        cart_items=(CartItem(sku="A", quantity=1, price=Decimal("9.99")),),
    )
    events = commands.create_session(
        Stamp(key=key, version=0, at=at),
        first,
        application_id=1,
        integration_id=f"bench-{number}",
        session_id=number + 1,
        profile=None,
    )
    for step in range(3):
        session = fold(events)
        assert session is not None
        update = SessionUpdate(attributes={"step": step}, state="closed" if step == 2 else None)
        events += commands.update_session(
            session, Stamp(key=key, version=session.version, at=at), update, None
        )
    return codec.seal("", events)


def write_events(store: SessionStore, total: int) -> list[list[SessionEvents]]:
    histories = []
    with Progress(transient=True) as bar:
        task = bar.add_task("writing events", total=total)
        for first in range(0, total // PER_SESSION, 200):
            batch = [_life(n) for n in range(first, min(first + 200, total // PER_SESSION))]
            store.save(*(e for life in batch for e in life))
            histories += batch
            bar.advance(task, sum(map(len, batch)))
    return histories


def replay(store: SessionStore, url: str, total: int) -> tuple[Summary, float]:
    """The replay's summary, and the in-memory fold of the same events as the baseline."""
    histories = write_events(store, total)
    started = time.perf_counter()
    for life in histories:
        session = fold(life)
        assert session is not None
        for projection in PROJECTIONS.values():
            codec.encode_document(projection.render(session))
    baseline = time.perf_counter() - started
    built = targets(url, list(PROJECTIONS))
    with progress() as bar:
        task = bar.add_task("replaying the event store", total=total)
        summary = replay_from_store(store, built, lambda n: bar.advance(task, n))
    return summary, baseline
