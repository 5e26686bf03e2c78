"""``client.tasks.watch`` / ``wait`` wiring: their options (`WaitOptions`, written once) and the
`TaskSource` made of the client's own operations.

The algorithm is in waiting.py; this module only turns keyword options into `WatchSettings` and
the three reads (task counts, filtered list, get) into calls of `JobOperations`/`TaskOperations`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from typing_extensions import Unpack

from batchtasks._private.jobs import JobOperations
from batchtasks._private.options import CallOptions
from batchtasks._private.pipeline import Pipeline
from batchtasks._private.retry import RetryPolicy
from batchtasks._private.wait_query import TaskQuery, merge_select
from batchtasks._private.wait_summary import WaitSummary
from batchtasks._private.waiting import TaskWatch, WatchSettings
from batchtasks.models import CloudTask, TaskCounts, TaskState

if TYPE_CHECKING:
    from batchtasks._private.tasks import TaskOperations

__all__ = ["DEFAULT_SELECT", "WaitOptions", "WaitingMixin", "start_watch"]

#: What a watched task carries unless `select` says otherwise: enough to report outcomes.
DEFAULT_SELECT = "id,displayName,state,stateTransitionTime,executionInfo"


class WaitOptions(CallOptions, total=False):
    """The keyword options of ``tasks.watch`` and ``tasks.wait`` (defaults in brackets).

    Attributes:
        task_ids: watch only these tasks [every task of the job].
        filter: an OData `$filter` ANDed to every list query, e.g. ``startswith(id,'part-')``.
        until: the `TaskState` to wait for [COMPLETED]; RUNNING also yields tasks that
            already completed.
        select: the `$select` of the yielded tasks (`id`, `state`, `stateTransitionTime` are
            always added) [id, displayName, state, stateTransitionTime, executionInfo].
        poll_interval: seconds between polls while tasks change [1.0].
        max_poll_interval: the longest pause while nothing changes (backoff x1.5) [30.0].
        timeout: seconds for the whole wait; then `WaitTimeoutError` with the summary so far
            [None: no limit]. (Not the server-side `timeout` of each request.)
        (and the `CallOptions` `retry_policy`, `client_timeout`, `custom_headers`, applied to
        every request.)
    """

    task_ids: Iterable[str] | None
    filter: str | None
    until: TaskState | str
    select: str | None
    poll_interval: float
    max_poll_interval: float
    timeout: float | None


_SEND_NAMES = tuple(CallOptions.__optional_keys__)


class ClientTaskSource:
    """The reads of a watch, sent through the client (same retry policy, same logging)."""

    def __init__(
        self,
        jobs: JobOperations,
        tasks: TaskOperations,
        job_id: str,
        select: str,
        send: Mapping[str, Any],
    ) -> None:
        self._jobs = jobs
        self._tasks = tasks
        self._job_id = job_id
        self._select = select
        self._send = dict(send)

    async def task_counts(self) -> TaskCounts:
        result = await self._jobs.get_task_counts(self._job_id, **self._send)
        return result.task_counts

    def list_tasks(
        self, query: TaskQuery, *, max_results: int | None = None
    ) -> AsyncIterator[CloudTask]:
        return self._tasks.list(
            self._job_id,
            filter=query.to_odata(),
            select=self._select,
            max_results=max_results,
            **self._send,
        ).__aiter__()

    async def get_task(self, task_id: str) -> CloudTask:
        task = await self._tasks.get(self._job_id, task_id, select=self._select, **self._send)
        assert isinstance(task, CloudTask)
        return task


def start_watch(
    jobs: JobOperations,
    tasks: TaskOperations,
    job_id: str,
    options: Mapping[str, Any],
    default_policy: RetryPolicy,
) -> TaskWatch:
    """A `TaskWatch` for `options` (a `WaitOptions` mapping); nothing is sent yet.

    Raises:
        TypeError: an unknown option.
        ValueError: a bad option value (intervals, timeout, task_ids, until).
    """
    unknown = set(options) - set(WaitOptions.__optional_keys__)
    if unknown:
        raise TypeError(f"unexpected keyword argument {sorted(unknown)[0]!r}")
    if not isinstance(job_id, str) or not job_id:
        raise ValueError("job_id must be a non-empty string")
    ids = options.get("task_ids")
    if isinstance(ids, str):
        raise ValueError("task_ids must be a collection of ids, not one string")
    settings = WatchSettings(
        task_ids=None if ids is None else tuple(ids),
        filter=options.get("filter"),
        until=TaskState(options.get("until", TaskState.COMPLETED)),
        poll_interval=options.get("poll_interval", 1.0),
        max_poll_interval=options.get("max_poll_interval", 30.0),
        timeout=options.get("timeout"),
    )
    send = {name: options[name] for name in _SEND_NAMES if options.get(name) is not None}
    select = merge_select(options.get("select") or DEFAULT_SELECT)
    source = ClientTaskSource(jobs, tasks, job_id, select, send)
    return TaskWatch(source, job_id, settings, send.get("retry_policy") or default_policy)


class WaitingMixin:
    """``watch`` and ``wait`` of `TaskOperations` (kept here so tasks.py stays small)."""

    _pipeline: Pipeline

    def watch(self, job_id: str, **options: Unpack[WaitOptions]) -> TaskWatch:
        """Yield each task of a job once, as it reaches `until` (like `asyncio.as_completed`).

        ``async for task in client.tasks.watch(job_id): ...``. Polls cost what changed, not the
        job's size: task counts first, then only the tasks that moved (docs/waiting.md).

        Args:
            job_id: the job.
            **options: `WaitOptions` (task_ids, filter, until, select, poll_interval,
                max_poll_interval, timeout, and the `CallOptions` for every request).

        Returns:
            A `TaskWatch` (async iterator of `CloudTask`; `.summary`; `async with` closes it).

        Raises:
            TypeError, ValueError: bad options (at call time).
            WaitTimeoutError, NotFoundError, BatchTasksError: during iteration.
        """
        jobs = JobOperations(self._pipeline)
        tasks = cast("TaskOperations", self)
        return start_watch(jobs, tasks, job_id, options, self._pipeline.retry_policy)

    async def wait(self, job_id: str, **options: Unpack[WaitOptions]) -> WaitSummary:
        """Wait until the job's tasks (or `task_ids`, or `filter`'s) reach `until`.

        Args:
            job_id: the job.
            **options: `WaitOptions`, as for `watch`.

        Returns:
            A `WaitSummary`: counts, failed tasks with exit codes and failure info.

        Raises:
            WaitTimeoutError: `timeout` passed; `.summary` holds what was seen so far.
            NotFoundError: the job, or a named task, does not exist.
            BatchTasksError: a poll failed for good.
        """
        return await self.watch(job_id, **options).wait()
