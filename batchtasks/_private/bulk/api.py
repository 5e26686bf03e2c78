"""Entry points of the bulk engine used by `TaskOperations.add_collection(_iter)`.

Resolves arguments against the client's `RetryPolicy`, runs a `BulkAddEngine` over a
`ChunkSender`, and turns the ledger into a `BulkAddResult`, an `AddCollectionError` or a stream
of `TaskAddOutcome`s. Must not know about HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any

from batchtasks._private.bulk.engine import BulkAddEngine
from batchtasks._private.bulk.ledger import Ledger, OnProgress, OnResult
from batchtasks._private.bulk.outcome import TaskAddOutcome
from batchtasks._private.bulk.result import BulkAddResult, build_error, build_result
from batchtasks._private.bulk.sender import ChunkSender
from batchtasks._private.constants import DEFAULT_BODY_LIMIT
from batchtasks._private.retry import RetryPolicy

__all__ = ["iter_add_collection", "run_add_collection"]

TaskInput = Iterable[Any] | AsyncIterable[Any]


def _concurrency(max_concurrency: int, threads: int | None) -> int:
    if threads is not None:
        if threads < 0:
            raise ValueError("threads must be positive or 0")
        # The official SDK's threads=0 means "one request at a time on the calling thread".
        return max(threads, 1)
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be at least 1")
    return max_concurrency


def _engine(
    sender: ChunkSender,
    job_id: str,
    ledger: Ledger,
    *,
    policy: RetryPolicy,
    max_concurrency: int,
    threads: int | None,
    body_limit: int,
    max_attempts: int | None,
    deadline: float | None,
    task_exists_is_success: bool,
    detect_duplicates: bool,
) -> BulkAddEngine:
    return BulkAddEngine(
        sender,
        job_id,
        ledger,
        policy=policy,
        max_concurrency=_concurrency(max_concurrency, threads),
        body_limit=body_limit,
        max_attempts=policy.max_attempts if max_attempts is None else max_attempts,
        deadline=deadline,
        task_exists_is_success=task_exists_is_success,
        detect_duplicates=detect_duplicates,
    )


async def run_add_collection(
    sender: ChunkSender,
    job_id: str,
    value: TaskInput,
    *,
    policy: RetryPolicy,
    max_concurrency: int = 8,
    threads: int | None = None,
    body_limit: int = DEFAULT_BODY_LIMIT,
    max_attempts: int | None = None,
    deadline: float | None = None,
    task_exists_is_success: bool = False,
    on_result: OnResult | None = None,
    on_progress: OnProgress | None = None,
    collect_results: bool = True,
    raise_on_failure: bool = True,
    detect_duplicates: bool = True,
) -> BulkAddResult:
    """Add every task of `value` through `sender`; see `TaskOperations.add_collection`.

    Raises:
        TaskValidationError: `value` is a Sequence with duplicate IDs (nothing was sent).
        AddCollectionError: some task did not end in a success state (if `raise_on_failure`),
            or the input raised (always; the input's exception is the `__cause__`).
        asyncio.CancelledError: after every task read so far was reported to `on_result`.
    """
    ledger = Ledger(on_result=on_result, on_progress=on_progress, collect=collect_results)
    engine = _engine(
        sender,
        job_id,
        ledger,
        policy=policy,
        max_concurrency=max_concurrency,
        threads=threads,
        body_limit=body_limit,
        max_attempts=max_attempts,
        deadline=deadline,
        task_exists_is_success=task_exists_is_success,
        detect_duplicates=detect_duplicates,
    )
    await engine.run(value)
    await ledger.report(done=True)
    result = build_result(
        ledger.deferred_collected(),
        ledger.counts,
        requests=ledger.requests,
        retries=ledger.retried,
        elapsed=ledger.elapsed(),
        body_limit=engine.body_limit,
        stop_reason=engine.stop_reason,
    )
    if engine.input_error is not None:
        raise build_error(result, cause=engine.input_error) from engine.input_error
    if raise_on_failure and not result.ok:
        raise build_error(result, cause=engine.fatal_error) from engine.fatal_error
    return result


async def iter_add_collection(
    sender: ChunkSender,
    job_id: str,
    value: TaskInput,
    *,
    policy: RetryPolicy,
    max_concurrency: int = 8,
    threads: int | None = None,
    body_limit: int = DEFAULT_BODY_LIMIT,
    max_attempts: int | None = None,
    deadline: float | None = None,
    task_exists_is_success: bool = False,
    on_progress: OnProgress | None = None,
    raise_on_failure: bool = False,
    detect_duplicates: bool = True,
    buffer: int = 8,
) -> AsyncIterator[TaskAddOutcome]:
    """Yield one `TaskAddOutcome` per input task as they complete (completion order).

    Memory stays O(in-flight): outcomes are handed over in per-response batches through a queue of
    at most `buffer` batches; a slow consumer slows the requests down. Stopping early
    (``break``/``aclose()``) cancels the run; outcomes not yet yielded are then dropped.

    Raises:
        TaskValidationError: `value` is a Sequence with duplicate IDs (nothing was sent).
        AddCollectionError: after the last outcome, if the input raised (always), or if some task
            failed and `raise_on_failure` is true. It carries counts only (no outcome lists).
    """
    queue: asyncio.Queue[list[TaskAddOutcome] | None] = asyncio.Queue(maxsize=max(buffer, 1))
    ledger = Ledger(on_progress=on_progress, collect=False, queue=queue)
    engine = _engine(
        sender,
        job_id,
        ledger,
        policy=policy,
        max_concurrency=max_concurrency,
        threads=threads,
        body_limit=body_limit,
        max_attempts=max_attempts,
        deadline=deadline,
        task_exists_is_success=task_exists_is_success,
        detect_duplicates=detect_duplicates,
    )

    async def drive() -> None:
        try:
            await engine.run(value)
            await ledger.report(done=True)
        finally:
            await queue.put(None)

    runner = asyncio.ensure_future(drive())
    try:
        while True:
            batch = await queue.get()
            if batch is None:
                break
            for outcome in batch:
                yield outcome
        await runner  # re-raises TaskValidationError and other engine failures
    finally:
        if not runner.done():
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
    result = build_result(
        None,
        ledger.counts,
        requests=ledger.requests,
        retries=ledger.retried,
        elapsed=ledger.elapsed(),
        body_limit=engine.body_limit,
        stop_reason=engine.stop_reason,
    )
    if engine.input_error is not None:
        raise build_error(result, cause=engine.input_error) from engine.input_error
    if raise_on_failure and not result.ok:
        raise build_error(result, cause=engine.fatal_error) from engine.fatal_error
