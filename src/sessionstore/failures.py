"""What a command reports in one line instead of a traceback: a dependency it cannot reach
or an address it cannot listen on, named together with the dependency's own reason."""

from __future__ import annotations

import socket

import psycopg
from aiokafka.errors import KafkaConnectionError, KafkaError

from sessionstore.adapters.broker import BrokerError
from sessionstore.config import ConfigError


class Unavailable(RuntimeError):
    """A dependency cannot be reached, or an address cannot be listened on."""


def bound(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A socket bound to host:port (not yet listening), or Unavailable saying why not."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise Unavailable(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return sock


def can_listen(host: str, port: int) -> None:
    """Fail at once, in one line, where the HTTP server would fail later in a traceback (it
    binds the address again itself)."""
    bound(host, port).close()


REPORTED = (ConfigError, Unavailable, BrokerError, psycopg.OperationalError, KafkaError, OSError)


def one_line(error: BaseException) -> str:
    """The message for a REPORTED error: what failed, and the dependency's own reason."""
    if isinstance(error, psycopg.OperationalError):
        return f"cannot reach PostgreSQL: {_last_line(error)}"
    if isinstance(error, KafkaConnectionError):
        return f"cannot reach Kafka: {_last_line(error)}"
    if isinstance(error, KafkaError):
        return f"Kafka refused: {_last_line(error)}"
    if isinstance(error, OSError) and not isinstance(error, Unavailable | BrokerError):
        where = f" {error.filename}" if error.filename else ""
        return f"cannot use{where}: {error.strerror or error}"
    return _last_line(error)


def _last_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
