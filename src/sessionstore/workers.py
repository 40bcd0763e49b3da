"""`serve --workers N`: N processes of `serve`, each with its own listening socket.

Every worker binds the port with SO_REUSEPORT, so the kernel spreads new connections evenly
over them (one shared socket lets the quickest process accept most of them). Each worker
has its own store: its own sessions in memory and its own committer; the committers take
turns on the database, and a worker whose state in memory went stale finds out at commit
and plans again. The workers start serving together, once all have their store; the
supervisor restarts a worker that dies, and stops them all on SIGINT or SIGTERM.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from multiprocessing.connection import wait
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Barrier

import uvloop

from sessionstore import config
from sessionstore.bootstrap import configure_logging
from sessionstore.failures import bound

log = logging.getLogger(__name__)
RESTART_AFTER = 1.0  # seconds; doubled while a worker keeps dying soon, at most a minute
_spawn = multiprocessing.get_context("spawn")


def serve_workers(host: str, port: int, workers: int) -> None:
    """Run and watch the workers until a signal; exit status 0 after a clean stop."""
    stopping = False

    def stop(signum: int, _: object) -> None:
        nonlocal stopping
        stopping = True
        log.info("%s: stopping %d workers", signal.Signals(signum).name, workers)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    together = _spawn.Barrier(workers)
    running = {n: _start(host, port, together) for n in range(workers)}
    started = dict.fromkeys(running, time.monotonic())
    delays = dict.fromkeys(running, RESTART_AFTER)
    due: dict[int, float] = {}  # worker -> when to start it again
    log.info("serving the Integration API on http://%s:%d with %d workers", host, port, workers)
    while not stopping:
        wait([p.sentinel for p in running.values()], timeout=0.5)
        now = time.monotonic()
        for n, process in running.items():
            if process.exitcode is not None and n not in due and not stopping:
                quick = now - started[n] < 10 * delays[n]
                delays[n] = min(60.0, delays[n] * 2) if quick else RESTART_AFTER
                due[n] = now + delays[n]
                log.warning(
                    "worker %d exited with %s; restarting in %.0f s", n, process.exitcode, delays[n]
                )
        for n in [n for n, at in due.items() if at <= now and not stopping]:
            del due[n]
            running[n], started[n] = _start(host, port, None), now
    for process in running.values():
        if process.is_alive():
            process.terminate()
    for process in running.values():
        process.join(timeout=30)


def _start(host: str, port: int, together: Barrier | None) -> SpawnProcess:
    process = _spawn.Process(target=_worker, args=(host, port, together), daemon=True)
    process.start()
    return process


def _worker(host: str, port: int, together: Barrier | None) -> None:
    """One worker: `serve` on its own SO_REUSEPORT socket."""
    settings = config.load()
    configure_logging(settings)
    sock = bound(host, port, reuse_port=True)
    if together is not None:
        together.wait(timeout=60)  # listen together, so no worker takes every early connection
    sock.listen(2048)
    from sessionstore import commands  # the HTTP stack, loaded in the worker only

    uvloop.run(commands.serve(settings, host, port, sock))
