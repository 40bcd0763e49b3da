"""What the read models of one projector share while they advance through one batch.

The three read models keep the same working state per session (each stores it beside its
document) and fold the same records, so most of their work is the same work three times.
`Shared` does it once per batch: each record decoded once, each stored state decoded once
(equal bytes give the same object), each (state, event) folded once, and whatever else is
made of one object (a session's row columns, its encoded state among them) made once. Only
the rendering differs per read model.

Pure, and alive for one batch: nothing is kept between batches, so a state another process
wrote meanwhile (`parked retry`, a swapped-in replay) is always read from the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

import msgspec

from sessionstore import codec
from sessionstore.domain.events import SessionEvents
from sessionstore.domain.session import Session, evolve


class Record(Protocol):
    @property
    def value(self) -> bytes: ...


K = TypeVar("K")
V = TypeVar("V")


class Shared:
    def __init__(self) -> None:
        self._made: dict[tuple[int, Callable[[Any], Any]], tuple[Any, Any]] = {}
        self._states: dict[bytes, Session] = {}
        self._folds: dict[tuple[int, int], tuple[Session | None, SessionEvents, Session]] = {}

    def once(self, make: Callable[[K], V], of: K) -> V:
        """`make(of)`, made once per object (kept here, so that its id is not reused)."""
        known = self._made.get((id(of), make))
        if known is not None and known[0] is of:
            made: V = known[1]
            return made
        made = make(of)
        self._made[(id(of), make)] = (of, made)
        return made

    def decode_event(self, value: bytes) -> SessionEvents:
        """The record's event (raises msgspec errors as `codec` does)."""
        return self.once(codec.decode_session_event, value)

    def key_of(self, event: SessionEvents) -> str:
        """The event's session key as text."""
        return self.once(_key, event)

    def session_of(self, record: Record) -> str | None:
        """The record's session key; None for a record that does not decode."""
        try:
            return self.key_of(self.decode_event(record.value))
        except msgspec.MsgspecError:
            return None

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


def session_keys(records: Iterable[Record], shared: Shared) -> list[str]:
    """The sessions of the records that decode (those that do not are parked), in order."""
    keys: dict[str, None] = {}
    for record in records:
        if (key := shared.session_of(record)) is not None:
            keys[key] = None
    return list(keys)


def _key(event: SessionEvents) -> str:
    return str(event.originator_id)
