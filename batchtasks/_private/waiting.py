"""Waiting for tasks: `TaskWatch`, the poll loop behind ``client.tasks.watch`` and ``wait``.

Cost follows what changed, not the job's size. Each poll:

1. asks for the job's task counts (one small request). When they equal the last poll's, nothing
   is listed and the interval grows (x1.5 up to `max_poll_interval`); a change resets it.
2. when the counts moved, lists only tasks that reached the state *since the last listing*:
   ``state eq 'completed' and stateTransitionTime ge datetime'W - lookback'`` with a small
   ``$select``. ``ge`` (not ``gt``) and the look-back keep tasks that share a timestamp, whose
   7th fractional digit Python truncates, or that became visible late; the ids already yielded
   make every task come out exactly once. W only advances after a whole listing succeeded.
3. ends when nothing is left: the named ids are all seen, or the counts say the job has no
   unfinished task and a one-item list of unfinished tasks confirms it (counts may lag, the
   Batch docs say). If the counts promise more tasks than were seen, one full listing of the
   reached tasks reconciles before ending; a named id that never shows up is looked up with a
   GET, so a missing task raises `NotFoundError` instead of waiting forever.

Counts are a hint only: even when they do not move, a listing runs at least every
`QUIET_RELIST` x `max_poll_interval`. Requests go through the client's retry policy (429
``Retry-After``, 5xx, dropped connections); a poll that still fails with a retryable error is
retried after a backoff, up to the policy's `max_attempts` polls in a row. Nothing runs between
two `__anext__` calls, so cancelling or closing the watch leaves no request behind.

Must not build requests (the `TaskSource` does) nor know aiohttp.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol, TypeVar

from batchtasks._private.errors import BatchTasksError
from batchtasks._private.retry import RetryPolicy
from batchtasks._private.wait_query import TaskQuery, reached_states, unreached_states
from batchtasks._private.wait_summary import SummaryBuilder, WaitSummary, WaitTimeoutError
from batchtasks.models import CloudTask, TaskCounts, TaskState

__all__ = ["TaskSource", "TaskWatch", "WatchSettings"]

T = TypeVar("T")

#: While the counts stand still, a listing still runs every this many `max_poll_interval`s (a
#: safety net: counts may lag, and changes can cancel out in them).
QUIET_RELIST = 10

#: Ids per ``id eq`` clause group (the filter stays short for the service's limits).
IDS_PER_QUERY = 20


class TaskSource(Protocol):
    """The three reads a watch needs (the client's operations, or a fake in tests)."""

    async def task_counts(self) -> TaskCounts: ...

    def list_tasks(
        self, query: TaskQuery, *, max_results: int | None = None
    ) -> AsyncIterator[CloudTask]: ...

    async def get_task(self, task_id: str) -> CloudTask: ...


@dataclass(frozen=True)
class WatchSettings:
    """What to watch and how often (validated on construction).

    Attributes:
        task_ids: only these tasks (None: every task of the job, or of `filter`).
        filter: an OData filter ANDed to every list query.
        until: the state to wait for.
        poll_interval: seconds between polls while things change.
        max_poll_interval: the longest wait between polls while nothing changes.
        timeout: seconds for the whole watch (None: no limit).
        lookback: seconds of ``stateTransitionTime`` re-read before the last listing's newest.
    """

    task_ids: tuple[str, ...] | None = None
    filter: str | None = None
    until: TaskState = TaskState.COMPLETED
    poll_interval: float = 1.0
    max_poll_interval: float = 30.0
    timeout: float | None = None
    lookback: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.poll_interval <= self.max_poll_interval:
            raise ValueError("need 0 < poll_interval <= max_poll_interval")
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError("timeout must be positive (or None)")
        if self.lookback < 0:
            raise ValueError("lookback must not be negative")
        named = self.task_ids
        if named is not None and (
            isinstance(named, str) or not all(isinstance(i, str) and i for i in named)
        ):
            raise ValueError("task_ids must be a collection of non-empty strings")
        object.__setattr__(self, "until", TaskState(self.until))


class TaskWatch:
    """Async iterator of tasks as they reach a state; each task is yielded exactly once.

    Use ``async for task in watch`` (or ``async with watch: ...`` to close it early and
    promptly). `summary` is the `WaitSummary` so far at any time.

    Raises (from iteration):
        WaitTimeoutError: the timeout passed; carries the summary so far.
        NotFoundError: the job, or a named task, does not exist.
        BatchTasksError: a poll failed for good.
    """

    def __init__(
        self,
        source: TaskSource,
        job_id: str,
        settings: WatchSettings,
        retry_policy: RetryPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._source = source
        self._settings = settings
        self._policy = retry_policy
        self._clock = clock
        self._sleep = sleep or asyncio.sleep
        self._builder = SummaryBuilder.for_ids(job_id, settings.until, settings.task_ids)
        self._started: float | None = None
        self._gen: AsyncGenerator[CloudTask, None] | None = None
        self._seen: set[str] = set()
        self._mark: datetime | None = None
        self._done = False

    @property
    def summary(self) -> WaitSummary:
        """What the watch has seen so far."""
        return self._builder.snapshot(self._elapsed())

    def _elapsed(self) -> float:
        return 0.0 if self._started is None else self._clock() - self._started

    def __aiter__(self) -> TaskWatch:
        return self

    async def __anext__(self) -> CloudTask:
        if self._gen is None:
            self._started = self._clock()
            self._gen = self._run()
        return await self._gen.__anext__()

    async def aclose(self) -> None:
        """Stop watching (nothing is left running)."""
        if self._gen is not None:
            await self._gen.aclose()

    async def __aenter__(self) -> TaskWatch:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def wait(self) -> WaitSummary:
        """Consume the watch to the end and return the summary."""
        async with self:
            async for _task in self:
                pass
        return self.summary

    # -- the loop -----------------------------------------------------------------------------

    async def _run(self) -> AsyncGenerator[CloudTask, None]:
        s = self._settings
        interval = s.poll_interval
        last: TaskCounts | None = None
        last_listing = float("-inf")
        failures = 0
        if s.task_ids is not None and not s.task_ids:
            return  # nothing named, nothing to wait for (and no request to make)
        while True:
            try:
                counts = await self._bounded(self._source.task_counts())
                self._builder.task_counts = counts
                moved = counts != last
                last = counts
                settled = self._settled(counts)
                new = 0
                if (
                    moved
                    or settled
                    or self._clock() - last_listing >= QUIET_RELIST * s.max_poll_interval
                ):
                    last_listing = self._clock()
                    async with aclosing(self._poll_once()) as polled:
                        async for task in polled:
                            new += 1
                            yield task
                    if self._worth_checking(settled, new):
                        self._done = False
                        async with aclosing(self._reconcile(counts)) as reconciled:
                            async for task in reconciled:
                                yield task
                        if self._done:
                            return
                failures = 0
            except BatchTasksError as exc:
                failures += 1
                if not self._policy.is_retryable(exc) or failures >= self._policy.max_attempts:
                    raise
                await self._pause(self._policy.delay(failures, getattr(exc, "retry_after", None)))
                continue
            interval = s.poll_interval if moved or new else min(interval * 1.5, s.max_poll_interval)
            await self._pause(interval)

    def _settled(self, counts: TaskCounts) -> bool:
        """Whether the counts say no task of the job is before `until` (a hint: may lag)."""
        until = self._settings.until
        if until == TaskState.COMPLETED:
            return counts.active + counts.running == 0
        return until == TaskState.ACTIVE or counts.active == 0

    def _queries(
        self, states: tuple[TaskState, ...], since: datetime | None, ids: Iterable[str] = ()
    ) -> list[TaskQuery]:
        wanted = list(ids)
        chunks = [
            tuple(wanted[i : i + IDS_PER_QUERY]) for i in range(0, len(wanted), IDS_PER_QUERY)
        ]
        return [TaskQuery(states, since, c, self._settings.filter) for c in chunks or [()]]

    def _named_pending(self) -> list[str]:
        """Pending named ids, if few enough to name in the filter (else filtered client-side)."""
        keys = self._builder.pending_keys
        return keys if self._settings.task_ids is not None and len(keys) <= IDS_PER_QUERY else []

    async def _poll_once(self) -> AsyncGenerator[CloudTask, None]:
        """List tasks that reached the state since the last listing; yield the unseen ones."""
        named = self._named_pending()
        since = None
        if self._mark is not None and not named:
            # (A few named ids are asked for by id, without a time bound: nothing can slip by.)
            since = self._mark - timedelta(seconds=self._settings.lookback)
        newest = self._mark
        states = reached_states(self._settings.until)
        for query in self._queries(states, since, named):
            async with aclosing(self._iterate(query)) as items:
                async for task in items:
                    stamp = task.state_transition_time
                    if stamp is not None and (newest is None or stamp > newest):
                        newest = stamp
                    if self._accept(task):
                        yield task
        self._mark = newest

    def _accept(self, task: CloudTask) -> bool:
        if task.id is None or task.state not in reached_states(self._settings.until):
            return False
        key = task.id.lower()
        ids = self._builder.task_ids
        if key in self._seen or (ids is not None and key not in ids):
            return False
        self._seen.add(key)
        self._builder.record(task)
        return True

    def _worth_checking(self, settled: bool, new: int) -> bool:
        """Whether the end may have come (the counts say so, or the named ids are all seen)."""
        if self._settings.task_ids is not None:
            return not self._builder.pending_keys or settled
        return settled or (self._settings.filter is not None and new > 0)

    async def _reconcile(self, counts: TaskCounts) -> AsyncGenerator[CloudTask, None]:
        """Make sure of the end; yield what a time-filtered listing could not have returned.

        With named ids: list the pending ones without a time filter, then GET the first one
        still pending (a 404 raises; otherwise the counts lag and the watch goes on). Else: one
        list request of one unfinished task; when there is none, the watch ends here, after a
        full listing of the reached tasks if the counts promise more than were seen (always
        with a filter, whose tasks the counts cannot tell apart).
        """
        states = reached_states(self._settings.until)
        if self._settings.task_ids is not None:
            pending = self._builder.pending_keys
            for query in self._queries(states, None, pending) if pending else []:
                async with aclosing(self._iterate(query)) as items:
                    async for task in items:
                        if self._accept(task):
                            yield task
            for key in self._builder.pending_keys[:1]:
                task = await self._bounded(self._source.get_task(self._original(key)))
                if self._accept(task):
                    yield task
            self._done = not self._builder.pending_keys
            return
        for query in self._queries(unreached_states(self._settings.until), None):
            async with aclosing(self._iterate(query, max_results=1)) as items:
                async for _task in items:
                    return  # something is still on its way: the counts lag
        promised = sum(getattr(counts, s.value, 0) for s in states if s != TaskState.PREPARING)
        if self._settings.filter is not None or len(self._seen) < promised:
            for query in self._queries(states, None):
                async with aclosing(self._iterate(query)) as items:
                    async for task in items:
                        if self._accept(task):
                            yield task
        self._done = True

    def _original(self, key: str) -> str:
        assert self._settings.task_ids is not None
        return next(i for i in self._settings.task_ids if i.lower() == key)

    # -- time -----------------------------------------------------------------------------

    def _remaining(self) -> float | None:
        if self._settings.timeout is None:
            return None
        return self._settings.timeout - self._elapsed()

    def _timed_out(self) -> WaitTimeoutError:
        assert self._settings.timeout is not None
        return WaitTimeoutError(self.summary, self._settings.timeout)

    async def _bounded(self, awaitable: Awaitable[T]) -> T:
        left = self._remaining()
        if left is None:
            return await awaitable
        if left <= 0:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise self._timed_out()
        try:
            return await asyncio.wait_for(awaitable, left)
        except asyncio.TimeoutError:
            raise self._timed_out() from None

    async def _iterate(
        self, query: TaskQuery, *, max_results: int | None = None
    ) -> AsyncGenerator[CloudTask, None]:
        """The tasks of one list query, page by page, each page within the timeout."""
        items = self._source.list_tasks(query, max_results=max_results)
        while True:
            try:
                item = await self._bounded(items.__anext__())
            except StopAsyncIteration:
                return
            yield item

    async def _pause(self, seconds: float) -> None:
        left = self._remaining()
        if left is not None:
            if left <= 0:
                raise self._timed_out()
            seconds = min(seconds, left)
        await self._sleep(seconds)
