"""The freshness part's PUTs: who sends them, and which version each 200 acknowledges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from benchmarks import phases
from benchmarks.loadgen import put_request
from sessionstore.domain.keys import session_key

APPLICATION_ID = 1  # without SESSIONSTORE_API_KEYS every request belongs to application 1


@dataclass(slots=True)
class Write:
    """One PUT's version: when it was sent, when its 200 arrived, when it was seen everywhere."""

    key: str
    version: int
    sent: float
    answered: float | None = None
    visible: float | None = None


class Put(NamedTuple):
    request: bytes
    slot: int
    key: str
    version: int  # the version a 200 to this request acknowledges


@dataclass
class _Slot:
    session: str = ""
    key: str = ""
    version: int = 0  # the last version acknowledged by a 200
    visits: int = 0
    abandoned: int = 0  # sessions given up after a failed PUT


class Writer:
    """One connection's PUTs, to its own sessions only, one at a time.

    So the version each 200 acknowledges is known without parsing the answer: a creation is
    version 1 and every PUT changes `attributes.step`, adding exactly one event. A failed PUT
    leaves its session's version unknown (it may have been stored), so its slot moves on to a
    fresh session. Slots renew staggered, so creations and updates stay mixed.
    """

    def __init__(self, authority: str, name: str, slots: int, renew_every: int) -> None:
        self.authority = authority
        self.name = name
        self.renew_every = renew_every
        self.sent = 0
        self.known: dict[str, int] = {}  # key -> version, of sessions whose every PUT got a 200
        self._slots = [_Slot() for _ in range(slots)]
        self._heads = [self._head(slot) for slot in range(slots)]

    def _head(self, slot: int) -> bytes:
        return (
            f'{{"customerSession":{{"profileId":"p-{self.name}-{slot}",'
            '"cartItems":[{"sku":"SKU-1","quantity":1,"price":9.99}],"attributes":{"step":'
        ).encode()

    def next(self) -> Put:
        number = self.sent % len(self._slots)
        self.sent += 1
        slot = self._slots[number]
        generation = (slot.visits + number) // self.renew_every
        slot.visits += 1
        session = f"{self.name}-{number}-{generation}-{slot.abandoned}"
        if session != slot.session:
            slot.session, slot.version = session, 0
            slot.key = str(session_key(APPLICATION_ID, session))
        body = self._heads[number] + str(self.sent).encode() + b"}}}"
        request = put_request(self.authority, phases.PATH + session, body)
        return Put(request, number, slot.key, slot.version + 1)

    def settle(self, put: Put, ok: bool) -> None:
        slot = self._slots[put.slot]
        assert slot.key == put.key, "one PUT at a time per writer"
        if ok:
            slot.version = put.version
            self.known[put.key] = put.version
        else:
            slot.abandoned += 1
            self.known.pop(put.key, None)
