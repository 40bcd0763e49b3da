"""docker-compose.yml runs the production shape with real `sessionstore` commands.

No Docker engine here: the file is parsed with PyYAML and every command is parsed by the
real `sessionstore` click group, so a renamed command or option breaks this test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import yaml

from sessionstore.cli import main

ROOT = Path(__file__).resolve().parents[2]
INFRASTRUCTURE = {"kafka", "postgres"}
REQUIRED = {"api", "relay", "projector-v1", "projector-v2", "projector-application-sessions"}


def services() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    found: dict[str, dict[str, Any]] = document["services"]
    return found


def image_entrypoint() -> list[str]:
    """The ENTRYPOINT of the Dockerfile that `build: .` uses (exec form)."""
    match = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", (ROOT / "Dockerfile").read_text(), re.M)
    return list(json.loads(match.group(1))) if match else []


def words(value: str | list[str]) -> list[str]:
    return value.split() if isinstance(value, str) else list(value)


def built_image() -> str:
    """The image the one service with `build: .` builds."""
    (image,) = [s["image"] for s in services().values() if "build" in s]
    return str(image)


def argv(service: dict[str, Any]) -> list[str]:
    """What the container runs: its entrypoint (own or the image's) followed by its command."""
    ours = "build" in service or service.get("image") == built_image()
    entrypoint = service.get("entrypoint", image_entrypoint() if ours else [])
    return words(entrypoint) + words(service.get("command", []))


def application_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services().items() if name not in INFRASTRUCTURE}


def test_compose_defines_the_api_the_relay_and_one_projector_per_read_model() -> None:
    assert set(services()) >= REQUIRED
    projectors = [argv(services()[name])[1:3] for name in sorted(REQUIRED) if "projector" in name]
    assert projectors == [["project", "application-sessions"], ["project", "v1"], ["project", "v2"]]


def test_every_service_but_kafka_and_postgres_runs_a_real_sessionstore_subcommand() -> None:
    for name, service in application_services().items():
        run = argv(service)
        assert run[:1] == ["sessionstore"], (name, run)
        assert run[1:2], f"{name}: runs `sessionstore` without a subcommand"
        assert run[1] in main.commands, f"{name}: `{run[1]}` is no sessionstore subcommand"
        command: click.Command = main.commands[run[1]]
        with command.make_context(run[1], run[2:]):  # raises on an unknown option or argument
            pass


def test_every_sessionstore_service_has_a_healthcheck_or_waits_for_a_healthy_service() -> None:
    for name, service in application_services().items():
        depends = service.get("depends_on", {})
        waits = isinstance(depends, dict) and any(
            isinstance(condition, dict) and condition.get("condition") == "service_healthy"
            for condition in depends.values()
        )
        assert "healthcheck" in service or waits, f"{name}: no healthcheck, waits on nothing"


def test_one_image_is_built_once_and_runs_every_application_service() -> None:
    built = [name for name, s in services().items() if "build" in s]
    assert built == ["api"]
    assert {s["image"] for s in application_services().values()} == {built_image()}


def test_every_service_restarts_and_has_a_healthcheck() -> None:
    for name, service in services().items():
        assert service.get("restart") == "unless-stopped", name
        assert service.get("healthcheck", {}).get("test"), name


def test_relay_and_projectors_serve_the_health_their_healthcheck_asks_for() -> None:
    for name, service in application_services().items():
        run = argv(service)
        port = run[run.index("--port") + 1]
        assert f":{port}/health" in " ".join(service["healthcheck"]["test"]), name


def test_the_api_needs_keys_and_is_published_on_localhost_only() -> None:
    api = services()["api"]
    assert api["ports"] == ["127.0.0.1:8080:8080"]
    assert api["environment"]["SESSIONSTORE_API_KEYS"].startswith("${SESSIONSTORE_API_KEYS:?")


def test_the_image_runs_as_a_user_with_data_on_a_volume_and_a_small_build_context() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users
    assert users[-1] not in ("root", "0")
    assert re.search(r'^VOLUME \["/data"\]', dockerfile, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "var", ".git", "tests"} <= set(ignored)
    for service in application_services().values():
        assert "sessionstore-data:/data" in service["volumes"]


def test_env_example_lists_every_setting_the_command_reads() -> None:
    source = (ROOT / "src" / "sessionstore" / "config.py").read_text()
    read = set(re.findall(r'get\("([A-Z_]+)"', source))
    listed = set(re.findall(r"^SESSIONSTORE_([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - listed == set()
