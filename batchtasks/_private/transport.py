"""The HTTP transport: the only client module that imports aiohttp.

It owns or borrows the `aiohttp.ClientSession`, sends one fully prepared `Request` (headers
already signed) and returns a `Response`, and is the one place where aiohttp / timeout / OS
failures become `BatchConnectionError` / `BatchTimeoutError`. `asyncio.CancelledError` is always
re-raised untouched. Each request is logged at DEBUG (method, path, status, duration, request-id,
attempt) — never its headers. It must not retry, sign or interpret statuses.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import ssl
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Final

import aiohttp
import yarl

from batchtasks._private.errors import BatchConnectionError, BatchTasksError
from batchtasks._private.limits import (
    DEFAULT_RESPONSE_LIMITS,
    ResponseLimits,
    ResponseTooLargeError,
)
from batchtasks._private.transport_io import ResponseStream, map_failure, read_capped
from batchtasks._private.wire import Request, Response, request_url

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_TIMEOUT",
    "HttpTransport",
    "ResponseStream",
    "Timeout",
    "default_user_agent",
]

#: Default connection-pool size of a client-owned session (and so its request concurrency).
DEFAULT_MAX_CONNECTIONS: Final = 64


def default_user_agent() -> str:
    """`batchtasks/<version> python/<version> aiohttp/<version>`."""
    try:
        own = version("batchtasks")
    except PackageNotFoundError:  # running from a source tree without metadata
        own = "0+unknown"
    return f"batchtasks/{own} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"


@dataclass(frozen=True, slots=True)
class Timeout:
    """Client-side time limits of one HTTP attempt, in seconds (None: no limit).

    Attributes:
        connect: to open a new connection (TCP + TLS handshake). Waiting for a free connection
            of a full pool is bounded by `total` only.
        read: between two reads of the response.
        total: for the whole attempt, request sent to body read.
    """

    connect: float | None = 20.0
    read: float | None = 150.0
    total: float | None = 180.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "total"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"Timeout.{name} must be positive or None")

    def capped(self, seconds: float | None) -> Timeout:
        """This timeout with `total` lowered to `seconds` (e.g. what is left of a deadline)."""
        if seconds is None or (self.total is not None and self.total <= seconds):
            return self
        return Timeout(connect=self.connect, read=self.read, total=max(seconds, 0.001))


DEFAULT_TIMEOUT: Final = Timeout()


# Most attempts use one of a few Timeout values; ClientTimeout is immutable, so it is shared.
_CLIENT_TIMEOUTS: dict[Timeout, aiohttp.ClientTimeout] = {}
_CLIENT_TIMEOUTS_SIZE = 64


def _client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    try:
        return _CLIENT_TIMEOUTS[timeout]
    except KeyError:
        pass
    converted = aiohttp.ClientTimeout(
        total=timeout.total, sock_connect=timeout.connect, sock_read=timeout.read
    )
    if len(_CLIENT_TIMEOUTS) >= _CLIENT_TIMEOUTS_SIZE:
        _CLIENT_TIMEOUTS.clear()
    _CLIENT_TIMEOUTS[timeout] = converted
    return converted


class HttpTransport:
    """Sends prepared requests over one aiohttp session (owned or borrowed).

    With `session=` the caller's session is used and never closed. Otherwise a session is created
    lazily, inside the running loop, on first use, and closed by :meth:`close`. Nothing is created
    at construction time.

    Args:
        base_url: `scheme://host[:port]` of the account endpoint (already validated).
        session: a caller-owned `aiohttp.ClientSession` to borrow.
        max_connections: pool size of an owned session (total and per host).
        ssl_context: custom TLS settings for an owned session (verification stays on).
        trace_configs: `aiohttp.TraceConfig` objects for an owned session.
        user_agent: the `User-Agent` header value.
        logger: where the per-request DEBUG line goes (None: no request logging).
        response_limits: the largest answers read, by kind.
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        ssl_context: ssl.SSLContext | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] | None = None,
        user_agent: str,
        logger: logging.Logger | None,
        response_limits: ResponseLimits = DEFAULT_RESPONSE_LIMITS,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._base_url = base_url.rstrip("/")
        self._borrowed = session
        self._session: aiohttp.ClientSession | None = session
        self._max_connections = max_connections
        self._ssl_context = ssl_context
        self._trace_configs = list(trace_configs or ())
        self._user_agent = user_agent
        self._logger = logger
        self._limits = response_limits
        self._closed = False
        # Whether the endpoint has ever answered: decides if a refused connection is worth
        # retrying (see transport_io.map_failure).
        self._reached = False
        # yarl.URL objects are immutable: one per distinct (path, query) is enough (a bulk add
        # sends every request to the same URL). Bounded.
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], yarl.URL] = {}

    @property
    def owns_session(self) -> bool:
        """True when the transport created (and will close) its session."""
        return self._borrowed is None

    @property
    def max_connections(self) -> int:
        """How many requests can be in flight at once through this transport's pool.

        For a borrowed session this is its connector's per-host limit (0 = unlimited is
        reported as a large number).
        """
        if self._borrowed is None:
            return self._max_connections
        connector = self._borrowed.connector
        if connector is None:
            return self._max_connections
        limits = [n for n in (connector.limit, connector.limit_per_host) if n]
        return min(limits) if limits else 1_000_000

    @property
    def response_limits(self) -> ResponseLimits:
        """The largest answers this transport reads, by kind."""
        return self._limits

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the BatchClient is closed; create a new one")
        if self._session is None:
            # Requires a running loop: we are inside a coroutine of the caller's loop here.
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                limit_per_host=self._max_connections,
                ssl=self._ssl_context if self._ssl_context is not None else True,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trace_configs=self._trace_configs or None,
                # Status handling is ours; cookies and env proxies are not wanted for an API.
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
            )
        return self._session

    async def open(self) -> None:
        """Create the owned session now (inside the running loop) instead of on first request."""
        self._get_session()

    async def close(self) -> None:
        """Close an owned session (a borrowed one is left alone). Safe to call twice."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._borrowed is None and not session.closed:
            await session.close()

    async def send(
        self,
        request: Request,
        headers: Mapping[str, str],
        *,
        timeout: Timeout,
        attempt: int = 1,
        max_size: int | None = None,
    ) -> Response:
        """Send `request` with exactly `headers` (already signed) and read the whole response.

        Args:
            request: what to send; its path/query are sent encoded exactly as signed.
            headers: the complete header set (the transport adds only `User-Agent`).
            timeout: client-side limits for this attempt.
            attempt: attempt number, for the log line.
            max_size: the largest body to read (bytes, after decompression); None: the
                transport's `ResponseLimits` for this kind of request.

        Returns:
            The response, whatever its status.

        Raises:
            BatchTimeoutError: no complete answer within `timeout`.
            BatchConnectionError: the connection could not be made or broke.
            ResponseTooLargeError: the success answer is larger than the limit (an error
                answer is cut at the limit and returned).
        """
        session = self._get_session()
        url = self._url(request)
        send_headers = dict(headers)
        send_headers.setdefault("user-agent", self._user_agent)
        # aiohttp would add Content-Type: application/octet-stream to a body-less POST, which
        # the signature would not cover (fact sheet §9.2 b).
        skip: Iterable[str] = () if "content-type" in send_headers else ("Content-Type",)
        if max_size is None:
            kind, limit = self._limits.for_request(request.method, request.path)
            what = f"ResponseLimits.{kind}"
        else:
            limit, what = max_size, "max_response_size"
        started = time.monotonic()
        response: Response | None = None
        error: BatchTasksError | None = None
        try:
            async with session.request(
                request.method,
                url,
                headers=send_headers,
                data=request.body,
                skip_auto_headers=skip,
                timeout=_client_timeout(timeout),
                allow_redirects=False,
            ) as resp:
                success = resp.status == request.expected_status
                body = await read_capped(resp, limit, truncate=not success)
                if body is None:
                    error = ResponseTooLargeError.build(
                        status=resp.status, limit=limit, what=what, headers=resp.headers
                    )
                else:
                    response = Response(status=resp.status, headers=resp.headers, body=body)
        except asyncio.CancelledError:
            raise
        except aiohttp.ClientResponseError as exc:
            error = BatchConnectionError(
                f"{request.method} {request.path}: invalid response from the service"
                f" ({type(exc).__name__}, status {exc.status})"
            )
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            error = map_failure(request, exc, reached=self._reached)
        if response is None:
            # Raised here, outside the except clauses, so the error has no __context__: aiohttp's
            # exceptions carry the request (request_info.headers holds the Authorization value),
            # and error reporters walk the chain whether or not a traceback shows it. The frames
            # of the traceback keep their locals: drop the signed headers from them too.
            send_headers.clear()
            assert error is not None
            self._log_failure(request, started, attempt, error)
            raise error
        self._reached = True
        self._log_success(request, response, started, attempt)
        return response

    async def open_stream(
        self,
        request: Request,
        headers: Mapping[str, str],
        *,
        timeout: Timeout,
        attempt: int = 1,
    ) -> ResponseStream:
        """Send `request` like :meth:`send`, but return as soon as the headers have arrived.

        The body is then read with `ResponseStream.read_chunk` (memory bounded by aiohttp's
        read buffer, whatever the size). `timeout.total` does not apply (a large body may take
        any time); `timeout.connect` bounds the connection and `timeout.read` every wait for
        bytes, headers included. The caller must `close()` the stream.

        Raises:
            BatchTimeoutError, BatchConnectionError: as :meth:`send`.
        """
        session = self._get_session()
        send_headers = dict(headers)
        send_headers.setdefault("user-agent", self._user_agent)
        started = time.monotonic()
        resp: aiohttp.ClientResponse | None = None
        error: BatchConnectionError | None = None
        try:
            resp = await session.request(
                request.method,
                self._url(request),
                headers=send_headers,
                skip_auto_headers=("Content-Type",),
                timeout=_client_timeout(Timeout(timeout.connect, timeout.read, None)),
                allow_redirects=False,
            )
        except asyncio.CancelledError:
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            error = map_failure(request, exc, reached=self._reached)
        if resp is None:
            # Outside the except clause, so the error has no __context__ (aiohttp's exception
            # carries the signed request headers); see `send`.
            send_headers.clear()
            assert error is not None
            self._log_failure(request, started, attempt, error)
            raise error
        self._reached = True
        stream = ResponseStream(request, resp)
        self._log_success(request, Response(resp.status, resp.headers, b""), started, attempt)
        return stream

    def _url(self, request: Request) -> yarl.URL:
        key = (request.path, request.query)
        try:
            return self._urls[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable query: no caching
            return yarl.URL(request_url(self._base_url, request), encoded=True)
        url = yarl.URL(request_url(self._base_url, request), encoded=True)
        if len(self._urls) >= 256:
            self._urls.clear()
        self._urls[key] = url
        return url

    def _log_success(
        self, request: Request, response: Response, started: float, attempt: int
    ) -> None:
        if self._logger is not None and self._logger.isEnabledFor(logging.DEBUG):
            self._logger.debug(
                "%s %s -> %d in %.1f ms (request-id %s, attempt %d)",
                request.method,
                request.path,
                response.status,
                (time.monotonic() - started) * 1000.0,
                response.headers.get("request-id", "-"),
                attempt,
            )

    def _log_failure(
        self, request: Request, started: float, attempt: int, error: BaseException
    ) -> None:
        if self._logger is not None and self._logger.isEnabledFor(logging.DEBUG):
            self._logger.debug(
                "%s %s -> %s in %.1f ms (attempt %d)",
                request.method,
                request.path,
                type(error).__name__,
                (time.monotonic() - started) * 1000.0,
                attempt,
            )
