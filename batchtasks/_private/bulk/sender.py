"""The seam between the bulk engine and HTTP: what the engine calls to send one request.

`ChunkSender` is the protocol the engine sees; `PipelineChunkSender` is the client's one
implementation, one add_collection request through the client's `Pipeline`. This module builds
no HTTP itself (protocol.py builds the request, the pipeline signs and sends it) and must not
import aiohttp; the engine modules import only the protocols from here.
"""

from __future__ import annotations

from typing import Any, Protocol

from batchtasks._private import protocol
from batchtasks._private.bulk.packer import Entry
from batchtasks._private.options import RequestOptions
from batchtasks._private.pipeline import Pipeline, RetryMode
from batchtasks._private.retry import NO_RETRY

__all__ = ["ChunkSender", "Encoder", "PipelineChunkSender"]


class ChunkSender(Protocol):
    """Send one add_collection request whose body is exactly `body`.

    `time_left` is what remains of the bulk call's deadline (None: no deadline); the request's
    client-side timeout must not exceed it.

    Returns the raw ``value`` list of the service's ``TaskAddResult`` JSON objects (any order),
    or raises a `BatchTasksError` subclass: `RequestBodyTooLargeError` (413), `ThrottledError`
    (429/503 with ``.retry_after``), `ServerError` (5xx), `BatchConnectionError` /
    `BatchTimeoutError`, a `BatchServiceError` with a 2xx status for a success answer that
    cannot be read (`errors.answer_unreadable`), or another `BatchServiceError` for
    non-retryable answers.
    """

    async def __call__(
        self, job_id: str, body: bytes, *, time_left: float | None = None
    ) -> list[dict[str, Any]]: ...


class Encoder(Protocol):
    """Validate and serialize one input item (see `encode.encode_task`)."""

    def __call__(self, item: object, index: int) -> Entry: ...


class PipelineChunkSender:
    """The client's `ChunkSender`: one add_collection request, no retries (the engine's job).

    Args:
        pipeline: the client's send pipeline (signing, transport, status check).
        timeout: the server-side `timeout` query parameter of every request.
    """

    __slots__ = ("_options", "_pipeline")

    def __init__(self, pipeline: Pipeline, *, timeout: int | None = None) -> None:
        self._pipeline = pipeline
        self._options: RequestOptions = {"timeout": timeout}

    async def __call__(
        self, job_id: str, body: bytes, *, time_left: float | None = None
    ) -> list[dict[str, Any]]:
        """Send `body` to `job_id`'s addtaskcollection; the raw ``value`` list of the answer.

        Raises:
            RequestBodyTooLargeError, ThrottledError, ServerError, BatchServiceError: mapped
                error statuses (`.retry_after` where sent); a 2xx status for an unexpected
                success status or a body without a list ``value`` of objects.
            BatchConnectionError, BatchTimeoutError: transport failures, and no complete answer
                within the client's timeout or `time_left`.
        """
        request = protocol.task_add_collection(job_id, body, self._options)
        pipeline = self._pipeline
        response = await pipeline.send(
            request,
            retry_policy=NO_RETRY,
            timeout=None if time_left is None else pipeline.timeout.capped(time_left),
            mode=RetryMode.UNPROCESSED_ONLY,
        )
        values, _ = protocol.decode_value_list(response)
        return values
