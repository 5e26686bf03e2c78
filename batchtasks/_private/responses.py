"""`RawResponse`: what `with_raw_response` operations return (status, headers, parsed body).

A value object only; it must not do I/O or hold request data (no Authorization header).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["RawResponse"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RawResponse(Generic[T]):
    """A successful response with its HTTP details (the official SDK's `raw=True`).

    Returned by `client.tasks.with_raw_response.get(...)` and the other raw views (raw.py).

    Attributes:
        status: the HTTP status (always the operation's success status).
        headers: the response headers (case-insensitive mapping): `ETag`, `Last-Modified`,
            `DataServiceId`, `client-request-id`, ...
        parsed: the decoded body (None for operations without a body).
    """

    status: int
    headers: Mapping[str, str]
    parsed: T

    @property
    def request_id(self) -> str | None:
        """The service's `request-id` header."""
        return self.headers.get("request-id")

    @property
    def etag(self) -> str | None:
        """The `ETag` header, if the operation returns one."""
        return self.headers.get("ETag")

    @property
    def client_request_id(self) -> str | None:
        """The echoed `client-request-id` (only with `return_client_request_id=True`)."""
        return self.headers.get("client-request-id")
