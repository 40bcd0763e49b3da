"""The three projections by name, and what each stores for a session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from sessionstore.domain.session import Session
from sessionstore.readmodels.application_session import render_application_session
from sessionstore.readmodels.v1 import render_v1
from sessionstore.readmodels.v2 import render_v2


class Projection(msgspec.Struct, frozen=True):
    name: str
    render: Callable[[Session], Any]

    @property
    def table(self) -> str:
        return self.name.replace("-", "_")


PROJECTIONS = {
    p.name: p
    for p in (
        Projection("v1", render_v1),
        Projection("v2", render_v2),
        Projection("application-sessions", render_application_session),
    )
}
