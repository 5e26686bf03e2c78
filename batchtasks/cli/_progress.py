"""Live progress of a bulk add (rich, on stderr) and the account of every task (`BulkSummary`).

`BulkReporter` is what the CLI hands to ``add_collection`` as ``on_result`` / ``on_progress``: it
counts every task's terminal outcome (so nothing needs collecting in memory), keeps the first
failures for the report, and drives the progress bar. Used by ``add-collection`` and ``demo``.

This module must not talk to the service; rich is imported only when a bar is drawn.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from typing_extensions import Self

from batchtasks.cli._render import require_rich, write_json, write_table

if TYPE_CHECKING:
    from batchtasks import BulkAddResult, BulkProgress, TaskAddOutcome

__all__ = [
    "MAX_FAILURE_DETAILS",
    "BulkReporter",
    "BulkSummary",
    "CheckView",
    "ProgressView",
    "StateView",
]

#: Failures listed one by one in the report; beyond this only counted.
MAX_FAILURE_DETAILS = 1000
_FAILURES_IN_TABLE = 20


@dataclass
class BulkSummary:
    """What happened to every task of one bulk add. All counts are tasks except `requests`.

    ``added + added_on_retry + already_existed + failed + unknown + not_attempted == tasks``.
    """

    job_id: str
    tasks: int = 0
    added: int = 0
    added_on_retry: int = 0
    already_existed: int = 0
    failed: int = 0
    unknown: int = 0
    not_attempted: int = 0
    retries: int = 0
    requests: int = 0
    wall_time: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)
    input_error: str | None = None
    stop_reason: str | None = None

    def apply_result(self, result: BulkAddResult) -> None:
        """Take the final, exact counters from a `BulkAddResult` (they win over the callbacks)."""
        counts = result.counts
        self.added = counts.get("added", 0)
        self.added_on_retry = counts.get("added_on_retry", 0)
        self.already_existed = counts.get("already_exists", 0)
        self.failed = counts.get("failed", 0)
        self.unknown = counts.get("unknown", 0)
        self.not_attempted = counts.get("not_attempted", 0)
        self.tasks = sum(counts.values())
        self.requests = result.requests
        self.retries = result.retries
        self.stop_reason = result.stop_reason

    @property
    def added_total(self) -> int:
        """Tasks now in the job: added, added on retry, or already there."""
        return self.added + self.added_on_retry + self.already_existed

    @property
    def unsuccessful(self) -> int:
        """Tasks not known to be in the job: failed, unknown or never attempted."""
        return self.failed + self.unknown + self.not_attempted

    @property
    def tasks_per_second(self) -> float:
        """Tasks accounted for per second of wall time."""
        return self.tasks / self.wall_time if self.wall_time > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """The machine-readable report (``--output json``)."""
        return {
            "jobId": self.job_id,
            "tasks": self.tasks,
            "added": self.added,
            "addedOnRetry": self.added_on_retry,
            "alreadyExisted": self.already_existed,
            "failed": self.failed,
            "unknown": self.unknown,
            "notAttempted": self.not_attempted,
            "retries": self.retries,
            "requests": self.requests,
            "wallTimeSeconds": round(self.wall_time, 3),
            "tasksPerSecond": round(self.tasks_per_second, 1),
            "failures": self.failures,
            "failuresListed": len(self.failures),
            "inputError": self.input_error,
            "stopReason": self.stop_reason,
        }

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) rows of the summary table."""
        rows = [
            ("tasks", f"{self.tasks:,}"),
            ("added", f"{self.added:,}"),
            ("added on retry", f"{self.added_on_retry:,}"),
        ]
        if self.already_existed:
            rows.append(("already existed", f"{self.already_existed:,}"))
        rows.append(("failed", f"{self.failed:,}"))
        if self.unknown:
            rows.append(("outcome unknown", f"{self.unknown:,}"))
        if self.not_attempted:
            rows.append(("not attempted", f"{self.not_attempted:,}"))
        rows += [
            ("retries", f"{self.retries:,}"),
            ("requests", f"{self.requests:,}"),
            ("wall time", f"{self.wall_time:.2f} s"),
            ("tasks/s", f"{self.tasks_per_second:,.0f}"),
        ]
        if self.stop_reason:
            rows.append(("stopped early", self.stop_reason))
        return rows

    def write(self, output: str, out: TextIO | None = None) -> None:
        """Print the summary (and the first failures) as tables or as one JSON document."""
        if output == "json":
            write_json(self.to_json(), out)
            return
        write_table(
            [{"": label, "value": value} for label, value in self.rows()],
            ["", "value"],
            title=f"bulk add to job {self.job_id}",
            out=out,
            show_header=False,
        )
        if self.failures:
            # Failed, unknown and not attempted alike: the title must not call them all failed.
            shown = self.failures[:_FAILURES_IN_TABLE]
            more = self.unsuccessful - len(shown)
            title = "tasks not added" + (
                f" (first {len(shown)}, {more:,} more)" if more > 0 else ""
            )
            write_table(
                shown,
                ["taskId", "outcome", "code", "message"],
                title=title,
                out=out,
                whole=("taskId", "outcome", "code"),
            )


class _LiveBar:
    """One rich progress bar on stderr with extra text columns (nothing when disabled)."""

    def __init__(
        self,
        total: int | None,
        description: str,
        columns: Sequence[str],
        fields: dict[str, Any],
        *,
        enabled: bool,
        stream: TextIO | None,
        counter: bool = True,
    ) -> None:
        self._progress: Any = None
        self._task_id: Any = None
        if not enabled:
            return
        rich = require_rich()
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = rich.progress.Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=16),
            *([MofNCompleteColumn()] if counter else []),
            *(TextColumn(column) for column in columns),
            TimeElapsedColumn(),
            console=rich.console.Console(file=stream or sys.stderr),
        )
        self._task_id = self._progress.add_task(description, total=total, **fields)

    def __enter__(self) -> Self:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _update(self, completed: int, **fields: Any) -> None:
        if self._progress is not None:
            self._progress.update(self._task_id, completed=completed, **fields)


class ProgressView(_LiveBar):
    """Bulk add progress: submitted / added / retried / failed and tasks per second.

    Args:
        total: how many tasks will be submitted, when known (an indeterminate bar otherwise).
        description: the label in front of the bar.
        enabled: False draws nothing (``--no-progress``).
        stream: where to draw (default: stderr).
    """

    def __init__(
        self,
        total: int | None,
        description: str,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        super().__init__(
            total,
            description,
            [
                "{task.fields[submitted]:,} sent",
                "[green]{task.fields[added]:,} added",
                "[yellow]{task.fields[retried]:,} retried",
                "[red]{task.fields[failed]:,} failed",
                "[magenta]{task.fields[other]}",
                "{task.fields[rate]:,.0f} tasks/s",
            ],
            {"submitted": 0, "added": 0, "retried": 0, "failed": 0, "other": "", "rate": 0.0},
            enabled=enabled,
            stream=stream,
            counter=False,
        )

    def update(self, summary: BulkSummary, *, submitted: int, rate: float) -> None:
        """Show the summary's counts, named as the report names them.

        Args:
            summary: the outcomes so far (failed, unknown and not attempted kept apart).
            submitted: tasks read from the input so far.
            rate: tasks with a final outcome per second.
        """
        others = [
            f"{count:,} {label}"
            for count, label in (
                (summary.unknown, "unknown"),
                (summary.not_attempted, "not attempted"),
            )
            if count
        ]
        self._update(
            summary.tasks,
            submitted=submitted,
            added=summary.added_total,
            retried=summary.retries,
            failed=summary.failed,
            other=", ".join(others),
            rate=rate,
        )


class StateView(_LiveBar):
    """Tasks running on the service: how many are active, running and completed.

    Args:
        total: the number of tasks in the job.
        description: the label in front of the bar.
        enabled: False draws nothing.
        stream: where to draw (default: stderr).
    """

    def __init__(
        self, total: int, description: str, *, enabled: bool = True, stream: TextIO | None = None
    ) -> None:
        super().__init__(
            total,
            description,
            [
                "{task.fields[n_active]:,} active",
                "[cyan]{task.fields[n_running]:,} running",
                "[green]{task.fields[n_completed]:,} completed",
            ],
            {"n_active": 0, "n_running": 0, "n_completed": 0},
            enabled=enabled,
            stream=stream,
        )

    def update(self, counts: Mapping[str, int]) -> None:
        """Show the latest count per state."""
        completed = counts.get("completed", 0)
        self._update(
            completed,
            n_active=counts.get("active", 0) + counts.get("preparing", 0),
            n_running=counts.get("running", 0),
            n_completed=completed,
        )


class BulkReporter:
    """``on_result`` / ``on_progress`` callbacks that fill a `BulkSummary` and a `ProgressView`.

    Args:
        summary: the summary to fill.
        view: the progress bar to drive (may be disabled).
    """

    def __init__(self, summary: BulkSummary, view: ProgressView) -> None:
        self.summary = summary
        self.view = view
        self._started = time.perf_counter()
        self._submitted = 0
        self._rate = 0.0

    def on_result(self, outcome: TaskAddOutcome) -> None:
        """Count one task's terminal outcome (a `TaskAddOutcome`)."""
        s = self.summary
        s.tasks += 1
        kind = str(outcome.outcome)
        if kind == "added":
            s.added += 1
            return
        if kind == "added_on_retry":
            s.added_on_retry += 1
            return
        if kind == "already_exists":
            s.already_existed += 1
            return
        if kind == "unknown":
            s.unknown += 1
        elif kind == "not_attempted":
            s.not_attempted += 1
        else:
            s.failed += 1
        if len(s.failures) < MAX_FAILURE_DETAILS:
            s.failures.append(
                {
                    "taskId": outcome.task_id,
                    "outcome": kind,
                    "code": outcome.error_code,
                    "message": _failure_message(outcome),
                    "attempts": outcome.attempts,
                }
            )

    def on_progress(self, progress: BulkProgress) -> None:
        """Take a `BulkProgress` snapshot: counters for the summary, numbers for the bar."""
        s = self.summary
        s.retries = progress.retried
        s.requests = progress.requests
        self._submitted = max(self._submitted, progress.submitted)
        self._rate = progress.tasks_per_second
        self.view.update(s, submitted=self._submitted, rate=self._rate)

    def finish(self) -> BulkSummary:
        """Record the wall time, show the final counts on the bar, and return the summary."""
        self.summary.wall_time = time.perf_counter() - self._started
        self._submitted = max(self._submitted, self.summary.tasks)
        self.view.update(self.summary, submitted=self._submitted, rate=self._rate)
        return self.summary


def _failure_message(outcome: TaskAddOutcome) -> str:
    error = outcome.result.error
    message = error.message.value if error is not None and error.message is not None else None
    text = message or outcome.reason or str(outcome.outcome)
    # The service appends "\nRequestId:...\nTime:..." to messages; the first line is the message.
    return str(text).splitlines()[0] if text else ""


class CheckView(_LiveBar):
    """Checking a task file before anything is sent: bytes read of the file, tasks checked.

    Args:
        size: the file's size in bytes.
        description: the label in front of the bar.
        enabled: False draws nothing.
        stream: where to draw (default: stderr).
    """

    def __init__(
        self, size: int, description: str, *, enabled: bool = True, stream: TextIO | None = None
    ) -> None:
        super().__init__(
            max(size, 1),
            description,
            ["{task.fields[tasks]:,} tasks checked", "{task.percentage:>3.0f}%"],
            {"tasks": 0},
            enabled=enabled,
            stream=stream,
            counter=False,
        )

    def update(self, position: int, tasks: int) -> None:
        """Show how far the check has read (`position` bytes) and how many tasks it checked."""
        self._update(position, tasks=tasks)
