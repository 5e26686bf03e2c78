"""What one emulator lets a connection hold: time without a request, time to send a head, slots.

Without limits a few hundred idle or half-sent connections exhaust the process's file
descriptors and the emulator stops answering anyone ("socket.accept() out of system resource").
`ConnectionGuard` enforces `ConnectionLimits`:

* a connection with no request in progress is closed after ``idle_timeout`` seconds (idle
  keep-alive), and one whose request head is still incomplete ``head_timeout`` seconds after its
  first byte arrived is closed (slowloris);
* at most ``max_connections`` are open. At the cap, a new connection takes the place of the one
  that has waited longest without a request in progress; only when every connection is busy is
  the newcomer closed. A normal request therefore gets through however many connections others
  hold idle, and the file descriptors in use stay bounded.

It also answers requests that aiohttp's parser refuses (an over-long request line or header, a
malformed head) with the Batch error body instead of aiohttp's plain text, and logs them as one
line instead of a traceback (`BatchRequestHandler.handle_error`). Must not import
`batchtasks._private` or `batchtasks.models`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

__all__ = [
    "ConnectionGuard",
    "ConnectionLimits",
    "default_max_connections",
    "listen_backlog",
]

logger = logging.getLogger("batchtasks.emulator")

#: File descriptors kept free for the database, node files, stdio and the listening socket.
_FD_RESERVE: Final = 64
_MAX_CONNECTIONS_CEILING: Final = 1000


def _file_limit() -> int | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def listen_backlog() -> int:
    """The listen backlog: 128, less under a small open-file limit.

    asyncio accepts up to a backlog's worth of connections in one go, before any of them can be
    counted, so the backlog is part of the file-descriptor budget.
    """
    soft = _file_limit()
    return 128 if soft is None else max(8, min(128, soft // 8))


def default_max_connections() -> int:
    """1,000, or what the open-file limit leaves (limit - 64 - 2 backlogs), at least 16.

    Two backlogs: one burst of accepted connections not yet counted, and the connections
    closed to make room for them whose descriptors the loop has not released yet.
    """
    soft = _file_limit()
    if soft is None:
        return _MAX_CONNECTIONS_CEILING
    return max(16, min(_MAX_CONNECTIONS_CEILING, soft - _FD_RESERVE - 2 * listen_backlog()))


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Connection limits of one emulator (documented in docs/reliability.md).

    Attributes:
        idle_timeout: seconds a connection may stay open without a request in progress.
        head_timeout: seconds from the first byte of a request head to its end.
        max_connections: open connections at most (None: `default_max_connections()` at start).
    """

    idle_timeout: float = 60.0
    head_timeout: float = 10.0
    max_connections: int | None = None

    def __post_init__(self) -> None:
        for name in ("idle_timeout", "head_timeout"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds")
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")


@dataclass(slots=True)
class _Connection:
    since: float  # opened, or last request ended
    busy: bool = False
    head_since: float | None = None


#: Renders a refused request head: (request, status, code, reason) -> response.
ErrorRenderer = Callable[[web.BaseRequest, int, str, str], web.StreamResponse]


_REQUEST_LINE: Final = re.compile(r"reading: (?:bytearray\()?b'(?:/|[A-Z]+ )")


def _refusal(exc: BaseException | None) -> tuple[int, str, str]:
    """Status, Batch-style code and reason for a request aiohttp's parser refused."""
    text = exc.message if isinstance(exc, HttpProcessingError) else ""
    if isinstance(exc, LineTooLong):
        # aiohttp names the line it stopped in: the C parser the target ("/..."), the Python
        # parser the whole request line ("GET /...").
        if _REQUEST_LINE.search(text):
            return 414, "RequestUrlTooLong", "The request line is too long."
        return 431, "RequestHeaderFieldsTooLarge", "A request header is too long."
    if "too many headers" in text.lower():
        return 431, "RequestHeaderFieldsTooLarge", "The request has too many headers."
    return 400, "InvalidHttpRequest", "The request is not valid HTTP/1.1."


class BatchRequestHandler(RequestHandler):
    """aiohttp's connection protocol, watched by a `ConnectionGuard` (set per emulator)."""

    __slots__ = ()
    guard: ConnectionGuard

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.guard.opened(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.guard.closed(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.guard.received(self)
        super().data_received(data)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500 or not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        status, code, reason = _refusal(exc)
        # One line, no traceback, and not the offending bytes (they may be megabytes).
        logger.info("refused a malformed request from %s: %s %s", request.remote, status, code)
        response = self.guard.render(request, status, code, reason)
        response.force_close()
        return response


class ConnectionGuard:
    """Tracks one emulator's connections and enforces its `ConnectionLimits`.

    Args:
        limits: the limits.
        render: builds the Batch error response for a request head aiohttp refused.
    """

    def __init__(self, limits: ConnectionLimits, render: ErrorRenderer) -> None:
        self.limits = limits
        self.max_connections = limits.max_connections or default_max_connections()
        self.render = render
        self._open: dict[RequestHandler, _Connection] = {}
        self._timer: asyncio.TimerHandle | None = None
        self.evicted = 0
        self.refused = 0
        self.timed_out = 0
        # One handler class per guard, so each emulator of a process has its own limits.
        self._handler_class = type(
            "BatchRequestHandler", (BatchRequestHandler,), {"__slots__": (), "guard": self}
        )

    @property
    def open_connections(self) -> int:
        """How many connections are open now."""
        return len(self._open)

    def protocol_factory(self, server: Callable[[], RequestHandler]) -> Callable[[], Any]:
        """Wrap aiohttp's protocol factory (`AppRunner.server`) so its handlers are watched."""

        def make() -> RequestHandler:
            handler = server()
            # RequestHandler has __slots__; the subclass adds none, so the layouts match.
            handler.__class__ = self._handler_class
            return handler

        return make

    def app_settings(self) -> dict[str, Any]:
        """Keyword arguments of `web.AppRunner` that match the limits."""
        return {"keepalive_timeout": self.limits.idle_timeout}

    # -- events ---------------------------------------------------------------------------------

    def opened(self, handler: RequestHandler) -> None:
        now = time.monotonic()
        if len(self._open) >= self.max_connections and not self._evict_one():
            self.refused += 1
            handler.force_close()
            return
        self._open[handler] = _Connection(since=now)

    def closed(self, handler: RequestHandler) -> None:
        self._open.pop(handler, None)

    def received(self, handler: RequestHandler) -> None:
        state = self._open.get(handler)
        if state is not None and not state.busy and state.head_since is None:
            state.head_since = time.monotonic()

    def _evict_one(self) -> bool:
        idle = [(c.head_since or c.since, h) for h, c in self._open.items() if not c.busy]
        if not idle:
            return False
        _, victim = min(idle, key=lambda pair: pair[0])
        self._open.pop(victim, None)
        self.evicted += 1
        victim.force_close()
        return True

    # -- middleware and sweeper ----------------------------------------------------------------

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Marks the connection busy while its request is handled (outermost middleware)."""
        state = self._open.get(request.protocol)
        if state is not None:
            state.busy, state.head_since = True, None
        try:
            return await handler(request)
        finally:
            if state is not None:
                state.busy, state.since = False, time.monotonic()

    def start(self) -> None:
        """Start closing connections past their time (inside the running loop)."""
        self._schedule(asyncio.get_running_loop())

    async def stop(self) -> None:
        """Stop the periodic check."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        # A timer, not a task: nothing stays pending between checks.
        period = min(self.limits.head_timeout, self.limits.idle_timeout, 2.0) / 2
        self._timer = loop.call_later(period, self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = time.monotonic()
        expired = [
            h
            for h, c in self._open.items()
            if not c.busy
            and (
                (c.head_since is not None and now - c.head_since > self.limits.head_timeout)
                or now - c.since > self.limits.idle_timeout
            )
        ]
        for handler in expired:
            self._open.pop(handler, None)
            self.timed_out += 1
            handler.force_close()
        self._schedule(loop)
