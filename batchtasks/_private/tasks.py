"""TaskOperations: the nine Task operations of the Batch API, as `client.tasks`.

Each method is thin: validate input -> build the protocol request -> send through the pipeline
-> decode. Positional parameters are the official SDK's (`job_id`, `task`, `task_id`,
`constraints`); its `*Options` fields are keyword-only arguments here. Every call also takes
`custom_headers`, `retry_policy` and `client_timeout`, and (except list operations) `raw=True`.
This module must not import aiohttp, build URLs or headers by hand, or sign anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal, overload

from batchtasks._private import protocol
from batchtasks._private.bulk import (
    BulkAddResult,
    BulkProgress,
    TaskAddOutcome,
    iter_add_collection,
    run_add_collection,
)
from batchtasks._private.bulk.sender import PipelineChunkSender
from batchtasks._private.constants import DEFAULT_BODY_LIMIT
from batchtasks._private.operations import OperationsBase, coerce_model
from batchtasks._private.paging import AsyncPager
from batchtasks._private.pipeline import RetryMode
from batchtasks._private.protocol import RequestOptions
from batchtasks._private.responses import RawResponse
from batchtasks._private.retry import RetryPolicy
from batchtasks._private.transport import Timeout
from batchtasks.models import (
    CloudTask,
    SubtaskInformation,
    TaskAddParameter,
    TaskConstraints,
    TaskUpdateParameter,
)

__all__ = ["TaskOperations"]


class TaskOperations(OperationsBase):
    """Operations on the tasks of a job (`client.tasks`; the official `client.task`).

    Common keyword arguments of every method:

    * `timeout` — server-side processing limit in seconds (the `timeout` query parameter; the
      service caps it at 30, or 120 for add_collection).
    * `client_request_id` — GUID sent as `client-request-id`; generated per call when omitted
      (the same id is reused by the call's retries).
    * `return_client_request_id` — ask the service to echo `client-request-id`.
    * `ocp_date` — the request time to send; the current time of each attempt when omitted.
    * `custom_headers` — extra headers to send (the official `custom_headers`).
    * `retry_policy` — override of the client's `RetryPolicy` for this call.
    * `client_timeout` — override of the client's connect/read/total `Timeout` for this call.
    * `raw` — return a `RawResponse` (`.status`, `.headers`, `.request_id`, `.parsed`).

    Methods on a single existing task also accept the conditional headers `if_match`,
    `if_none_match` (ETags) and `if_modified_since`, `if_unmodified_since` (datetimes).
    """

    # --- add ------------------------------------------------------------------------------

    @overload
    async def add(
        self,
        job_id: str,
        task: TaskAddParameter | Mapping[str, Any],
        *,
        timeout: int | None = ...,
        client_request_id: str | None = ...,
        return_client_request_id: bool | None = ...,
        ocp_date: datetime | str | None = ...,
        custom_headers: Mapping[str, str] | None = ...,
        retry_policy: RetryPolicy | None = ...,
        client_timeout: Timeout | None = ...,
        raw: Literal[False] = ...,
    ) -> None: ...

    @overload
    async def add(
        self,
        job_id: str,
        task: TaskAddParameter | Mapping[str, Any],
        *,
        timeout: int | None = ...,
        client_request_id: str | None = ...,
        return_client_request_id: bool | None = ...,
        ocp_date: datetime | str | None = ...,
        custom_headers: Mapping[str, str] | None = ...,
        retry_policy: RetryPolicy | None = ...,
        client_timeout: Timeout | None = ...,
        raw: Literal[True],
    ) -> RawResponse[None]: ...

    async def add(
        self,
        job_id: str,
        task: TaskAddParameter | Mapping[str, Any],
        *,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | str | None = None,
        custom_headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        client_timeout: Timeout | None = None,
        raw: bool = False,
    ) -> RawResponse[None] | None:
        """Add one task to a job (POST /jobs/{job_id}/tasks, 201).

        Retries after an unknown outcome: a timeout, dropped connection or 5xx leaves open
        whether the task was created, so `add` retries it (the task id makes this safe). If such
        a retry is answered `409 TaskExists`, the task most likely exists *because of the earlier
        attempt* — but batchtasks cannot rule out that someone else created it. That case is
        reported distinctly: `AlreadyExistsError` with `after_unknown_outcome=True` (a
        `TaskExists` to a first attempt, or after attempts known not to have been processed,
        has `after_unknown_outcome=False`). Callers that own their task ids typically treat it
        as success::

            try:
                await client.tasks.add(job_id, task)
            except AlreadyExistsError as exc:
                if not exc.after_unknown_outcome:
                    raise

        Args:
            job_id: the job to add to.
            task: a `TaskAddParameter`, or a mapping with its fields (wire or attribute names).
            (common keyword arguments: see the class docstring.)

        Returns:
            None, or a `RawResponse[None]` (ETag, Last-Modified, DataServiceId) with `raw=True`.

        Raises:
            TaskValidationError: `task` is not a valid task (nothing was sent).
            AlreadyExistsError: the id exists (see above for `after_unknown_outcome`).
            BatchServiceError: another error status (NotFoundError for a missing job, ...).
            BatchConnectionError: the service could not be reached (after retries).
        """
        param = coerce_model(TaskAddParameter, task, what="task")
        opts = RequestOptions(
            timeout=timeout,
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
            custom_headers=custom_headers,
        )
        request = protocol.task_add(job_id, param.to_json_bytes(), opts)
        return await self._send_none(
            request,
            raw=raw,
            retry_policy=retry_policy,
            client_timeout=client_timeout,
            mode=RetryMode.DETECT_EXISTS,
        )

    # --- add_collection -------------------------------------------------------------------

    def _check_pool(self, max_concurrency: int, threads: int | None) -> None:
        # Requests beyond the pool size would queue inside aiohttp, bounded only by the total
        # timeout, and the semaphore would no longer describe what is in flight: refuse instead.
        wanted = max(threads, 1) if threads is not None else max_concurrency
        pool = self._pipeline.transport.max_connections
        if wanted > pool:
            raise ValueError(
                f"max_concurrency={wanted} exceeds the client's connection pool ({pool}); "
                f"create the BatchClient with max_connections>={wanted} "
                "(or borrow a session whose connector allows that many connections)"
            )

    async def add_collection(
        self,
        job_id: str,
        value: Iterable[TaskAddParameter | Mapping[str, Any]]
        | AsyncIterable[TaskAddParameter | Mapping[str, Any]],
        *,
        max_concurrency: int = 8,
        threads: int | None = None,
        body_limit: int = DEFAULT_BODY_LIMIT,
        max_attempts: int | None = None,
        deadline: float | None = None,
        task_exists_is_success: bool = False,
        on_result: Callable[[TaskAddOutcome], object] | None = None,
        on_progress: Callable[[BulkProgress], object] | None = None,
        collect_results: bool = True,
        raise_on_failure: bool = True,
        detect_duplicates: bool = True,
        timeout: int | None = None,
        retry_policy: RetryPolicy | None = None,
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
            max_concurrency: requests in flight at once.
            threads: the official SDK's name for `max_concurrency` (0 means 1).
            body_limit: bodies are kept strictly below this many bytes (lowered for the rest of
                the call if the service answers 413).
            max_attempts: sends per task; default the retry policy's `max_attempts`.
            deadline: seconds for the whole call; afterwards nothing new is sent and unsent tasks
                are NOT_ATTEMPTED (None: no overall deadline; each task's retries are still
                bounded by `max_attempts` and the policy's `deadline`).
            task_exists_is_success: count a `TaskExists` for an ID this call had not possibly
                added as success (ALREADY_EXISTS) instead of an ID clash (FAILED).
            on_result: called (or awaited) with each task's `TaskAddOutcome` as it completes.
            on_progress: called (or awaited) with a `BulkProgress` after each response.
            collect_results: keep every outcome for the returned result (False: counts only,
                memory O(in-flight)).
            raise_on_failure: raise `AddCollectionError` unless every task succeeded.
            detect_duplicates: reject duplicate IDs in the input (keeps an O(n) set of IDs for
                iterators; a Sequence is checked up front).
            timeout: server-side `timeout` query parameter of each request.
            retry_policy: override of the client's `RetryPolicy` (backoff, budget, sleep).

        Returns:
            A `BulkAddResult` (a `TaskAddCollectionResult`, one entry per input task, plus counts).

        Raises:
            TaskValidationError: a Sequence input holds duplicate IDs (nothing was sent).
            AddCollectionError: some task was not added (if `raise_on_failure`), or the input
                raised (its exception is the `__cause__`); `.result` holds the `BulkAddResult`.
        """
        self._check_pool(max_concurrency, threads)
        return await run_add_collection(
            PipelineChunkSender(self._pipeline, timeout=timeout),
            job_id,
            value,
            policy=retry_policy or self._pipeline.retry_policy,
            max_concurrency=max_concurrency,
            threads=threads,
            body_limit=body_limit,
            max_attempts=max_attempts,
            deadline=deadline,
            task_exists_is_success=task_exists_is_success,
            on_result=on_result,
            on_progress=on_progress,
            collect_results=collect_results,
            raise_on_failure=raise_on_failure,
            detect_duplicates=detect_duplicates,
        )

    def add_collection_iter(
        self,
        job_id: str,
        value: Iterable[TaskAddParameter | Mapping[str, Any]]
        | AsyncIterable[TaskAddParameter | Mapping[str, Any]],
        *,
        max_concurrency: int = 8,
        threads: int | None = None,
        body_limit: int = DEFAULT_BODY_LIMIT,
        max_attempts: int | None = None,
        deadline: float | None = None,
        task_exists_is_success: bool = False,
        on_progress: Callable[[BulkProgress], object] | None = None,
        raise_on_failure: bool = False,
        detect_duplicates: bool = True,
        timeout: int | None = None,
        retry_policy: RetryPolicy | None = None,
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
            TaskValidationError: a Sequence input holds duplicate IDs (nothing was sent).
            AddCollectionError: after the last outcome, if the input raised (always) or, with
                `raise_on_failure`, if some task was not added (counts only, no lists).
        """
        self._check_pool(max_concurrency, threads)
        return iter_add_collection(
            PipelineChunkSender(self._pipeline, timeout=timeout),
            job_id,
            value,
            policy=retry_policy or self._pipeline.retry_policy,
            max_concurrency=max_concurrency,
            threads=threads,
            body_limit=body_limit,
            max_attempts=max_attempts,
            deadline=deadline,
            task_exists_is_success=task_exists_is_success,
            on_progress=on_progress,
            raise_on_failure=raise_on_failure,
            detect_duplicates=detect_duplicates,
        )

    # --- list -----------------------------------------------------------------------------

    def list(
        self,
        job_id: str,
        *,
        filter: str | None = None,
        select: str | None = None,
        expand: str | None = None,
        max_results: int | None = None,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | str | None = None,
        custom_headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        client_timeout: Timeout | None = None,
    ) -> AsyncPager[CloudTask]:
        """List the tasks of a job (GET /jobs/{job_id}/tasks, 200), following `odata.nextLink`.

        Nothing is sent until iteration starts; pages are fetched one at a time. For raw access
        use `by_page()`: every `Page` has `.status`, `.headers`, `.request_id` and a
        `.continuation_token` to resume from.

        Args:
            job_id: the job.
            filter: OData `$filter` (e.g. `state eq 'active'`).
            select: OData `$select` (comma-separated property names).
            expand: OData `$expand` (`stats`).
            max_results: page size, 1-1000 (the service's default is 1000).
            (common keyword arguments: see the class docstring; no `raw`.)

        Returns:
            An `AsyncPager[CloudTask]`.

        Raises:
            ValueError: `max_results` out of range (raised here, at call time).
            BatchServiceError, BatchConnectionError: during iteration.
        """
        opts = RequestOptions(
            timeout=timeout,
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
            custom_headers=custom_headers,
        )
        first = protocol.task_list(
            job_id, opts, filter=filter, select=select, expand=expand, max_results=max_results
        )
        return self._pager(
            first, CloudTask, retry_policy=retry_policy, client_timeout=client_timeout
        )

    def list_subtasks(
        self,
        job_id: str,
        task_id: str,
        *,
        select: str | None = None,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | str | None = None,
        custom_headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        client_timeout: Timeout | None = None,
    ) -> AsyncPager[SubtaskInformation]:
        """List the subtasks of a multi-instance task (GET .../subtasksinfo, 200).

        The service does not page this result; it is exposed with the same `AsyncPager` shape
        as `list` (exactly one page). A task that is not multi-instance has no subtasks.

        Args:
            job_id: the job.
            task_id: the task.
            select: OData `$select`.
            (common keyword arguments: see the class docstring; no `raw`.)

        Returns:
            An `AsyncPager[SubtaskInformation]`.
        """
        opts = RequestOptions(
            timeout=timeout,
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
            custom_headers=custom_headers,
        )
        first = protocol.task_list_subtasks(job_id, task_id, opts, select=select)
        return self._pager(
            first,
            SubtaskInformation,
            retry_policy=retry_policy,
            client_timeout=client_timeout,
            follow_links=False,
        )

    # --- get ------------------------------------------------------------------------------

    @overload
    async def get(
        self,
        job_id: str,
        task_id: str,
        *,
        select: str | None = ...,
        expand: str | None = ...,
        if_match: str | None = ...,
        if_none_match: str | None = ...,
        if_modified_since: datetime | str | None = ...,
        if_unmodified_since: datetime | str | None = ...,
        timeout: int | None = ...,
        client_request_id: str | None = ...,
        return_client_request_id: bool | None = ...,
        ocp_date: datetime | str | None = ...,
        custom_headers: Mapping[str, str] | None = ...,
        retry_policy: RetryPolicy | None = ...,
        client_timeout: Timeout | None = ...,
        raw: Literal[False] = ...,
    ) -> CloudTask: ...

    @overload
    async def get(
        self,
        job_id: str,
        task_id: str,
        *,
        select: str | None = ...,
        expand: str | None = ...,
        if_match: str | None = ...,
        if_none_match: str | None = ...,
        if_modified_since: datetime | str | None = ...,
        if_unmodified_since: datetime | str | None = ...,
        timeout: int | None = ...,
        client_request_id: str | None = ...,
        return_client_request_id: bool | None = ...,
        ocp_date: datetime | str | None = ...,
        custom_headers: Mapping[str, str] | None = ...,
        retry_policy: RetryPolicy | None = ...,
        client_timeout: Timeout | None = ...,
        raw: Literal[True],
    ) -> RawResponse[CloudTask]: ...

    async def get(
        self,
        job_id: str,
        task_id: str,
        *,
        select: str | None = None,
        expand: str | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | str | None = None,
        if_unmodified_since: datetime | str | None = None,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | str | None = None,
        custom_headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        client_timeout: Timeout | None = None,
        raw: bool = False,
    ) -> CloudTask | RawResponse[CloudTask]:
        """Get one task (GET /jobs/{job_id}/tasks/{task_id}, 200).

        Args:
            job_id: the job.
            task_id: the task.
            select: OData `$select`.
            expand: OData `$expand` (`stats`).
            (conditional and common keyword arguments: see the class docstring.)

        Returns:
            The `CloudTask`, or a `RawResponse[CloudTask]` with `raw=True`.

        Raises:
            NotFoundError: no such job or task.
            ConditionNotMetError: a conditional header failed (304).
            BatchServiceError, BatchConnectionError: other failures.
        """
        opts = RequestOptions(
            timeout=timeout,
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
            custom_headers=custom_headers,
            if_match=if_match,
            if_none_match=if_none_match,
            if_modified_since=if_modified_since,
            if_unmodified_since=if_unmodified_since,
        )
        request = protocol.task_get(job_id, task_id, opts, select=select, expand=expand)
        return await self._send_model(
            request,
            CloudTask,
            raw=raw,
            retry_policy=retry_policy,
            client_timeout=client_timeout,
        )

    # --- update ---------------------------------------------------------------------------

    @overload
    async def update(
        self,
        job_id: str,
        task_id: str,
        constraints: TaskConstraints | Mapping[str, Any] | None = ...,
        *,
        if_match: str | None = ...,
        if_none_match: str | None = ...,
        if_modified_since: datetime | str | None = ...,
        if_unmodified_since: datetime | str | None = ...,
        timeout: int | None = ...,
        client_request_id: str | None = ...,
        return_client_request_id: bool | None = ...,
        ocp_date: datetime | str | None = ...,
        custom_headers: Mapping[str, str] | None = ...,
        retry_policy: RetryPolicy | None = ...,
        client_timeout: Timeout | None = ...,
        raw: Literal[False] = ...,
    ) -> None: ...

    @overload
    async def update(
        self,
        job_id: str,
        task_id: str,
        constraints: TaskConstraints | Mapping[str, Any] | None = ...,
        *,
        if_match: str | None = ...,
        if_none_match: str | None = ...,
        if_modified_since: datetime | str | None = ...,
        if_unmodified_since: datetime | str | None = ...,
        timeout: int | None = ...,
        client_request_id: str | None = ...,
        return_client_request_id: bool | None = ...,
        ocp_date: datetime | str | None = ...,
        custom_headers: Mapping[str, str] | None = ...,
        retry_policy: RetryPolicy | None = ...,
        client_timeout: Timeout | None = ...,
        raw: Literal[True],
    ) -> RawResponse[None]: ...

    async def update(
        self,
        job_id: str,
        task_id: str,
        constraints: TaskConstraints | Mapping[str, Any] | None = None,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | str | None = None,
        if_unmodified_since: datetime | str | None = None,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | str | None = None,
        custom_headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        client_timeout: Timeout | None = None,
        raw: bool = False,
    ) -> RawResponse[None] | None:
        """Replace a task's constraints (PUT /jobs/{job_id}/tasks/{task_id}, 200).

        The service *replaces* the constraints: omitted fields (or `constraints=None`) reset to
        the defaults, as with the official SDK (which sends `{}` for None).

        Args:
            job_id: the job.
            task_id: the task.
            constraints: the new `TaskConstraints` (or a mapping of its fields).
            (conditional and common keyword arguments: see the class docstring.)

        Returns:
            None, or a `RawResponse[None]` with `raw=True`.

        Raises:
            TaskValidationError: `constraints` is invalid (nothing sent).
            NotFoundError, ConditionNotMetError (412), BatchServiceError,
            BatchConnectionError: failures.
        """
        parsed = (
            None
            if constraints is None
            else coerce_model(TaskConstraints, constraints, what="constraints")
        )
        body = TaskUpdateParameter(constraints=parsed).to_json_bytes()
        opts = RequestOptions(
            timeout=timeout,
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
            custom_headers=custom_headers,
            if_match=if_match,
            if_none_match=if_none_match,
            if_modified_since=if_modified_since,
            if_unmodified_since=if_unmodified_since,
        )
        request = protocol.task_update(job_id, task_id, body, opts)
        return await self._send_none(
            request, raw=raw, retry_policy=retry_policy, client_timeout=client_timeout
        )

    # --- delete / terminate / reactivate (same shape) ------------------------------------

    @overload
    async def delete(
        self,
        job_id: str,
        task_id: str,
        *,
        if_match: str | None = ...,
        if_none_match: str | None = ...,
        if_modified_since: datetime | str | None = ...,
        if_unmodified_since: datetime | str | None = ...,
        timeout: int | None = ...,
        client_request_id: str | None = ...,
        return_client_request_id: bool | None = ...,
        ocp_date: datetime | str | None = ...,
        custom_headers: Mapping[str, str] | None = ...,
        retry_policy: RetryPolicy | None = ...,
        client_timeout: Timeout | None = ...,
        raw: Literal[False] = ...,
    ) -> None: ...

    @overload
    async def delete(
        self,
        job_id: str,
        task_id: str,
        *,
        if_match: str | None = ...,
        if_none_match: str | None = ...,
        if_modified_since: datetime | str | None = ...,
        if_unmodified_since: datetime | str | None = ...,
        timeout: int | None = ...,
        client_request_id: str | None = ...,
        return_client_request_id: bool | None = ...,
        ocp_date: datetime | str | None = ...,
        custom_headers: Mapping[str, str] | None = ...,
        retry_policy: RetryPolicy | None = ...,
        client_timeout: Timeout | None = ...,
        raw: Literal[True],
    ) -> RawResponse[None]: ...

    async def delete(
        self,
        job_id: str,
        task_id: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | str | None = None,
        if_unmodified_since: datetime | str | None = None,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | str | None = None,
        custom_headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        client_timeout: Timeout | None = None,
        raw: bool = False,
    ) -> RawResponse[None] | None:
        """Delete a task (DELETE /jobs/{job_id}/tasks/{task_id}, 200).

        Retried on transient failures; a retry after a delete that did happen answers
        `NotFoundError`, which is raised as is.

        Args:
            job_id: the job.
            task_id: the task.
            (conditional and common keyword arguments: see the class docstring.)

        Returns:
            None, or a `RawResponse[None]` with `raw=True`.

        Raises:
            NotFoundError, ConditionNotMetError (412), BatchServiceError,
            BatchConnectionError: failures.
        """
        opts = RequestOptions(
            timeout=timeout,
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
            custom_headers=custom_headers,
            if_match=if_match,
            if_none_match=if_none_match,
            if_modified_since=if_modified_since,
            if_unmodified_since=if_unmodified_since,
        )
        request = protocol.task_delete(job_id, task_id, opts)
        return await self._send_none(
            request, raw=raw, retry_policy=retry_policy, client_timeout=client_timeout
        )

    @overload
    async def terminate(
        self,
        job_id: str,
        task_id: str,
        *,
        if_match: str | None = ...,
        if_none_match: str | None = ...,
        if_modified_since: datetime | str | None = ...,
        if_unmodified_since: datetime | str | None = ...,
        timeout: int | None = ...,
        client_request_id: str | None = ...,
        return_client_request_id: bool | None = ...,
        ocp_date: datetime | str | None = ...,
        custom_headers: Mapping[str, str] | None = ...,
        retry_policy: RetryPolicy | None = ...,
        client_timeout: Timeout | None = ...,
        raw: Literal[False] = ...,
    ) -> None: ...

    @overload
    async def terminate(
        self,
        job_id: str,
        task_id: str,
        *,
        if_match: str | None = ...,
        if_none_match: str | None = ...,
        if_modified_since: datetime | str | None = ...,
        if_unmodified_since: datetime | str | None = ...,
        timeout: int | None = ...,
        client_request_id: str | None = ...,
        return_client_request_id: bool | None = ...,
        ocp_date: datetime | str | None = ...,
        custom_headers: Mapping[str, str] | None = ...,
        retry_policy: RetryPolicy | None = ...,
        client_timeout: Timeout | None = ...,
        raw: Literal[True],
    ) -> RawResponse[None]: ...

    async def terminate(
        self,
        job_id: str,
        task_id: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | str | None = None,
        if_unmodified_since: datetime | str | None = None,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | str | None = None,
        custom_headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        client_timeout: Timeout | None = None,
        raw: bool = False,
    ) -> RawResponse[None] | None:
        """Terminate a task (POST .../tasks/{task_id}/terminate, 204); it becomes `completed`.

        Retried on transient failures; a retry after a terminate that did happen answers
        `409 TaskCompleted` (`ConflictError`), raised as is.

        Args:
            job_id: the job.
            task_id: the task.
            (conditional and common keyword arguments: see the class docstring.)

        Returns:
            None, or a `RawResponse[None]` with `raw=True`.

        Raises:
            ConflictError: e.g. `TaskCompleted`.
            NotFoundError, ConditionNotMetError (412), BatchServiceError,
            BatchConnectionError: other failures.
        """
        opts = RequestOptions(
            timeout=timeout,
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
            custom_headers=custom_headers,
            if_match=if_match,
            if_none_match=if_none_match,
            if_modified_since=if_modified_since,
            if_unmodified_since=if_unmodified_since,
        )
        request = protocol.task_terminate(job_id, task_id, opts)
        return await self._send_none(
            request, raw=raw, retry_policy=retry_policy, client_timeout=client_timeout
        )

    @overload
    async def reactivate(
        self,
        job_id: str,
        task_id: str,
        *,
        if_match: str | None = ...,
        if_none_match: str | None = ...,
        if_modified_since: datetime | str | None = ...,
        if_unmodified_since: datetime | str | None = ...,
        timeout: int | None = ...,
        client_request_id: str | None = ...,
        return_client_request_id: bool | None = ...,
        ocp_date: datetime | str | None = ...,
        custom_headers: Mapping[str, str] | None = ...,
        retry_policy: RetryPolicy | None = ...,
        client_timeout: Timeout | None = ...,
        raw: Literal[False] = ...,
    ) -> None: ...

    @overload
    async def reactivate(
        self,
        job_id: str,
        task_id: str,
        *,
        if_match: str | None = ...,
        if_none_match: str | None = ...,
        if_modified_since: datetime | str | None = ...,
        if_unmodified_since: datetime | str | None = ...,
        timeout: int | None = ...,
        client_request_id: str | None = ...,
        return_client_request_id: bool | None = ...,
        ocp_date: datetime | str | None = ...,
        custom_headers: Mapping[str, str] | None = ...,
        retry_policy: RetryPolicy | None = ...,
        client_timeout: Timeout | None = ...,
        raw: Literal[True],
    ) -> RawResponse[None]: ...

    async def reactivate(
        self,
        job_id: str,
        task_id: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | str | None = None,
        if_unmodified_since: datetime | str | None = None,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | str | None = None,
        custom_headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        client_timeout: Timeout | None = None,
        raw: bool = False,
    ) -> RawResponse[None] | None:
        """Reactivate a completed, failed task (POST .../tasks/{task_id}/reactivate, 204).

        The task becomes `active` again with its retry count reset. Retried on transient
        failures; a retry after a reactivate that did happen answers `409 TaskNotCompleted`.

        Args:
            job_id: the job.
            task_id: the task.
            (conditional and common keyword arguments: see the class docstring.)

        Returns:
            None, or a `RawResponse[None]` with `raw=True`.

        Raises:
            ConflictError: `TaskNotCompleted`, `TaskSucceeded`, `JobCompleted`, ...
            NotFoundError, ConditionNotMetError (412), BatchServiceError,
            BatchConnectionError: other failures.
        """
        opts = RequestOptions(
            timeout=timeout,
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
            custom_headers=custom_headers,
            if_match=if_match,
            if_none_match=if_none_match,
            if_modified_since=if_modified_since,
            if_unmodified_since=if_unmodified_since,
        )
        request = protocol.task_reactivate(job_id, task_id, opts)
        return await self._send_none(
            request, raw=raw, retry_policy=retry_policy, client_timeout=client_timeout
        )
