"""The only module that makes or reads bytes: events, Kafka values, stored state, documents.

The bytes stored in the event store are the bytes published to Kafka: msgspec JSON of the
event Struct, tagged with `type`. No Python import path is ever stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import msgspec

from sessionstore.domain.events import SessionEvents, StoredEvents
from sessionstore.domain.session import Session

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[StoredEvents] = msgspec.json.Decoder(StoredEvents)
_session_decoder: msgspec.json.Decoder[SessionEvents] = msgspec.json.Decoder(SessionEvents)
_document_encoder = msgspec.json.Encoder(decimal_format="number")


def encode_event(event: StoredEvents) -> bytes:
    return _encoder.encode(event)


def decode_event(data: bytes) -> StoredEvents:
    return _decoder.decode(data)


def decode_session_event(data: bytes) -> SessionEvents:
    return _session_decoder.decode(data)


_state_decoder: msgspec.json.Decoder[Session] = msgspec.json.Decoder(Session)


def encode_state(session: Session) -> bytes:
    """A projection's working state for one session, stored beside its document."""
    return _encoder.encode(session)


def decode_state(data: bytes) -> Session:
    return _state_decoder.decode(data)


def tag_of(event: StoredEvents) -> str:
    return str(type(event).__struct_config__.tag)


def digest(previous: str, event: SessionEvents) -> str:
    """Chains an event to its predecessor: sha256 over the previous digest and the event."""
    unsealed = encode_event(msgspec.structs.replace(event, digest=""))
    return hashlib.sha256(previous.encode() + unsealed).hexdigest()


def seal(previous: str, events: Iterable[SessionEvents]) -> list[SessionEvents]:
    """Give each event its digest, chained from the session's latest digest."""
    sealed: list[SessionEvents] = []
    for event in events:
        previous = digest(previous, event)
        sealed.append(msgspec.structs.replace(event, digest=previous))
    return sealed


def event_schema() -> bytes:
    """JSON Schema of the Kafka values (the session events), for consumers in any language."""
    schema = msgspec.json.schema(SessionEvents)
    schema["title"] = "sessionstore session event"
    return msgspec.json.format(_encoder.encode(schema), indent=2) + b"\n"


def encode_document(document: Any) -> bytes:
    """Talon.One JSON: money as JSON numbers (its SDKs reject strings)."""
    return _document_encoder.encode(document)
