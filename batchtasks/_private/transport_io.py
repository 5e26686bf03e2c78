"""aiohttp's side of one exchange, for `transport.py`: reading a body, and what a failure means.

`read_capped` reads a whole answer up to a size limit (gzip inflated in bounded steps);
`ResponseStream` hands a download's body out chunk by chunk; `map_failure` is the one place where
an aiohttp / timeout / OS failure becomes `BatchConnectionError` / `BatchTimeoutError`, with words
a person understands. Only `transport.py` uses this module; with it, they are the only client
modules that import aiohttp. Must not sign, retry or interpret statuses.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping

import aiohttp

from batchtasks._private.errors import BatchConnectionError, BatchTimeoutError
from batchtasks._private.wire import Request

__all__ = ["ResponseStream", "map_failure", "read_capped"]


async def read_capped(resp: aiohttp.ClientResponse, limit: int, *, truncate: bool) -> bytes | None:
    """The body, read as it arrives (decompressed by aiohttp in bounded steps), at most `limit`.

    Returns None once the body is over `limit` (or announces it), unless `truncate`: then the
    first `limit` bytes. Reading stops there; the connection is not reused.
    """
    # A HEAD answer's Content-Length describes the resource (a task file's size); it has no body.
    length = None if resp.method == "HEAD" else resp.content_length
    if (
        length is not None
        and length > limit
        and not truncate
        and "Content-Encoding" not in resp.headers
    ):
        return None
    parts: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > limit:
            if not truncate:
                return None
            parts.append(chunk[: len(chunk) - (size - limit)])
            break
        parts.append(chunk)
    return b"".join(parts)


class ResponseStream:
    """A response whose body is read chunk by chunk (downloads); always `close()` it.

    Attributes:
        status: the HTTP status.
        headers: the response headers (case-insensitive mapping).
    """

    def __init__(self, request: Request, response: aiohttp.ClientResponse) -> None:
        self._request = request
        self._response = response
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers

    async def read_chunk(self, size: int) -> bytes:
        """Up to `size` bytes of the body (fewer when that is what has arrived); b"" at its end.

        Raises:
            BatchConnectionError, BatchTimeoutError: the connection broke or went quiet (a body
                shorter than its Content-Length is a broken connection).
        """
        error: BatchConnectionError | None = None
        try:
            return await self._response.content.read(size)
        except asyncio.CancelledError:
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            # A body cut short: the endpoint answered, so another try can help.
            error = map_failure(self._request, exc, reached=True)
        # Raised outside the except clause: no __context__ holding aiohttp's request headers.
        raise error

    async def read_all(self, limit: int) -> bytes:
        """The rest of the body, at most `limit` bytes (an error body)."""
        data = bytearray()
        while len(data) < limit:
            chunk = await self.read_chunk(limit - len(data))
            if not chunk:
                break
            data += chunk
        return bytes(data)

    def close(self) -> None:
        """Release the connection; one whose body was not read to the end is dropped."""
        self._response.close()


# What a failed connection means. Says in words what happened, to which host and port (never
# aiohttp's ``ssl:default`` jargon), and decides whether another try could help
# (`BatchConnectionError.transient`):
#
# * a host name that does not resolve (EAI_NONAME) will not resolve a second later: not retried.
#   A temporary DNS failure (EAI_AGAIN) is retried.
# * a refused connection before this client ever got an answer from the endpoint means nothing
#   listens there (a wrong endpoint, or a service that is not running): not retried, so the error
#   shows at once instead of after seconds of silent backoff. Once the endpoint has answered, a
#   refused connection is a restart in progress, and is retried.
_NAME_NOT_FOUND = {
    getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, name)
}


def _address(exc: aiohttp.ClientConnectorError) -> str:
    host = exc.host
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{host}:{exc.port}"


def _reason(exc: BaseException) -> str:
    os_error = getattr(exc, "os_error", None)
    text = getattr(os_error, "strerror", None) or str(os_error or "") or type(exc).__name__
    return str(text)


def map_failure(request: Request, exc: BaseException, *, reached: bool) -> BatchConnectionError:
    """The library error for a failure of `request`.

    Args:
        request: the request that failed.
        exc: the aiohttp, asyncio or OS exception.
        reached: whether this client has had any answer from the endpoint before.
    """
    where = f"{request.method} {request.path}"
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return BatchTimeoutError(f"{where}: timed out connecting ({detail})", request_sent=False)
    if isinstance(exc, asyncio.TimeoutError):
        return BatchTimeoutError(
            f"{where}: no complete response in time; the outcome is unknown ({detail})"
        )
    if isinstance(exc, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)):
        return BatchConnectionError(f"{where}: TLS failure ({detail})", request_sent=False)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _connect_failure(where, exc, reached=reached)
    return BatchConnectionError(f"{where}: connection failed; outcome unknown ({detail})")


def _connect_failure(
    where: str, exc: aiohttp.ClientConnectorError, *, reached: bool
) -> BatchConnectionError:
    os_error = exc.os_error
    if isinstance(os_error, socket.gaierror):
        permanent = os_error.errno in _NAME_NOT_FOUND
        return BatchConnectionError(
            f"{where}: cannot resolve host {exc.host!r} ({_reason(exc)})"
            + ("; check the endpoint" if permanent else "; a temporary DNS failure"),
            request_sent=False,
            transient=not permanent,
        )
    if isinstance(os_error, ConnectionRefusedError):
        advice = (
            "the service stopped answering"
            if reached
            else "nothing is listening there: check the endpoint, or start the service"
        )
        return BatchConnectionError(
            f"{where}: connection refused by {_address(exc)} ({advice})",
            request_sent=False,
            transient=reached,
        )
    return BatchConnectionError(
        f"{where}: cannot connect to {_address(exc)} ({_reason(exc)})", request_sent=False
    )
