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


def argv(service: dict[str, Any]) -> list[str]:
    """What the container runs: its entrypoint (own or the image's) followed by its command."""
    entrypoint = service.get("entrypoint", image_entrypoint() if "build" in service else [])
    return words(entrypoint) + words(service.get("command", []))


def application_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services().items() if name not in INFRASTRUCTURE}


def test_compose_defines_the_api_the_relay_and_one_projector_per_read_model() -> None:
    assert set(services()) >= REQUIRED
    projectors = [argv(services()[name])[1:] for name in sorted(REQUIRED) if "projector" in name]
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
