"""What the read models of one projector share while they advance through one batch.

The three read models keep the same working state per session (each stores it beside its
document) and fold the same records, so most of their work is the same work three times.
`Shared` does it once per batch: each record decoded once, each stored state decoded once
(equal bytes give the same object), each (state, event) folded once and each new state
encoded once. Only the rendering differs per read model.

Pure, and alive for one batch: nothing is kept between batches, so a state another process
wrote meanwhile (`parked retry`, a swapped-in replay) is always read from the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sessionstore import codec
from sessionstore.domain.events import SessionEvents
from sessionstore.domain.session import Session, evolve

K = TypeVar("K")
V = TypeVar("V")


class Shared:
    def __init__(self) -> None:
        self._events: dict[int, tuple[bytes, SessionEvents]] = {}
        self._states: dict[bytes, Session] = {}
        self._folds: dict[tuple[int, int], tuple[Session | None, SessionEvents, Session]] = {}
        self._encoded: dict[int, tuple[Session, bytes]] = {}

    def decode_event(self, value: bytes) -> SessionEvents:
        """The record's event (raises msgspec errors as `codec` does)."""
        return _once(self._events, value, codec.decode_session_event)

    def decode_state(self, stored: bytes) -> Session:
        if (state := self._states.get(stored)) is None:
            state = self._states[stored] = codec.decode_state(stored)
        return state

    def evolve(self, current: Session | None, event: SessionEvents) -> Session:
        key = (id(current), id(event))  # the objects are kept below: ids are not reused
        known = self._folds.get(key)
        if known is not None and known[0] is current and known[1] is event:
            return known[2]
        new = evolve(current, event)
        self._folds[key] = (current, event, new)
        return new

    def encode_state(self, session: Session) -> bytes:
        return _once(self._encoded, session, codec.encode_state)


def _once(memo: dict[int, tuple[K, V]], of: K, make: Callable[[K], V]) -> V:
    """`make(of)`, made once per object: `memo` keeps the object, so its id is not reused."""
    known = memo.get(id(of))
    if known is not None and known[0] is of:
        return known[1]
    made = make(of)
    memo[id(of)] = (of, made)
    return made
