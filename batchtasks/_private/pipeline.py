"""The send pipeline: per-attempt headers, signing, retries, status check.

`Pipeline.send()` turns one protocol `Request` into a successful `Response` or a mapped
exception: for every attempt it adds a fresh `ocp-date` (unless the caller fixed one), the call's
`client-request-id`, and the `Authorization` computed over exactly the headers, path and query
that go on the wire; then it sends through the transport and checks the operation's success
status. It decides which failures may be retried for an operation that is not idempotent, and
flags a `TaskExists`/`JobExists` that answers a retry after an unknown outcome. It must not build
operation requests or decode bodies (protocol.py does), nor touch aiohttp (transport.py does).
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Final

from batchtasks._private.constants import API_VERSION
from batchtasks._private.credentials import Authorizer
from batchtasks._private.decoding import check_status
from batchtasks._private.errors import (
    AlreadyExistsError,
    BatchConnectionError,
    BatchServiceError,
    ThrottledError,
    answer_unreadable,
)
from batchtasks._private.headercheck import check_headers
from batchtasks._private.retry import RetryPolicy
from batchtasks._private.signing import format_ocp_date
from batchtasks._private.transport import HttpTransport, ResponseStream, Timeout
from batchtasks._private.wire import Request, Response, request_query

#: An error answer to a download is JSON of a few hundred bytes; never read more than this.
_ERROR_BODY_LIMIT: Final = 1_048_576

__all__ = ["Pipeline", "RetryMode", "maybe_processed"]


class RetryMode:
    """How a request may be retried (string constants)."""

    #: Any transient failure may be retried (reads, deletes, updates, terminate, reactivate).
    SAFE: Final = "safe"
    #: Retry transient failures; a later 409 *Exists is flagged as `after_unknown_outcome` (adds).
    DETECT_EXISTS: Final = "detect-exists"
    #: Retry only failures that certainly were not processed (add_collection's single request).
    UNPROCESSED_ONLY: Final = "unprocessed-only"


def maybe_processed(exc: BaseException) -> bool:
    """Whether the service may have acted on a request that failed with `exc`.

    False only when we know it did not: the connection was never made, the request was throttled
    (429 / 503 ServerBusy) or timed out before the service read it (408), or any other 4xx.
    A success answer that could not be read (`answer_unreadable`) may have been applied.
    """
    if isinstance(exc, BatchConnectionError):
        return exc.request_sent
    if isinstance(exc, ThrottledError):
        return False
    if isinstance(exc, BatchServiceError):
        return exc.status >= 500 or answer_unreadable(exc)
    return True


class Pipeline:
    """Signs, sends, retries and status-checks requests for one client.

    Args:
        transport: the HTTP transport.
        authorizer: produces the `Authorization` value.
        retry_policy: the client's default policy.
        timeout: the client's default per-attempt client-side timeout.
        api_version: the api-version every request carries (requests are built with the
            default; another version replaces it here, in one place).
    """

    def __init__(
        self,
        transport: HttpTransport,
        authorizer: Authorizer,
        *,
        retry_policy: RetryPolicy,
        timeout: Timeout,
        api_version: str = API_VERSION,
    ) -> None:
        self.api_version = api_version
        self.transport = transport
        self.authorizer = authorizer
        self.retry_policy = retry_policy
        self.timeout = timeout

    def _prepare(self, request: Request) -> Request:
        """Check the header values (ValueError naming the option) and set the api-version."""
        check_headers(request.headers)
        if self.api_version != API_VERSION and request.query[:1] == (("api-version", API_VERSION),):
            request = dataclasses.replace(
                request, query=(("api-version", self.api_version), *request.query[1:])
            )
        return request

    async def _signed_headers(self, request: Request, client_request_id: str) -> dict[str, str]:
        headers = dict(request.headers)
        headers.setdefault("client-request-id", client_request_id)
        if "ocp-date" not in headers:
            headers["ocp-date"] = format_ocp_date()
        headers["authorization"] = await self.authorizer.authorization(
            method=request.method,
            path=request.path,
            raw_query=request_query(request),
            headers=headers.items(),
        )
        return headers

    async def _attempt(
        self,
        request: Request,
        client_request_id: str,
        attempt: int,
        timeout: Timeout,
        max_size: int | None = None,
    ) -> Response:
        headers = await self._signed_headers(request, client_request_id)
        try:
            response = await self.transport.send(
                request, headers, timeout=timeout, attempt=attempt, max_size=max_size
            )
        finally:
            # Whatever is raised keeps this frame in its traceback: not the signed headers.
            headers.clear()
        check_status(request, response)
        return response

    async def open_stream(
        self,
        request: Request,
        *,
        client_request_id: str,
        attempt: int,
        timeout: Timeout | None = None,
    ) -> ResponseStream:
        """One signed attempt of `request` whose body the caller reads (no retries here).

        Returns:
            The open stream of a response with the operation's success status.

        Raises:
            BatchServiceError: (a subclass for) an error status; its body is read (capped).
            BatchConnectionError: the request failed.
        """
        request = self._prepare(request)
        headers = await self._signed_headers(request, client_request_id)
        try:
            stream = await self.transport.open_stream(
                request, headers, timeout=timeout or self.timeout, attempt=attempt
            )
        finally:
            headers.clear()  # as in _attempt: no signed headers in a traceback
        if stream.status == request.expected_status:
            return stream
        try:
            body = await stream.read_all(_ERROR_BODY_LIMIT)
        finally:
            stream.close()
        check_status(request, Response(stream.status, stream.headers, body))
        raise AssertionError("unreachable: check_status raises for any other status")

    async def send(
        self,
        request: Request,
        *,
        retry_policy: RetryPolicy | None = None,
        timeout: Timeout | None = None,
        mode: str = RetryMode.SAFE,
        max_response_size: int | None = None,
    ) -> Response:
        """Send `request` until it succeeds, fails for good, or the policy gives up.

        Args:
            request: the protocol request.
            retry_policy: per-call override of the client's policy.
            timeout: per-call override of the client-side timeout of each attempt.
            mode: a `RetryMode` constant (see there).
            max_response_size: per-call limit of the answer's size in bytes (None: the
                client's `ResponseLimits` for this kind of answer).

        Returns:
            The response with the operation's success status.

        Raises:
            BatchServiceError: (a subclass for) the last error status. An `AlreadyExistsError`
                that answers a retry after an attempt of unknown outcome has
                `after_unknown_outcome=True`.
            BatchConnectionError: the last connection failure or timeout.
            ValueError: a header value cannot be sent (names the option; nothing was sent).
        """
        request = self._prepare(request)
        policy = retry_policy or self.retry_policy
        base_timeout = timeout or self.timeout
        client_request_id = request.headers.get("client-request-id") or str(uuid.uuid4())
        started = time.monotonic()
        if policy.max_attempts == 1:
            # One attempt (e.g. every bulk-add request, whose engine retries per task): the same
            # result and exception as the retry loop below, without building a tenacity retrier
            # per request. There is no earlier attempt, so nothing is `after_unknown_outcome`.
            attempt_timeout = base_timeout
            if policy.deadline is not None:
                left = policy.deadline - (time.monotonic() - started)
                attempt_timeout = base_timeout.capped(left)
            return await self._attempt(
                request, client_request_id, 1, attempt_timeout, max_response_size
            )
        unknown_outcome = False

        def retry_if(exc: BaseException) -> bool:
            if not policy.is_retryable(exc):
                return False
            return mode != RetryMode.UNPROCESSED_ONLY or not maybe_processed(exc)

        response: Response | None = None
        async for attempt in policy.retrying(retry_if=retry_if):
            with attempt:
                number = attempt.retry_state.attempt_number
                attempt_timeout = base_timeout
                if policy.deadline is not None:
                    left = policy.deadline - (time.monotonic() - started)
                    attempt_timeout = base_timeout.capped(left)
                try:
                    response = await self._attempt(
                        request, client_request_id, number, attempt_timeout, max_response_size
                    )
                except AlreadyExistsError as exc:
                    if unknown_outcome and mode == RetryMode.DETECT_EXISTS:
                        exc.mark_after_unknown_outcome()
                    raise
                except (BatchConnectionError, BatchServiceError) as exc:
                    if maybe_processed(exc):
                        unknown_outcome = True
                    raise
        assert response is not None  # AsyncRetrying re-raises the last error otherwise
        return response
