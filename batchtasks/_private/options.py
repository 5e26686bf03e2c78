"""The keyword options every operation shares, declared once as `TypedDict`s (PEP 692).

An operation takes its own parameters explicitly and the shared ones as ``**options``; editors
complete the option names and mypy checks their types::

    async def get(
        self, job_id: str, task_id: str, *, select: str | None = None,
        **options: Unpack[ConditionalOptions],
    ) -> CloudTask:
        request = protocol.task_get(job_id, task_id, options, select=select)
        return await self._send_model(request, CloudTask, options)

`RequestOptions` is for operations without conditional headers (adds), `ConditionalOptions` for
operations on one existing resource, `GetOptions` and `ListOptions` add the OData query options
of gets and lists. The protocol layer reads the wire
options from the same mapping (and refuses, with `check_names`, a name that is no option, as
Python refuses an unknown keyword); `send_settings` takes out the two client-side ones.

This module must not import aiohttp at run time (the sans-I/O wire.py imports it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from typing_extensions import TypedDict

if TYPE_CHECKING:
    from batchtasks._private.bulk import BulkProgress
    from batchtasks._private.retry import RetryPolicy
    from batchtasks._private.transport import Timeout

__all__ = [
    "BULK_OPTION_NAMES",
    "BulkAddOptions",
    "CallOptions",
    "ConditionalOptions",
    "FileConditionalOptions",
    "GetOptions",
    "ListOptions",
    "RequestOptions",
    "check_names",
    "send_settings",
]


class CallOptions(TypedDict, total=False):
    """The options of every call that are not sent as query parameters of one request (also
    the per-request options of calls that send many, like ``tasks.wait``).

    Attributes:
        custom_headers: extra headers to send (the official `custom_headers`; `Authorization`,
            `Host` and `Content-Length` are refused).
        retry_policy: override of the client's `RetryPolicy` for this call.
        client_timeout: override of the client's connect/read/total `Timeout` for this call.
        max_response_size: the largest answer body (bytes, after decompression) this call
            reads; a larger success answer raises `ResponseTooLargeError` (default: the
            client's `ResponseLimits` for the kind of answer).
    """

    custom_headers: Mapping[str, str] | None
    retry_policy: RetryPolicy | None
    client_timeout: Timeout | None
    max_response_size: int | None


class RequestOptions(CallOptions, total=False):
    """The keyword options of every operation (the official `*Options` fields, and ours):
    `CallOptions` plus these.

    Attributes:
        timeout: server-side processing limit in seconds (the `timeout` query parameter; the
            service caps it at 30, or 120 for add_collection).
        client_request_id: GUID sent as `client-request-id`; generated per call when omitted
            (the same id is reused by the call's retries).
        return_client_request_id: ask the service to echo `client-request-id`.
        ocp_date: the request time to send (datetime or RFC 1123 text); the current time of
            each attempt when omitted.
    """

    timeout: int | None
    client_request_id: str | None
    return_client_request_id: bool | None
    ocp_date: datetime | str | None


class FileConditionalOptions(RequestOptions, total=False):
    """`RequestOptions` plus the time conditions (task files, which have no ETag).

    Attributes:
        if_modified_since, if_unmodified_since: time conditions (datetime or RFC 1123 text).
    """

    if_modified_since: datetime | str | None
    if_unmodified_since: datetime | str | None


class ConditionalOptions(FileConditionalOptions, total=False):
    """`RequestOptions` plus the conditional headers (operations on one existing resource).

    Attributes:
        if_match, if_none_match: ETag conditions.
        if_modified_since, if_unmodified_since: time conditions (`FileConditionalOptions`).
    """

    if_match: str | None
    if_none_match: str | None


class GetOptions(ConditionalOptions, total=False):
    """`ConditionalOptions` plus the OData options of a get.

    Attributes:
        select: OData `$select` (comma-separated property names).
        expand: OData `$expand` (`stats`).
    """

    select: str | None
    expand: str | None


class ListOptions(RequestOptions, total=False):
    """`RequestOptions` plus the OData options of a list.

    Attributes:
        filter: OData `$filter` (e.g. `state eq 'active'`).
        select: OData `$select` (comma-separated property names).
        expand: OData `$expand` (`stats`).
        max_results: page size, 1-1000 (the service's default is 1000); checked at call time.
    """

    filter: str | None
    select: str | None
    expand: str | None
    max_results: int | None


class BulkAddOptions(TypedDict, total=False):
    """The options `add_collection` and `add_collection_iter` share (defaults in brackets).

    Attributes:
        max_concurrency: requests in flight at once [8]; at most the client's pool size.
        threads: the official SDK's name for `max_concurrency` (0 means 1) [None].
        body_limit: bodies are kept strictly below this many bytes (lowered for the rest of
            the call if the service answers 413) [1 MiB].
        max_attempts: sends per task [the retry policy's `max_attempts`].
        deadline: seconds for the whole call; afterwards nothing new is sent and unsent tasks
            are NOT_ATTEMPTED (None: no overall deadline; each task's retries are still
            bounded by `max_attempts` and the policy's `deadline`) [None].
        task_exists_is_success: count a `TaskExists` for an ID this call had not possibly
            added as success (ALREADY_EXISTS) instead of an ID clash (FAILED) [False].
        on_progress: called (or awaited) with a `BulkProgress` after each response [None].
        detect_duplicates: reject duplicate IDs in the input (keeps an O(n) set of IDs for
            iterators; a Sequence is checked up front) [True].
        timeout: server-side `timeout` query parameter of each request [None].
        retry_policy: override of the client's `RetryPolicy` (backoff, budget, sleep) [None].
    """

    max_concurrency: int
    threads: int | None
    body_limit: int
    max_attempts: int | None
    deadline: float | None
    task_exists_is_success: bool
    on_progress: Callable[[BulkProgress], object] | None
    detect_duplicates: bool
    timeout: int | None
    retry_policy: RetryPolicy | None


#: Every name an operation's ``**options`` may hold (each operation accepts a subset).
_OPTION_NAMES: Final = frozenset(GetOptions.__optional_keys__ | ListOptions.__optional_keys__)
BULK_OPTION_NAMES: Final = frozenset(BulkAddOptions.__optional_keys__)


def check_names(options: Mapping[str, object], names: frozenset[str] = _OPTION_NAMES) -> None:
    """Refuse a keyword that is no option, as Python refuses an unknown keyword.

    Raises:
        TypeError: `options` holds a name that is not in `names` (default: any operation's).
    """
    for name in options:
        if name not in names:
            raise TypeError(f"unexpected keyword argument {name!r}")


def send_settings(options: Mapping[str, Any]) -> tuple[RetryPolicy | None, Timeout | None]:
    """The client-side options of a call: its `retry_policy` and `client_timeout` overrides."""
    return options.get("retry_policy"), options.get("client_timeout")
