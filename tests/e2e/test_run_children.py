"""`sessionstore run` keeps its projector in a child process: the API and the relay on one
core, the three read models on another. The child is one of run's parts: when it dies,
/health names it, writes go on, it is started again and catches up; and it never outlives
`run`, not even a SIGKILLed one."""

from __future__ import annotations

import contextlib
from pathlib import Path

import psutil
import pytest

from tests.e2e.processes import STOP_WITHIN, Process, launcher, poll_until, start_run
from tests.e2e.test_resilient_stream import projected_everywhere, put
from tests.e2e.test_run_command import run_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
PROJECTOR = "projector-v1+v2+application-sessions"


def projector_child(run: Process) -> psutil.Process:
    """The child of `run` that runs `project all`, as soon as it is there."""
    assert run.process is not None
    found: list[psutil.Process] = []

    def there() -> bool:
        assert run.process is not None
        for child in psutil.Process(run.process.pid).children():
            with contextlib.suppress(psutil.Error):
                if child.cmdline()[-6:-4] == ["project", "all"]:
                    found.append(child)
        return bool(found)

    poll_until(there, "run's `project all` child", run)
    return found[0]


def gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_killed_projector_child_is_named_in_health_restarted_and_catches_up(
    tmp_path: Path,
) -> None:
    with launcher(tmp_path) as running:
        process, client = start_run(running, run_env(tmp_path))
        with client:
            before = [f"before-{i}" for i in range(3)]
            for sid in before:
                put(client, sid)
            poll_until(lambda: projected_everywhere(client, before), "the first sessions", process)
            child = projector_child(process)

            child.kill()
            seen: list[dict[str, object]] = []

            def named_in_health() -> bool:
                answer = client.get("/health")
                if answer.status_code == 503:
                    seen.append(answer.json())
                return answer.status_code == 503

            poll_until(named_in_health, "GET /health to answer 503", process)
            during = [f"during-{i}" for i in range(3)]
            for sid in during:
                put(client, sid)  # the API does not depend on the projector

            def all_back() -> bool:
                healthy = client.get("/health").status_code == 200
                return healthy and projected_everywhere(client, before + during)

            poll_until(all_back, "a new projector child and every session projected", process)
            again = projector_child(process)
        assert process.terminate(within=STOP_WITHIN) == 0
    body = seen[0]
    assert body["parts"][PROJECTOR] == "failed"  # type: ignore[index]
    assert "exited" in body["errors"][PROJECTOR]  # type: ignore[index]
    assert again.pid != child.pid
    assert gone(again)  # stopped with run


def test_a_sigkilled_run_takes_its_projector_child_and_its_broker_with_it(
    tmp_path: Path,
) -> None:
    with launcher(tmp_path) as running:
        process, client = start_run(running, run_env(tmp_path))
        client.close()
        assert process.process is not None
        children = psutil.Process(process.process.pid).children()
        child = projector_child(process)
        process.kill()

        _, alive = psutil.wait_procs([child, *children], timeout=10)
        assert not [c for c in alive if not gone(c)], "a child of run outlived it"


def test_runs_metrics_report_the_childs_projection(tmp_path: Path) -> None:
    with launcher(tmp_path) as running:
        process, client = start_run(running, run_env(tmp_path))
        with client:
            put(client, "metered")
            poll_until(lambda: projected_everywhere(client, ["metered"]), "projected", process)

            def applied() -> bool:
                text = client.get("/metrics").text
                return 'sessionstore_projection_applied_total{projection="v2"} 1.0' in text

            poll_until(applied, "run's /metrics to count the child's applied event", process)
        assert process.terminate(within=STOP_WITHIN) == 0
