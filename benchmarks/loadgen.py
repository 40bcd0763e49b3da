"""A minimal HTTP/1.1 load generator: asyncio (uvloop when installed), keep-alive, raw bytes.

One request in flight per connection. Requests are ready-made bytes; an answer is parsed only
as far as its status line and Content-Length, so the client costs little CPU per request and
does not become the bottleneck of what it measures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

T = TypeVar("T")
Answer = tuple[int, bytes]  # (status, body); status 0: no answer (the body says why)
CONNECT_WITHIN = 5.0


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.1 as this client understands it."""


def event_loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run(job: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `job()` on uvloop if it is installed, else on the default asyncio loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(job())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(job())


def cpu_seconds() -> float:
    """CPU time of this process (user + system, every thread): the load generator's cost."""
    return time.process_time()


def put_request(authority: str, path: str, body: bytes) -> bytes:
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def get_request(authority: str, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode()


class _Connection(asyncio.Protocol):
    """One keep-alive connection; `request` writes bytes and resolves with the answer."""

    def __init__(self) -> None:
        self.closed = False
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Answer] | None = None
        self._status = 0
        self._body_at = 0
        self._end = -1  # where the current answer ends in the buffer, once its head is read
        self._keep_alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionError(f"connection closed by the server ({exc or 'EOF'})"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._end < 0 and not self._read_head():
            return
        if len(self._buffer) >= self._end:
            self._finish()

    def request(self, data: bytes) -> asyncio.Future[Answer]:
        assert self._transport is not None, "not connected"
        assert self._waiter is None, "one request at a time"
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(data)
        return self._waiter

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def _read_head(self) -> bool:
        head_end = self._buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        head = bytes(self._buffer[:head_end]).lower()
        start = head.find(b"\r\ncontent-length:")
        if not head.startswith(b"http/1.1 ") or start < 0:
            self._fail(ProtocolError(f"unexpected answer head {head[:200]!r}"))
            self.close()
            return False
        stop = head.find(b"\r\n", start + 2)
        try:
            self._status = int(head[9:12])
            length = int(head[start + 17 : stop if stop > 0 else len(head)])
        except ValueError:
            self._fail(ProtocolError(f"unreadable answer head {head[:200]!r}"))
            self.close()
            return False
        self._body_at = head_end + 4
        self._end = self._body_at + length
        self._keep_alive = b"\r\nconnection: close" not in head
        return True

    def _finish(self) -> None:
        answer = (self._status, bytes(self._buffer[self._body_at : self._end]))
        del self._buffer[: self._end]
        self._end = -1
        if not self._keep_alive:
            self.close()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    def _fail(self, error: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


class Client:
    """A connection that reconnects when the server closed it; errors become status 0."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.authority = f"{host}:{port}"
        self._connection: _Connection | None = None

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(_Connection, self.host, self.port)
        _, self._connection = await asyncio.wait_for(connecting, CONNECT_WITHIN)

    async def send(self, data: bytes) -> Answer:
        try:
            if self._connection is None or self._connection.closed:
                await self.connect()
            assert self._connection is not None
            return await self._connection.request(data)
        except (OSError, ProtocolError, TimeoutError) as error:
            self.close()
            return 0, f"{type(error).__name__}: {error}".encode()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
