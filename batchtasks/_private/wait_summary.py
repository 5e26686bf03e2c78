"""What a wait saw: `WaitSummary`, the `TaskFailure`s in it, and `WaitTimeoutError`.

`SummaryBuilder` records every task a watch yields and the job's last task counts, and makes
an immutable `WaitSummary` at any moment (the end of a wait, or a timeout). Must not do I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from batchtasks._private.errors import BatchTasksError
from batchtasks.models import (
    CloudTask,
    TaskCounts,
    TaskExecutionResult,
    TaskFailureInformation,
    TaskState,
)

__all__ = ["SummaryBuilder", "TaskFailure", "WaitSummary", "WaitTimeoutError"]


@dataclass(frozen=True)
class TaskFailure:
    """A task that completed with result ``failure``.

    Attributes:
        task_id: the task.
        exit_code: its process exit code (None when it never ran, e.g. terminated or timed out).
        failure_info: the service's failure category, code and message (None if not given).
    """

    task_id: str
    exit_code: int | None
    failure_info: TaskFailureInformation | None

    def describe(self) -> str:
        """One line for people: ``t7: exit code 3 (FailureExitCode: ...)``."""
        parts = [f"{self.task_id}: exit code {self.exit_code}"]
        info = self.failure_info
        if info is not None and (info.code or info.message):
            parts.append(f"({': '.join(p for p in (info.code, info.message) if p)})")
        return " ".join(parts)


@dataclass(frozen=True)
class WaitSummary:
    """The outcome of `TaskOperations.wait` (or the state of a watch so far).

    Attributes:
        job_id: the job.
        until: the state the wait waited for.
        reached: tasks that reached `until` (each counted once).
        succeeded: of those, tasks completed with result ``success``.
        failed: of those, tasks completed with result ``failure``.
        failures: the failed tasks, in the order they were seen.
        pending_task_ids: with ``task_ids=``, the ones that have not reached `until` (sorted);
            None when the wait covered the whole job or a filter.
        task_counts: the job's task counts at the last poll (None before the first).
        elapsed: seconds the wait has run.
    """

    job_id: str
    until: TaskState
    reached: int
    succeeded: int
    failed: int
    failures: tuple[TaskFailure, ...]
    pending_task_ids: tuple[str, ...] | None
    task_counts: TaskCounts | None
    elapsed: float

    @property
    def ok(self) -> bool:
        """True when no task failed and none of the named tasks is pending."""
        return self.failed == 0 and not self.pending_task_ids

    def describe(self) -> str:
        """A short human-readable report (one line, then one line per failed task)."""
        head = (
            f"job {self.job_id}: {self.reached} task(s) {self.until.value}, "
            f"{self.succeeded} succeeded, {self.failed} failed"
        )
        if self.pending_task_ids:
            head += f", {len(self.pending_task_ids)} not yet {self.until.value}"
        return "\n".join([head, *(f"  {f.describe()}" for f in self.failures)])


class WaitTimeoutError(BatchTasksError):
    """A wait or watch ran out of time before every task reached its state.

    Attributes:
        summary: what had been seen when time ran out (a `WaitSummary`).
        timeout: the timeout in seconds.
    """

    def __init__(self, summary: WaitSummary, timeout: float) -> None:
        super().__init__(f"timed out after {timeout:g} s: {summary.describe()}")
        self.summary = summary
        self.timeout = timeout


@dataclass
class SummaryBuilder:
    """Mutable record of a running watch; `snapshot()` gives the `WaitSummary` so far."""

    job_id: str
    until: TaskState
    task_ids: frozenset[str] | None = None  # lower-cased keys
    reached: int = 0
    succeeded: int = 0
    failures: list[TaskFailure] = field(default_factory=list)
    task_counts: TaskCounts | None = None
    _pending: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_ids(cls, job_id: str, until: TaskState, ids: Iterable[str] | None) -> SummaryBuilder:
        """A builder; `ids` (when given) are the named tasks, kept as given for reporting."""
        builder = cls(job_id, until)
        if ids is not None:
            builder._pending = {i.lower(): i for i in ids}
            builder.task_ids = frozenset(builder._pending)
        return builder

    @property
    def pending_keys(self) -> list[str]:
        """Lower-cased ids of named tasks not yet reached."""
        return list(self._pending)

    def record(self, task: CloudTask) -> None:
        """Count a task that reached the state (called once per task)."""
        assert task.id is not None
        self._pending.pop(task.id.lower(), None)
        self.reached += 1
        info = task.execution_info
        if info is None or info.result is None:
            return
        if info.result == TaskExecutionResult.SUCCESS:
            self.succeeded += 1
        elif info.result == TaskExecutionResult.FAILURE:
            self.failures.append(TaskFailure(task.id, info.exit_code, info.failure_info))

    def snapshot(self, elapsed: float) -> WaitSummary:
        """The immutable summary as of now."""
        pending = None
        if self.task_ids is not None:
            pending = tuple(sorted(self._pending.values()))
        return WaitSummary(
            job_id=self.job_id,
            until=self.until,
            reached=self.reached,
            succeeded=self.succeeded,
            failed=len(self.failures),
            failures=tuple(self.failures),
            pending_task_ids=pending,
            task_counts=self.task_counts,
            elapsed=elapsed,
        )
