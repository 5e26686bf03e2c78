"""``client.tasks.add_collection`` / ``add_collection_iter``: the bulk adds of `TaskOperations`.

Only wiring: the shared `BulkAddOptions` (written once, options.py) are checked against the
client's connection pool and handed to the engine (`_private/bulk/`) with the one sender it
drives. Kept apart so tasks.py stays small. Must not import aiohttp or know the engine's inside.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from typing import Any

from typing_extensions import Unpack

from batchtasks._private.bulk import (
    BulkAddResult,
    ChunkSender,
    TaskAddOutcome,
    iter_add_collection,
    run_add_collection,
)
from batchtasks._private.bulk.sender import PipelineChunkSender
from batchtasks._private.constants import DEFAULT_MAX_CONCURRENCY
from batchtasks._private.operations import OperationsBase
from batchtasks._private.options import BULK_OPTION_NAMES, BulkAddOptions, check_names
from batchtasks._private.retry import RetryPolicy
from batchtasks.models import TaskAddParameter

__all__ = ["BulkAddMixin", "TaskInput"]

TaskInput = (
    Iterable[TaskAddParameter | Mapping[str, Any]]
    | AsyncIterable[TaskAddParameter | Mapping[str, Any]]
)


class BulkAddMixin(OperationsBase):
    """`add_collection` and `add_collection_iter` of `TaskOperations`."""

    def _bulk_setup(
        self, options: BulkAddOptions
    ) -> tuple[ChunkSender, RetryPolicy, dict[str, Any]]:
        """The sender, retry policy and engine options of one bulk add (checks the pool)."""
        check_names(options, BULK_OPTION_NAMES)
        engine_options: dict[str, Any] = dict(options)
        timeout = engine_options.pop("timeout", None)
        policy = engine_options.pop("retry_policy", None) or self._pipeline.retry_policy
        threads = engine_options.get("threads")
        wanted = (
            max(threads, 1)
            if threads is not None
            else engine_options.get("max_concurrency", DEFAULT_MAX_CONCURRENCY)
        )
        pool = self._pipeline.transport.max_connections
        if wanted > pool:
            # Requests beyond the pool would queue inside aiohttp, bounded only by the total
            # timeout, and the concurrency would no longer describe what is in flight: refuse.
            raise ValueError(
                f"max_concurrency={wanted} exceeds the client's connection pool ({pool}); "
                f"create the BatchClient with max_connections>={wanted} "
                "(or borrow a session whose connector allows that many connections)"
            )
        sender = PipelineChunkSender(self._pipeline, timeout=timeout)
        return sender, policy, engine_options

    async def add_collection(
        self,
        job_id: str,
        value: TaskInput,
        *,
        on_result: Callable[[TaskAddOutcome], object] | None = None,
        collect_results: bool = True,
        raise_on_failure: bool = True,
        **options: Unpack[BulkAddOptions],
    ) -> BulkAddResult:
        """Add any number of tasks (POST /jobs/{job_id}/addtaskcollection, packed and concurrent).

        Tasks are validated and serialized once, packed into requests of at most 100 tasks and
        strictly below `body_limit` bytes, and sent `max_concurrency` requests at a time. Only
        what failed is retried (per-task `servererror`, 408/429/5xx, connection errors), for the
        affected task IDs only. Every input task ends in exactly one `Outcome`. See docs/bulk.md.

        Args:
            job_id: the job to add to.
            value: an iterable or async iterable of `TaskAddParameter` (or mappings in the
                service's JSON shape), of any length; read lazily.
            on_result: called (or awaited) with each task's `TaskAddOutcome` as it completes.
            collect_results: keep every outcome for the returned result (False: counts only,
                memory O(in-flight)).
            raise_on_failure: raise `AddCollectionError` unless every task succeeded.
            **options: `BulkAddOptions`: `max_concurrency` (8), `threads`, `body_limit`,
                `max_attempts`, `deadline`, `task_exists_is_success`, `on_progress`,
                `detect_duplicates`, `timeout`, `retry_policy` (documented there).

        Returns:
            A `BulkAddResult` (a `TaskAddCollectionResult`, one entry per input task, plus counts).

        Raises:
            ValueError: the concurrency exceeds the client's connection pool.
            TaskValidationError: a Sequence input holds duplicate IDs (nothing was sent).
            AddCollectionError: some task was not added (if `raise_on_failure`), or the input
                raised (its exception is the `__cause__`); `.result` holds the `BulkAddResult`.
        """
        sender, policy, engine_options = self._bulk_setup(options)
        return await run_add_collection(
            sender,
            job_id,
            value,
            policy=policy,
            on_result=on_result,
            collect_results=collect_results,
            raise_on_failure=raise_on_failure,
            **engine_options,
        )

    def add_collection_iter(
        self,
        job_id: str,
        value: TaskInput,
        *,
        raise_on_failure: bool = False,
        **options: Unpack[BulkAddOptions],
    ) -> AsyncIterator[TaskAddOutcome]:
        """Like `add_collection`, but yield each task's `TaskAddOutcome` as it completes.

        Memory stays O(in-flight): nothing is collected, and a slow consumer slows the requests
        down. Leaving the loop early cancels the run (in-flight requests are cancelled).

        Args:
            (as `add_collection`; `raise_on_failure` defaults to False here because every failure
            is yielded.)

        Returns:
            An async iterator of outcomes, in completion order.

        Raises:
            ValueError: the concurrency exceeds the client's connection pool.
            TaskValidationError: a Sequence input holds duplicate IDs (nothing was sent).
            AddCollectionError: after the last outcome, if the input raised (always) or, with
                `raise_on_failure`, if some task was not added (counts only, no lists).
        """
        sender, policy, engine_options = self._bulk_setup(options)
        return iter_add_collection(
            sender,
            job_id,
            value,
            policy=policy,
            raise_on_failure=raise_on_failure,
            **engine_options,
        )
