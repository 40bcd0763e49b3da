"""Tamper evidence: does a session's stored history still hash into an unbroken chain?

Each event's `digest` is sha256(previous digest + the event's bytes without its digest),
computed when the event was recorded. Altering any stored event — even an early one whose
effect later events overwrote — breaks the chain from that event on.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from sessionstore import codec
from sessionstore.domain.events import SessionEvents


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    session_key: str
    version: int
    problem: str


def check_chain(session_key: str, stored: Sequence[bytes]) -> list[Finding]:
    """Stored event bytes of one session, in version order -> what does not hold."""
    findings: list[Finding] = []
    previous = ""
    for position, data in enumerate(stored, start=1):
        try:
            event: SessionEvents = codec.decode_session_event(data)
        except msgspec.MsgspecError as error:
            findings.append(
                Finding(
                    session_key=session_key,
                    version=position,
                    problem=f"event does not decode: {error}",
                )
            )
            break
        if event.originator_version != position:
            findings.append(
                _finding(
                    session_key, position, f"version {event.originator_version} out of sequence"
                )
            )
        if codec.encode_event(event) != data:
            findings.append(_finding(session_key, position, "stored bytes were rewritten"))
        if event.digest != codec.digest(previous, event):
            findings.append(_finding(session_key, position, "digest chain broken"))
        previous = event.digest
    return findings


def _finding(key: str, version: int, problem: str) -> Finding:
    return Finding(session_key=key, version=version, problem=problem)
