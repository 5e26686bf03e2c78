"""JobOperations: enough of the Job API to create the jobs tasks go into (`client.jobs`).

add, get, delete and list, with the same keyword options as `TaskOperations`. Thin like it:
build -> send -> decode. Must not import aiohttp or build URLs/headers by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, overload

from batchtasks._private import protocol
from batchtasks._private.operations import OperationsBase, coerce_model
from batchtasks._private.paging import AsyncPager
from batchtasks._private.pipeline import RetryMode
from batchtasks._private.protocol import RequestOptions
from batchtasks._private.responses import RawResponse
from batchtasks._private.retry import RetryPolicy
from batchtasks._private.transport import Timeout
from batchtasks.models import CloudJob, JobAddParameter, TaskCountsResult

__all__ = ["JobOperations"]


class JobOperations(OperationsBase):
    """Job operations (`client.jobs`; a subset of the official `client.job`).

    Keyword arguments are those of `TaskOperations` (see its class docstring): `timeout`,
    `client_request_id`, `return_client_request_id`, `ocp_date`, `custom_headers`,
    `retry_policy`, `client_timeout`, `raw`, and on get/delete the conditional headers.
    """

    @overload
    async def add(
        self,
        job: JobAddParameter | Mapping[str, Any],
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
        job: JobAddParameter | Mapping[str, Any],
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
        job: JobAddParameter | Mapping[str, Any],
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
        """Create a job (POST /jobs, 201).

        Like `TaskOperations.add`: retried after an unknown outcome, and a `409 JobExists`
        answering such a retry raises `AlreadyExistsError` with `after_unknown_outcome=True`.

        Args:
            job: a `JobAddParameter` (or a mapping of its fields); needs `id` and `pool_info`.

        Returns:
            None, or a `RawResponse[None]` with `raw=True`.

        Raises:
            TaskValidationError: `job` is invalid (nothing sent).
            AlreadyExistsError: the job id exists.
            BatchServiceError, BatchConnectionError: other failures.
        """
        param = coerce_model(JobAddParameter, job, what="job")
        opts = RequestOptions(
            timeout=timeout,
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
            custom_headers=custom_headers,
        )
        request = protocol.job_add(param.to_json_bytes(), opts)
        return await self._send_none(
            request,
            raw=raw,
            retry_policy=retry_policy,
            client_timeout=client_timeout,
            mode=RetryMode.DETECT_EXISTS,
        )

    @overload
    async def get(
        self,
        job_id: str,
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
    ) -> CloudJob: ...

    @overload
    async def get(
        self,
        job_id: str,
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
    ) -> RawResponse[CloudJob]: ...

    async def get(
        self,
        job_id: str,
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
    ) -> CloudJob | RawResponse[CloudJob]:
        """Get a job (GET /jobs/{job_id}, 200).

        Args:
            job_id: the job.
            select: OData `$select`.
            expand: OData `$expand`.

        Returns:
            The `CloudJob`, or a `RawResponse[CloudJob]` with `raw=True`.

        Raises:
            NotFoundError: no such job.
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
        request = protocol.job_get(job_id, opts, select=select, expand=expand)
        return await self._send_model(
            request, CloudJob, raw=raw, retry_policy=retry_policy, client_timeout=client_timeout
        )

    @overload
    async def delete(
        self,
        job_id: str,
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
        """Delete a job and its tasks (DELETE /jobs/{job_id}, 202; the job goes to `deleting`).

        Args:
            job_id: the job.

        Returns:
            None, or a `RawResponse[None]` with `raw=True`.

        Raises:
            NotFoundError, ConflictError (`JobBeingDeleted`), ConditionNotMetError (412),
            BatchServiceError, BatchConnectionError: failures.
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
        request = protocol.job_delete(job_id, opts)
        return await self._send_none(
            request, raw=raw, retry_policy=retry_policy, client_timeout=client_timeout
        )

    async def get_task_counts(
        self,
        job_id: str,
        *,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | str | None = None,
        custom_headers: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        client_timeout: Timeout | None = None,
    ) -> TaskCountsResult:
        """Count a job's tasks by state and result (GET /jobs/{job_id}/taskcounts, 200).

        The service's counts may lag behind a list query for a short time.

        Returns:
            The `TaskCountsResult` (`task_counts`, `task_slot_counts`).

        Raises:
            NotFoundError: no such job.
            BatchServiceError, BatchConnectionError: other failures.
        """
        opts = RequestOptions(
            timeout=timeout,
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
            custom_headers=custom_headers,
        )
        request = protocol.job_get_task_counts(job_id, opts)
        result = await self._send_model(
            request,
            TaskCountsResult,
            raw=False,
            retry_policy=retry_policy,
            client_timeout=client_timeout,
        )
        assert isinstance(result, TaskCountsResult)
        return result

    def list(
        self,
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
    ) -> AsyncPager[CloudJob]:
        """List the account's jobs (GET /jobs, 200), following `odata.nextLink` lazily.

        Args:
            filter: OData `$filter`.
            select: OData `$select`.
            expand: OData `$expand`.
            max_results: page size, 1-1000.

        Returns:
            An `AsyncPager[CloudJob]`.

        Raises:
            ValueError: `max_results` out of range (at call time).
        """
        opts = RequestOptions(
            timeout=timeout,
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
            custom_headers=custom_headers,
        )
        first = protocol.job_list(
            opts, filter=filter, select=select, expand=expand, max_results=max_results
        )
        return self._pager(
            first, CloudJob, retry_policy=retry_policy, client_timeout=client_timeout
        )
