"""Limits on what a service answer may cost the client, and the errors raised past them.

`ResponseLimits` caps the size of a response body *after decompression*, per kind of answer; the
transport applies it while it streams the body (so a gzip bomb stops being inflated at the cap,
and a never-ending body ends there). `PagingError` ends a list whose continuation never ends.
This module must not import aiohttp (transport.py applies the limits) nor do I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from batchtasks._private.errors import BatchServiceError, BatchTasksError

__all__ = [
    "DEFAULT_RESPONSE_LIMITS",
    "PagingError",
    "ResponseLimits",
    "ResponseTooLargeError",
]

_MIB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ResponseLimits:
    """Largest response body (bytes, after decompression) the client reads, by kind of answer.

    The defaults leave wide room for real answers: a task or job is added with a body under
    1 MiB, a page holds at most 1,000 items (a few KB each), an add_collection answer 100 short
    results. They exist so that a broken or hostile service (or proxy) cannot make the client
    hold gigabytes, and so that decoding one answer never stalls the event loop for long
    (parsing costs up to ~17 ms per MB, validating one large item ~65 ms per MB on a small VM;
    see docs/reliability.md).

    Attributes:
        resource: one job or task, an empty answer, or an error body.
        page: one page of a list (a GET of a collection: `/jobs`, `/jobs/{job}/tasks`, ...).
        collection: the answer to one add_collection request.
    """

    resource: int = 2 * _MIB
    page: int = 16 * _MIB
    collection: int = 2 * _MIB

    def __post_init__(self) -> None:
        for name in ("resource", "page", "collection"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ResponseLimits.{name} must be a positive number of bytes")

    def for_request(self, method: str, path: str) -> tuple[str, int]:
        """The kind (field name) and limit for the answer to `method path` (path as sent).

        A GET of a collection has an odd number of path segments (`/jobs`,
        `/jobs/{job}/tasks`, `/jobs/{job}/tasks/{task}/subtasksinfo`); a resource an even one.
        """
        if path.endswith("/addtaskcollection"):
            return "collection", self.collection
        if method == "GET" and path.strip("/").count("/") % 2 == 0:
            return "page", self.page
        return "resource", self.resource


DEFAULT_RESPONSE_LIMITS: Final = ResponseLimits()


class ResponseTooLargeError(BatchServiceError):
    """The service's answer was larger than the client's limit; nothing of it was used.

    `.status` is the answer's status. For a write the service may have acted (a 2xx means it
    did): the outcome of what the answer described is unknown.

    Attributes:
        limit: the limit in bytes that was exceeded.
    """

    limit: int = 0

    @classmethod
    def build(
        cls, *, status: int, limit: int, what: str, headers: Mapping[str, str] | None = None
    ) -> ResponseTooLargeError:
        """An error for an answer of `status` over `limit` bytes (`what` says which limit)."""
        err = cls(
            status=status,
            message=(
                f"response body exceeds the client's limit of {limit} bytes ({what}); raise it "
                "with BatchClient(response_limits=ResponseLimits(...)) if the answer is legitimate"
            ),
            request_id=(headers or {}).get("request-id"),
            headers=headers,
        )
        err.limit = limit
        return err


class PagingError(BatchTasksError):
    """A list could not be followed to its end.

    Raised when the service sends an `odata.nextLink` that was already followed in this
    iteration (the list would never end), a link that is not printable text, or when the
    `max_pages` cap of the iteration is reached.

    Attributes:
        pages: how many pages the iteration had fetched.
    """

    def __init__(self, message: str, *, pages: int) -> None:
        super().__init__(message)
        self.pages = pages
