"""A raw-socket HTTP server on 127.0.0.1 whose answers a test writes byte by byte.

aiohttp's own server cannot send what a hostile service or proxy would (a status line that is
not HTTP, a body that never ends at full speed, a gzip bomb), so each connection's request head
is read here and handed with the stream writer to a behaviour coroutine. Counts connections
and keeps the raw request heads (to find secrets in them). Always stopped by its context manager.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import psutil

Behaviour = Callable[["RawRequest", asyncio.StreamWriter], Awaitable[None]]


@dataclass
class RawRequest:
    """One request as it arrived."""

    method: str
    target: str
    head: bytes
    body: bytes


@dataclass
class RawServer:
    """State of a running raw server."""

    url: str
    behaviour: Behaviour
    connections: int = 0
    requests: list[RawRequest] = field(default_factory=list)


async def _read_request(reader: asyncio.StreamReader) -> RawRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = ([*lines[0].split(" ", 2), "", ""])[:3]
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip() or 0)
    body = await reader.readexactly(length) if length else b""
    return RawRequest(method, target, head, body)


@contextlib.asynccontextmanager
async def raw_server(behaviour: Behaviour) -> AsyncIterator[RawServer]:
    """Serve `behaviour` (changeable through the yielded state) on 127.0.0.1:0."""
    state = RawServer(url="", behaviour=behaviour)
    handlers: set[asyncio.Task[None]] = set()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        current = asyncio.current_task()
        assert current is not None
        handlers.add(current)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                state.requests.append(request)
                await state.behaviour(request, writer)
                if writer.is_closing():
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            # Stopped by the context manager. Python 3.11's StreamReaderProtocol logs a
            # cancelled connection task as an error: end quietly instead.
            return
        finally:
            handlers.discard(current)
            writer.close()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        server.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


def head(status: int, headers: dict[str, str]) -> bytes:
    """A response head with `headers` (JSON content type added)."""
    lines = [f"HTTP/1.1 {status} X", "Content-Type: application/json;odata=minimalmetadata"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def answer(writer: asyncio.StreamWriter, status: int, body: bytes, **headers: str) -> None:
    """Write a complete response with a Content-Length, in slices (no copy of a large body)."""
    writer.write(head(status, {"Content-Length": str(len(body)), **headers}))
    view = memoryview(body)
    for start in range(0, len(body), 256 * 1024):
        writer.write(view[start : start + 256 * 1024])
        await writer.drain()
    await writer.drain()


def rss() -> int:
    """This process's resident set size in bytes."""
    return int(psutil.Process(os.getpid()).memory_info().rss)
