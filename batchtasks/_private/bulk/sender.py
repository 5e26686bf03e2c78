"""The seam between the bulk engine and HTTP: what the engine calls to send one request.

Protocols only; this module must not import aiohttp or the client.
"""

from __future__ import annotations

from typing import Any, Protocol

from batchtasks._private.bulk.packer import Entry

__all__ = ["ChunkSender", "Encoder"]


class ChunkSender(Protocol):
    """Send one add_collection request whose body is exactly `body`.

    Returns the raw ``value`` list of the service's ``TaskAddResult`` JSON objects (any order),
    or raises a `BatchTasksError` subclass: `RequestBodyTooLargeError` (413), `ThrottledError`
    (429/503 with ``.retry_after``), `ServerError` (5xx), `BatchConnectionError` /
    `BatchTimeoutError`, or another `BatchServiceError` for non-retryable answers.
    """

    async def __call__(self, job_id: str, body: bytes) -> list[dict[str, Any]]: ...


class Encoder(Protocol):
    """Validate and serialize one input item (see `encode.encode_task`)."""

    def __call__(self, item: object, index: int) -> Entry: ...
