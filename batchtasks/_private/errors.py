"""The exception tree of batchtasks and the one function that maps a response to an exception.

```
BatchTasksError                       base of everything we raise
├── BatchConnectionError              could not talk to the service (refused, reset, DNS, TLS)
│   └── BatchTimeoutError             no complete answer in time (outcome of a write unknown)
├── BatchServiceError                 the service answered with an error status
│   ├── BadRequestError               400
│   ├── AuthenticationError           401/403
│   ├── NotFoundError                 404
│   ├── ConflictError                 409
│   │   └── AlreadyExistsError        409 TaskExists / JobExists
│   ├── ConditionNotMetError          304/412
│   ├── RequestBodyTooLargeError      413
│   ├── ThrottledError                429, and 503 ServerBusy
│   └── ServerError                   other 5xx
├── TaskValidationError (ValueError)  bad input detected client-side, names the task
├── DownloadError                     a file download could not deliver the announced bytes
│                                      (defined in download.py: .expected .received)
└── AddCollectionError                bulk add aggregate: .succeeded .failed .not_attempted .result
```

This module must not import aiohttp and must never put request headers (Authorization) or
credentials into exception state or text: only what the service sent back is kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict

from batchtasks.models import BatchError, BatchErrorDetail

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = [
    "AddCollectionError",
    "AlreadyExistsError",
    "AuthenticationError",
    "BadRequestError",
    "BatchConnectionError",
    "BatchServiceError",
    "BatchTasksError",
    "BatchTimeoutError",
    "ConditionNotMetError",
    "ConflictError",
    "NotFoundError",
    "RequestBodyTooLargeError",
    "ServerError",
    "TaskValidationError",
    "ThrottledError",
    "answer_unreadable",
    "error_from_response",
    "parse_retry_after",
]

_MAX_TEXT = 200  # how much of a non-JSON error body str(exc) shows


class BatchTasksError(Exception):
    """Base class of every exception batchtasks raises on purpose."""


class BatchConnectionError(BatchTasksError):
    """The service could not be reached, or the connection failed mid-request.

    Attributes:
        request_sent: False when the failure happened before any byte of the request left
            (e.g. connection refused, DNS failure): the service certainly did not act on it.
            True when it may have (reset mid-request, timeout): the outcome of a write is unknown.
        transient: whether another try could succeed. False for a host name that does not
            resolve, and for a connection refused by an endpoint that never answered this
            client (nothing listens there); such failures are not retried.
    """

    def __init__(self, message: str, *, request_sent: bool = True, transient: bool = True) -> None:
        super().__init__(message)
        self.request_sent = request_sent
        self.transient = transient


class BatchTimeoutError(BatchConnectionError):
    """No complete answer arrived in time; a write may or may not have been applied."""


class BatchServiceError(BatchTasksError):
    """The service answered with a status other than the operation's success status.

    Attributes:
        status: HTTP status code.
        code: the Batch error code (`TaskNotFound`, ...) or None if the body had none.
        message: the first line of the service's message (without its RequestId/Time trailer),
            or a short description of a non-JSON body.
        values: detail key/value pairs (`BatchErrorDetail`), possibly empty.
        request_id: the `request-id` response header, if any.
        retry_after: seconds from the `Retry-After` header (numeric or HTTP-date), if any.
        headers: the response headers (case-insensitive).
        error: the decoded `BatchError` body, or None when the body was not a Batch error.
    """

    def __init__(
        self,
        *,
        status: int,
        code: str | None = None,
        message: str | None = None,
        values: Sequence[BatchErrorDetail] = (),
        request_id: str | None = None,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
        error: BatchError | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.values = list(values)
        self.request_id = request_id
        self.retry_after = retry_after
        # A case-insensitive copy: the response (and its connection) may be gone by now.
        self.headers: Mapping[str, str] = CIMultiDict(headers or {})
        self.error = error
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"HTTP {self.status}"
        if self.code:
            text += f" {self.code}"
        if self.message:
            text += f": {_clip(self.message)}"
        details = [f"{d.key}={d.value}" for d in self.values if d.key]
        if details:
            text += f" ({_clip(', '.join(details))})"
        if self.request_id:
            text += f" [request-id: {self.request_id}]"
        if self.retry_after is not None:
            text += f" [retry after {self.retry_after:g}s]"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructor: rebuild from the state so the exception survives pickling
        # (e.g. across a process pool) with all its attributes.
        return (_rebuild_service_error, (type(self), self.__dict__.copy()))


def answer_unreadable(exc: BaseException) -> bool:
    """Whether `exc` stands for a success answer that could not be used.

    The service (or something in between) answered 2xx, but not the operation's success status,
    or with a body that does not decode (blank, HTML, truncated, the wrong shape). The request
    may well have been applied, so for a write the outcome is unknown, and trying again is as
    safe as after a timeout.
    """
    return isinstance(exc, BatchServiceError) and 200 <= exc.status < 300


def _rebuild_service_error(
    cls: type[BatchServiceError], state: dict[str, Any]
) -> BatchServiceError:
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    Exception.__init__(obj, obj._describe())
    return obj


class BadRequestError(BatchServiceError):
    """HTTP 400: the service rejected the request (InvalidPropertyValue, ...)."""


class AuthenticationError(BatchServiceError):
    """HTTP 401/403: the credential was rejected (wrong key, expired token, clock skew)."""


class NotFoundError(BatchServiceError):
    """HTTP 404: JobNotFound, TaskNotFound, ..."""


class ConflictError(BatchServiceError):
    """HTTP 409: the resource is in a state that forbids the operation (TaskCompleted, ...)."""


class AlreadyExistsError(ConflictError):
    """HTTP 409 TaskExists / JobExists.

    Attributes:
        after_unknown_outcome: True when this answer came to a *retry* of an add whose earlier
            attempt ended without a definite answer (timeout, dropped connection, 5xx). The
            resource then most likely exists because that earlier attempt succeeded — but it may
            also have been created by someone else; batchtasks cannot tell which.
    """

    after_unknown_outcome: bool = False

    def _describe(self) -> str:
        text = super()._describe()
        if self.after_unknown_outcome:
            text += (
                " (answer to a retry after an attempt with unknown outcome: the earlier attempt"
                " probably created it)"
            )
        return text

    def mark_after_unknown_outcome(self) -> None:
        """Record that this 409 answered a retry after an attempt of unknown outcome."""
        self.after_unknown_outcome = True
        self.args = (self._describe(),)


class ConditionNotMetError(BatchServiceError):
    """HTTP 304 (reads) or 412 (writes): an If-Match/If-None-Match/If-(Un)Modified-Since failed."""


class RequestBodyTooLargeError(BatchServiceError):
    """HTTP 413 RequestBodyTooLarge: the request body is over the service limit."""


class ThrottledError(BatchServiceError):
    """HTTP 429, or 503 ServerBusy: slow down; `.retry_after` says for how long if known."""


class ServerError(BatchServiceError):
    """Any other HTTP 5xx (InternalError, OperationTimedOut, a proxy's 502, ...)."""


class TaskValidationError(BatchTasksError, ValueError):
    """A task failed client-side validation before anything was sent.

    Attributes:
        task_id: the id of the offending task, when it has one.
        index: its position in the input, when it came from a collection.
    """

    def __init__(
        self,
        message: str,
        *,
        task_id: str | None = None,
        index: int | None = None,
    ) -> None:
        where = []
        if task_id is not None:
            where.append(f"task id {task_id!r}")
        if index is not None:
            where.append(f"index {index}")
        prefix = f"invalid task ({', '.join(where)}): " if where else "invalid task: "
        super().__init__(prefix + message)
        self.task_id = task_id
        self.index = index

    @classmethod
    def from_validation_error(
        cls, exc: ValidationError, *, task_id: str | None = None, index: int | None = None
    ) -> TaskValidationError:
        """Wrap a pydantic `ValidationError`, keeping it as `__cause__`."""
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)
        )
        err = cls(problems, task_id=task_id, index=index)
        err.__cause__ = exc
        return err


class AddCollectionError(BatchTasksError):
    """Some tasks of a bulk add were not added (the official SDK's CreateTasksErrorException).

    Attributes:
        succeeded: results of the tasks that were added.
        failed: results of the tasks the service (or validation) rejected.
        not_attempted: results (or inputs) of tasks never sent, e.g. after a deadline.
        result: the whole result of the call (a `BulkAddResult` from `add_collection`), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        succeeded: Sequence[Any] = (),
        failed: Sequence[Any] = (),
        not_attempted: Sequence[Any] = (),
        result: Any = None,
    ) -> None:
        super().__init__(message)
        self.succeeded = list(succeeded)
        self.failed = list(failed)
        self.not_attempted = list(not_attempted)
        self.result = result

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_add_collection_error, (self.args[0], self.__dict__.copy()))


def _rebuild_add_collection_error(message: str, state: dict[str, Any]) -> AddCollectionError:
    obj = AddCollectionError(message)
    obj.__dict__.update(state)
    return obj


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a `Retry-After` header: delay-seconds or an HTTP-date.

    Returns:
        Seconds to wait (never negative), or None if absent or unparsable.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN is unparsable
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max((when - current).total_seconds(), 0.0)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    for key, val in headers.items():
        if key.lower() == lower:
            return val
    return None


#: str(exc) shows at most this much of a service message; `.message` keeps all of it.
_MAX_MESSAGE = 1000


def _clip(text: str) -> str:
    # A hostile or broken server can send megabytes of "message"; logs and tracebacks should not.
    if len(text) <= _MAX_MESSAGE:
        return text
    return f"{text[:_MAX_MESSAGE]}... [{len(text) - _MAX_MESSAGE} more characters]"


def _first_line(text: str) -> str:
    # Service messages end in "\nRequestId:<guid>\nTime:<date>"; the id is shown separately.
    return text.split("\n", 1)[0].strip()


def _summarize_body(body: bytes) -> str | None:
    if not body:
        return None
    text = body.decode("utf-8", errors="replace").strip()
    text = " ".join(text.split())
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT] + "..."
    return f"non-JSON response body: {text!r}"


def _decode_batch_error(body: bytes) -> BatchError | None:
    if not body:
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # hostile nesting is not JSON to us
        return None
    if not isinstance(data, dict) or not ({"code", "message"} & data.keys()):
        return None
    try:
        return BatchError.from_wire(data)
    except ValueError:  # pydantic.ValidationError is a ValueError
        return None


def _class_for(status: int, code: str | None) -> type[BatchServiceError]:
    if status in (304, 412):
        return ConditionNotMetError
    if status == 400:
        return BadRequestError
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if status == 409:
        return AlreadyExistsError if code in ("TaskExists", "JobExists") else ConflictError
    if status == 413:
        return RequestBodyTooLargeError
    if status == 429 or (status == 503 and code == "ServerBusy"):
        return ThrottledError
    if 500 <= status <= 599:
        return ServerError
    return BatchServiceError


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    expected_status: int | None = None,
) -> BatchServiceError:
    """Map an unsuccessful response to the matching `BatchServiceError` subclass.

    This is the only place where a status/body pair becomes an exception. Non-JSON or empty
    bodies (a proxy's HTML 502, a bare 304) are tolerated: the class then follows the status.

    Args:
        status: the HTTP status.
        headers: the response headers (any case).
        body: the raw response body.
        expected_status: the operation's success status, named in the message when `status` is a
            success code nobody expected (e.g. 200 from an add, which wants 201).

    Returns:
        The exception to raise (not raised here).
    """
    error = _decode_batch_error(body)
    code = error.code if error is not None else None
    message: str | None = None
    if error is not None and error.message is not None and error.message.value:
        message = _first_line(error.message.value)
    elif error is None:
        message = _summarize_body(body)
    if 200 <= status < 300 and expected_status is not None:
        prefix = f"unexpected success status {status} (expected {expected_status})"
        message = f"{prefix}; {message}" if message else prefix
    cls = _class_for(status, code)
    return cls(
        status=status,
        code=code,
        message=message,
        values=list(error.values or ()) if error is not None else [],
        request_id=_header(headers, "request-id"),
        retry_after=parse_retry_after(_header(headers, "Retry-After")),
        headers=headers,
        error=error,
    )
