"""TaskOperations: the nine Task operations of the Batch API, as `client.tasks`.

Each method is thin: validate input -> build the protocol request -> send through the pipeline
-> decode. Positional parameters are the official SDK's (`job_id`, `task`, `task_id`,
`constraints`); its `*Options` fields are keyword-only arguments here, declared once in
options.py and taken as `**options: Unpack[...]`. Raw access is the `with_raw_response` view.
The bulk adds are in task_bulk.py, watch/wait in task_waits.py (mixins).
This module must not import aiohttp, build URLs or headers by hand, or sign anything.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from typing_extensions import Unpack

from batchtasks._private import protocol
from batchtasks._private.operations import OperationsBase, coerce_model
from batchtasks._private.options import (
    ConditionalOptions,
    GetOptions,
    ListOptions,
    RequestOptions,
)
from batchtasks._private.paging import AsyncPager
from batchtasks._private.pipeline import RetryMode
from batchtasks._private.raw import raw_response_wrapper
from batchtasks._private.task_body import task_add_body
from batchtasks._private.task_bulk import BulkAddMixin
from batchtasks._private.task_waits import WaitingMixin
from batchtasks.models import (
    CloudTask,
    SubtaskInformation,
    TaskAddParameter,
    TaskConstraints,
    TaskUpdateParameter,
)

__all__ = ["TaskOperations", "TaskOperationsWithRawResponse"]


class TaskOperations(BulkAddMixin, WaitingMixin, OperationsBase):
    """Operations on the tasks of a job (`client.tasks`; the official `client.task`).

    Keyword options of every method except the bulk adds (`RequestOptions`):

    * `timeout` — server-side processing limit in seconds (the `timeout` query parameter; the
      service caps it at 30, or 120 for add_collection).
    * `client_request_id` — GUID sent as `client-request-id`; generated per call when omitted
      (the same id is reused by the call's retries).
    * `return_client_request_id` — ask the service to echo `client-request-id`.
    * `ocp_date` — the request time to send; the current time of each attempt when omitted.
    * `custom_headers` — extra headers to send (the official `custom_headers`).
    * `retry_policy` — override of the client's `RetryPolicy` for this call.
    * `client_timeout` — override of the client's connect/read/total `Timeout` for this call.
    * `max_response_size` — the largest answer body this call reads (bytes, after
      decompression); default the client's `ResponseLimits` for the kind of answer.

    Methods on a single existing task (get, update, delete, terminate, reactivate) also accept
    the conditional headers (`ConditionalOptions`): `if_match`, `if_none_match` (ETags) and
    `if_modified_since`, `if_unmodified_since` (datetimes). OData options: `get` takes
    `select` and `expand` (`stats`) (`GetOptions`); `list` takes `filter` (e.g.
    `state eq 'active'`), `select`, `expand` and `max_results` (page size 1-1000, checked at
    call time) (`ListOptions`). The bulk adds take `BulkAddOptions` (see `add_collection`).

    Raw access: `tasks.with_raw_response.get(...)` (and add, update, delete, terminate,
    reactivate) returns a `RawResponse[T]` (`.status`, `.headers`, `.request_id`, `.etag`,
    `.parsed`) with the same parameters; lists give raw pages through `by_page()`.
    """

    @functools.cached_property
    def with_raw_response(self) -> TaskOperationsWithRawResponse:
        """The same operations, returning `RawResponse[T]` instead of `T`."""
        return TaskOperationsWithRawResponse(self)

    # --- add ------------------------------------------------------------------------------

    async def add(
        self,
        job_id: str,
        task: TaskAddParameter | Mapping[str, Any],
        **options: Unpack[RequestOptions],
    ) -> None:
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
            **options: `RequestOptions` (see the class docstring).

        Returns:
            None (`with_raw_response.add`: a `RawResponse[None]` with ETag, Last-Modified,
            DataServiceId).

        Raises:
            TaskValidationError: `task` is not a valid task, or its body is not below the
                service's 1 MiB limit (nothing was sent).
            AlreadyExistsError: the id exists (see above for `after_unknown_outcome`).
            BatchServiceError: another error status (NotFoundError for a missing job, ...).
            BatchConnectionError: the service could not be reached (after retries).
        """
        param = coerce_model(TaskAddParameter, task, what="task")
        body = self._check_version("task", task_add_body(param))
        request = protocol.task_add(job_id, body, options)
        await self._send(request, options, mode=RetryMode.DETECT_EXISTS)

    # --- list -----------------------------------------------------------------------------

    def list(self, job_id: str, **options: Unpack[ListOptions]) -> AsyncPager[CloudTask]:
        """List the tasks of a job (GET /jobs/{job_id}/tasks, 200), following `odata.nextLink`.

        Nothing is sent until iteration starts; pages are fetched one at a time. For raw access
        use `by_page()`: every `Page` has `.status`, `.headers`, `.request_id` and a
        `.continuation_token` to resume from.

        Args:
            job_id: the job.
            **options: `ListOptions` (see the class docstring).

        Returns:
            An `AsyncPager[CloudTask]`.

        Raises:
            ValueError: `max_results` out of range (raised here, at call time).
            BatchServiceError, BatchConnectionError: during iteration.
        """
        return self._pager(protocol.task_list(job_id, options), CloudTask, options)

    def list_subtasks(
        self,
        job_id: str,
        task_id: str,
        *,
        select: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPager[SubtaskInformation]:
        """List the subtasks of a multi-instance task (GET .../subtasksinfo, 200).

        The service does not page this result; it is exposed with the same `AsyncPager` shape
        as `list` (exactly one page). A task that is not multi-instance has no subtasks.

        Args:
            job_id: the job.
            task_id: the task.
            select: OData `$select`.
            **options: `RequestOptions` (see the class docstring).

        Returns:
            An `AsyncPager[SubtaskInformation]`.
        """
        first = protocol.task_list_subtasks(job_id, task_id, options, select=select)
        return self._pager(first, SubtaskInformation, options, follow_links=False)

    # --- get / update ---------------------------------------------------------------------

    async def get(self, job_id: str, task_id: str, **options: Unpack[GetOptions]) -> CloudTask:
        """Get one task (GET /jobs/{job_id}/tasks/{task_id}, 200).

        Args:
            job_id: the job.
            task_id: the task.
            **options: `GetOptions` (see the class docstring).

        Returns:
            The `CloudTask` (`with_raw_response.get`: a `RawResponse[CloudTask]`).

        Raises:
            NotFoundError: no such job or task.
            ConditionNotMetError: a conditional header failed (304).
            BatchServiceError, BatchConnectionError: other failures.
        """
        request = protocol.task_get(job_id, task_id, options)
        return await self._send_model(request, CloudTask, options)

    async def update(
        self,
        job_id: str,
        task_id: str,
        constraints: TaskConstraints | Mapping[str, Any] | None = None,
        **options: Unpack[ConditionalOptions],
    ) -> None:
        """Replace a task's constraints (PUT /jobs/{job_id}/tasks/{task_id}, 200).

        The service *replaces* the constraints: omitted fields (or `constraints=None`) reset to
        the defaults, as with the official SDK (which sends `{}` for None).

        Args:
            job_id: the job.
            task_id: the task.
            constraints: the new `TaskConstraints` (or a mapping of its fields).
            **options: `ConditionalOptions` (see the class docstring).

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
        await self._send(protocol.task_update(job_id, task_id, body, options), options)

    # --- delete / terminate / reactivate --------------------------------------------------

    async def delete(
        self, job_id: str, task_id: str, **options: Unpack[ConditionalOptions]
    ) -> None:
        """Delete a task (DELETE /jobs/{job_id}/tasks/{task_id}, 200).

        Retried on transient failures; a retry after a delete that did happen answers
        `NotFoundError`, which is raised as is.

        Args:
            job_id: the job.
            task_id: the task.
            **options: `ConditionalOptions` (see the class docstring).

        Raises:
            NotFoundError, ConditionNotMetError (412), BatchServiceError,
            BatchConnectionError: failures.
        """
        await self._send(protocol.task_delete(job_id, task_id, options), options)

    async def terminate(
        self, job_id: str, task_id: str, **options: Unpack[ConditionalOptions]
    ) -> None:
        """Terminate a task (POST .../tasks/{task_id}/terminate, 204); it becomes `completed`.

        Retried on transient failures; a retry after a terminate that did happen answers
        `409 TaskCompleted` (`ConflictError`), raised as is.

        Args:
            job_id: the job.
            task_id: the task.
            **options: `ConditionalOptions` (see the class docstring).

        Raises:
            ConflictError: e.g. `TaskCompleted`.
            NotFoundError, ConditionNotMetError (412), BatchServiceError,
            BatchConnectionError: other failures.
        """
        await self._send(protocol.task_terminate(job_id, task_id, options), options)

    async def reactivate(
        self, job_id: str, task_id: str, **options: Unpack[ConditionalOptions]
    ) -> None:
        """Reactivate a completed, failed task (POST .../tasks/{task_id}/reactivate, 204).

        The task becomes `active` again with its retry count reset. Retried on transient
        failures; a retry after a reactivate that did happen answers `409 TaskNotCompleted`.

        Args:
            job_id: the job.
            task_id: the task.
            **options: `ConditionalOptions` (see the class docstring).

        Raises:
            ConflictError: `TaskNotCompleted`, `TaskSucceeded`, `JobCompleted`, ...
            NotFoundError, ConditionNotMetError (412), BatchServiceError,
            BatchConnectionError: other failures.
        """
        await self._send(protocol.task_reactivate(job_id, task_id, options), options)


class TaskOperationsWithRawResponse:
    """`client.tasks.with_raw_response`: each operation returns a `RawResponse[T]`.

    Same parameters as on `TaskOperations` (the signatures are taken from there, not repeated).
    """

    def __init__(self, tasks: TaskOperations) -> None:
        self.add = raw_response_wrapper(tasks.add)
        self.get = raw_response_wrapper(tasks.get)
        self.update = raw_response_wrapper(tasks.update)
        self.delete = raw_response_wrapper(tasks.delete)
        self.terminate = raw_response_wrapper(tasks.terminate)
        self.reactivate = raw_response_wrapper(tasks.reactivate)
