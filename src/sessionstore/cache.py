"""What the store keeps in memory: folded sessions, so a command or a GET never re-folds a
long history, and the numbers of profiles known to be registered.

A cached state is only a starting point: readers fetch the events stored after its version
(one indexed read) and fold those on top, so it stays correct when other threads or other
processes write the same session. Least recently used sessions are dropped first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from uuid import UUID

from sessionstore.domain.session import Session


class SessionCache:
    def __init__(self, size: int) -> None:
        self._size = size
        self._sessions: OrderedDict[UUID, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: UUID) -> Session | None:
        with self._lock:
            session = self._sessions.get(key)
            if session is not None:
                self._sessions.move_to_end(key)
            return session

    def put(self, session: Session) -> None:
        """Keep the later of the cached and the given state; never move a session back."""
        if self._size <= 0:
            return
        with self._lock:
            cached = self._sessions.get(session.key)
            if cached is None or cached.version < session.version:
                self._sessions[session.key] = session
            self._sessions.move_to_end(session.key)
            while len(self._sessions) > self._size:
                self._sessions.popitem(last=False)

    def __len__(self) -> int:
        return len(self._sessions)


class KnownProfiles:
    """Profile key -> its number, for profiles known to be registered. A registration never
    changes, so a kept entry is never stale; an unknown profile is looked up in the store."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._numbers: OrderedDict[UUID, int] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: UUID) -> int | None:
        with self._lock:
            return self._numbers.get(key)

    def put(self, key: UUID, number: int) -> None:
        with self._lock:
            self._numbers[key] = number
            self._numbers.move_to_end(key)
            while len(self._numbers) > self._size:
                self._numbers.popitem(last=False)
