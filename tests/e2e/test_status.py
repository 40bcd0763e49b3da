"""`sessionstore status`: not caught up (exit 1) until the relay and the projector have
done their work, then caught up (exit 0); a parked record makes it 1 again."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sessionstore.adapters.broker import EmbeddedBroker
from sessionstore.adapters.kafka import OutgoingRecord
from sessionstore.application import SessionStore
from sessionstore.readmodels.projections import PROJECTIONS
from tests.e2e.pipeline import lifecycles, produce
from tests.e2e.processes import launcher, poll_until, stream_env
from tests.e2e.server import executable

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
TOPIC = "status-sessions"


def status(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [executable(), "status", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def test_status_says_what_lags_and_what_is_parked(
    tmp_path: Path, sqlite_store: SessionStore, sqlite_url: str, own_broker: EmbeddedBroker
) -> None:
    env = stream_env(sqlite_url, f"sqlite:///{tmp_path / 'rm.db'}", own_broker.bootstrap, TOPIC)
    lifecycles(sqlite_store, "status", count=4, rounds=2)

    code, before = status(env)
    assert code == 1
    assert before["relay"]["lag"] > 0
    assert before["relay"]["head"] >= before["relay"]["lag"]

    with launcher(tmp_path) as running:
        relay = running.start(env, "relay")
        running.start(env, "project", "all")
        poll_until(lambda: status(env)[0] == 0, "status to say caught up", relay)
        code, after = status(env)
        assert code == 0
        assert after["relay"]["lag"] == 0
        assert after["relay"]["position"] > 0
        assert set(after["projections"]) == set(PROJECTIONS)
        for projection in after["projections"].values():
            assert (projection["lag"], projection["parked"]) == (0, 0)
            ends = [p["end"] for p in projection["partitions"].values()]
            assert sum(ends) > 0
            assert all(p["offset"] == p["end"] for p in projection["partitions"].values())

        produce(own_broker.bootstrap, TOPIC, [OutgoingRecord(key=b"j", value=b"{", headers=())])
        poll_until(
            lambda: status(env)[1]["projections"]["v2"]["parked"] == 1, "the junk parked", relay
        )
        assert status(env)[0] == 1
