"""JobOperations: enough of the Job API to create the jobs tasks go into (`client.jobs`).

add, get, delete and list, with the same keyword options as `TaskOperations` (options.py) and
the same `with_raw_response` view. Thin like it: build -> send -> decode. Must not import
aiohttp or build URLs/headers by hand.
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
from batchtasks.models import CloudJob, JobAddParameter, TaskCountsResult

__all__ = ["JobOperations", "JobOperationsWithRawResponse"]


class JobOperations(OperationsBase):
    """Job operations (`client.jobs`; a subset of the official `client.job`).

    Keyword options are those of `TaskOperations` (see its class docstring): `RequestOptions`
    on every method, plus the conditional headers (`ConditionalOptions`) on delete, and
    `GetOptions` on get, `ListOptions` on list.
    `jobs.with_raw_response.add/get/delete(...)` return a `RawResponse[T]`.
    """

    @functools.cached_property
    def with_raw_response(self) -> JobOperationsWithRawResponse:
        """The same operations, returning `RawResponse[T]` instead of `T`."""
        return JobOperationsWithRawResponse(self)

    async def add(
        self, job: JobAddParameter | Mapping[str, Any], **options: Unpack[RequestOptions]
    ) -> None:
        """Create a job (POST /jobs, 201).

        Like `TaskOperations.add`: retried after an unknown outcome, and a `409 JobExists`
        answering such a retry raises `AlreadyExistsError` with `after_unknown_outcome=True`.

        Args:
            job: a `JobAddParameter` (or a mapping of its fields); needs `id` and `pool_info`.
            **options: `RequestOptions`.

        Raises:
            TaskValidationError: `job` is invalid (nothing sent).
            AlreadyExistsError: the job id exists.
            BatchServiceError, BatchConnectionError: other failures.
        """
        param = coerce_model(JobAddParameter, job, what="job")
        request = protocol.job_add(self._check_version("job", param.to_json_bytes()), options)
        await self._send(request, options, mode=RetryMode.DETECT_EXISTS)

    async def get(self, job_id: str, **options: Unpack[GetOptions]) -> CloudJob:
        """Get a job (GET /jobs/{job_id}, 200).

        Args:
            job_id: the job.
            **options: `GetOptions` (`select`, `expand` and the conditional headers).

        Returns:
            The `CloudJob` (`with_raw_response.get`: a `RawResponse[CloudJob]`).

        Raises:
            NotFoundError: no such job.
            ConditionNotMetError: a conditional header failed (304).
            BatchServiceError, BatchConnectionError: other failures.
        """
        request = protocol.job_get(job_id, options)
        return await self._send_model(request, CloudJob, options)

    async def delete(self, job_id: str, **options: Unpack[ConditionalOptions]) -> None:
        """Delete a job and its tasks (DELETE /jobs/{job_id}, 202; the job goes to `deleting`).

        Args:
            job_id: the job.
            **options: `ConditionalOptions`.

        Raises:
            NotFoundError, ConflictError (`JobBeingDeleted`), ConditionNotMetError (412),
            BatchServiceError, BatchConnectionError: failures.
        """
        await self._send(protocol.job_delete(job_id, options), options)

    async def get_task_counts(
        self, job_id: str, **options: Unpack[RequestOptions]
    ) -> TaskCountsResult:
        """Count a job's tasks by state and result (GET /jobs/{job_id}/taskcounts, 200).

        The service's counts may lag behind a list query for a short time.

        Args:
            job_id: the job.
            **options: `RequestOptions`.

        Returns:
            The `TaskCountsResult` (`task_counts`, `task_slot_counts`).

        Raises:
            NotFoundError: no such job.
            BatchServiceError, BatchConnectionError: other failures.
        """
        request = protocol.job_get_task_counts(job_id, options)
        return await self._send_model(request, TaskCountsResult, options)

    def list(self, **options: Unpack[ListOptions]) -> AsyncPager[CloudJob]:
        """List the account's jobs (GET /jobs, 200), following `odata.nextLink` lazily.

        Args:
            **options: `ListOptions` (`filter`, `select`, `expand`, `max_results`).

        Returns:
            An `AsyncPager[CloudJob]`.

        Raises:
            ValueError: `max_results` out of range (at call time).
        """
        return self._pager(protocol.job_list(options), CloudJob, options)


class JobOperationsWithRawResponse:
    """`client.jobs.with_raw_response`: each operation returns a `RawResponse[T]`."""

    def __init__(self, jobs: JobOperations) -> None:
        self.add = raw_response_wrapper(jobs.add)
        self.get = raw_response_wrapper(jobs.get)
        self.delete = raw_response_wrapper(jobs.delete)
        self.get_task_counts = raw_response_wrapper(jobs.get_task_counts)
