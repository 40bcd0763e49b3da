"""An operator's mistakes and outages, each answered in one line naming the cause: a
non-zero exit and no traceback, from the real `sessionstore` command."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionstore.adapters.broker import EmbeddedBroker
from tests.e2e.processes import launcher, poll_until
from tests.e2e.server import executable

pytestmark = pytest.mark.timeout(120)
POSTGRES = os.environ.get("SESSIONSTORE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def sessionstore(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSTORE_")}
    env |= {
        "SESSIONSTORE_DATABASE_URL": f"sqlite:///{tmp_path / 'events.db'}",
        "SESSIONSTORE_READMODEL_URL": f"sqlite:///{tmp_path / 'readmodels.db'}",
    }
    env |= {f"SESSIONSTORE_{name}": value for name, value in settings.items()}
    return subprocess.run(
        [executable(), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("LOG_LEVEL", "LOUD", "SESSIONSTORE_LOG_LEVEL"),
        ("KAFKA_IDEMPOTENCE", "ture", "SESSIONSTORE_KAFKA_IDEMPOTENCE"),
        ("READMODEL_URL", "bogus", "SESSIONSTORE_READMODEL_URL"),
        ("DATABASE_URL", "nonsense", "SESSIONSTORE_DATABASE_URL"),
        ("CONNECT_TIMEOUT_S", "soon", "SESSIONSTORE_CONNECT_TIMEOUT_S"),
        ("API_KEYS", "no-application", "SESSIONSTORE_API_KEYS"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    tmp_path: Path, setting: str, value: str, named: str
) -> None:
    line = one_line(sessionstore(tmp_path, "history", "x", **{setting: value}))

    assert line.startswith(f"Error: {named}: "), line


def test_a_database_that_does_not_exist_is_named_with_postgresqls_reason(tmp_path: Path) -> None:
    url = POSTGRES.rsplit("/", 1)[0] + "/no_such_database"

    line = one_line(sessionstore(tmp_path, "history", "x", DATABASE_URL=url))

    assert 'database "no_such_database" does not exist' in line, line


def test_an_unwritable_sqlite_path_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")

    line = one_line(
        sessionstore(tmp_path, "history", "x", DATABASE_URL=f"sqlite:///{tmp_path}/file/x.db")
    )

    assert "cannot use" in line, line


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.mark.parametrize(
    "command",
    [("serve",), ("serve", "--workers", "2"), ("run", "--no-demo"), ("relay",), ("project", "all")],
)
def test_a_port_in_use_is_one_line_before_anything_starts(
    tmp_path: Path, busy_port: int, command: tuple[str, ...]
) -> None:
    result = sessionstore(tmp_path, *command, "--port", str(busy_port))

    assert (
        one_line(result) == f"Error: cannot listen on 127.0.0.1:{busy_port}: Address already in use"
    )
    assert "serving" not in result.stderr


def test_an_unreachable_kafka_fails_a_replay_from_kafka_in_one_line(tmp_path: Path) -> None:
    result = sessionstore(
        tmp_path,
        "replay",
        "--source",
        "kafka",
        "--into",
        f"sqlite:///{tmp_path / 'rebuilt.db'}",
        KAFKA_BOOTSTRAP="127.0.0.1:1",
    )

    assert one_line(result).startswith("Error: cannot reach Kafka: "), result.stderr


def test_verify_refuses_a_database_that_holds_no_read_models(tmp_path: Path) -> None:
    typo = tmp_path / "typo.db"

    line = one_line(sessionstore(tmp_path, "verify", "--readmodel-url", f"sqlite:///{typo}"))

    assert "holds no read models" in line, line
    assert not typo.exists()


def test_as_of_a_version_past_the_latest_is_an_error(tmp_path: Path) -> None:
    # a session of one version, written through the embedding API of the same store
    from sessionstore.bootstrap import build_store
    from sessionstore.config import Settings
    from sessionstore.domain.changes import SessionUpdate

    store = build_store(Settings(database_url=f"sqlite:///{tmp_path / 'events.db'}"))
    store.update_session(1, "once", SessionUpdate(profile_id="alice"))
    store.close()

    line = one_line(sessionstore(tmp_path, "as-of", "once", "--version", "99"))

    assert "has 1 version(s)" in line, line
    assert sessionstore(tmp_path, "as-of", "once", "--version", "1").returncode == 0


def test_json_logs_are_one_object_per_line(tmp_path: Path) -> None:
    result = sessionstore(tmp_path, "history", "nothing", LOG_FORMAT="json", LOG_LEVEL="INFO")

    logged = [line for line in result.stderr.splitlines() if not line.startswith("Error: ")]
    lines = [json.loads(line) for line in logged if line.strip()]  # click's own line aside
    assert lines, result.stderr
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line


def test_a_broker_without_idempotence_is_a_warning_and_never_an_error(
    tmp_path: Path, own_broker: EmbeddedBroker
) -> None:
    """A configured broker gets an idempotent producer by default; the embedded one cannot
    do it, and the documented fallback says so once, as a WARNING."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSTORE_")}
    env |= {
        "SESSIONSTORE_DATABASE_URL": f"sqlite:///{tmp_path / 'events.db'}",
        "SESSIONSTORE_KAFKA_BOOTSTRAP": own_broker.bootstrap,
        "SESSIONSTORE_LOG_FORMAT": "json",
    }
    with launcher(tmp_path) as running:
        relay = running.start(env, "relay")
        poll_until(lambda: "relay starting" in relay.output(), "the relay to start", relay)
        output = relay.output()
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any("cannot produce idempotently" in r["message"] for r in records), records
    assert [r for r in records if r["level"] == "ERROR"] == []


def test_a_kafka_that_never_answers_fails_within_the_connect_timeout(
    tmp_path: Path, busy_port: int
) -> None:
    """The port accepts connections (the kernel completes them) and never answers."""
    result = sessionstore(
        tmp_path,
        "status",
        KAFKA_BOOTSTRAP=f"127.0.0.1:{busy_port}",
        CONNECT_TIMEOUT_S="2",
    )

    line = one_line(result)
    assert f"cannot reach Kafka at 127.0.0.1:{busy_port}: no answer within 2 s" in line, line
