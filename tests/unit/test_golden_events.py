"""Golden encoded samples: events written by earlier versions must decode forever (style rule 1)."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from sessionstore import codec
from sessionstore.domain.events import SessionEvents, StoredEvents
from sessionstore.domain.session import fold

SAMPLES = Path(__file__).parent.parent / "data" / "events"
FILES = sorted(SAMPLES.glob("*.json"))


def _sample(tag: str) -> bytes:
    return (SAMPLES / f"{tag}.v1.json").read_bytes().strip()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_a_golden_sample_decodes_and_encodes_to_the_same_bytes(path: Path) -> None:
    stored = path.read_bytes().strip()
    event = codec.decode_event(stored)
    assert path.name.startswith(codec.tag_of(event) + ".")
    assert codec.encode_event(event) == stored


def test_every_event_type_has_a_golden_sample() -> None:
    tags = {codec.tag_of(codec.decode_event(p.read_bytes())) for p in FILES}
    declared = {t.__struct_config__.tag for t in typing.get_args(StoredEvents)}
    assert tags == declared


def test_the_golden_session_history_folds_and_its_digest_chain_holds() -> None:
    tags = [
        "session.created",
        "session.items_updated",
        "session.closed",
        "session.returned",
        "session.cancelled",
    ]
    events = [codec.decode_session_event(_sample(tag)) for tag in tags]
    previous = ""
    for event in events:
        assert event.digest == codec.digest(previous, event)
        previous = event.digest
    session = fold(events)
    assert session is not None
    assert session.state == "cancelled"
    assert session.coupon_codes == ()
    assert session.attributes == {"channel": "app"}
    assert session.returned == (1,)
    assert session.discounts == {}


def test_a_session_event_is_never_decoded_as_something_else() -> None:
    allowed = set(typing.get_args(SessionEvents))
    for tag in ("session.created", "session.closed", "session.reopened"):
        assert type(codec.decode_session_event(_sample(tag))) in allowed
