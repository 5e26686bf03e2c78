"""Task counts of a job (``Job_GetTaskCounts``): ``TaskCountsResult`` and its two parts.

Shaped like the REST spec's ``TaskCountsResult``/``TaskCounts``/``TaskSlotCounts`` and the
official SDK 14.2.0 models of the same names: every count is required. No I/O here.
"""

from __future__ import annotations

from batchtasks.models._base import BatchModel

__all__ = ["TaskCounts", "TaskCountsResult", "TaskSlotCounts"]


class TaskCounts(BatchModel):
    """Numbers of a job's tasks per state (``preparing`` counts as ``running``) and result.

    Attributes:
        active: tasks in the active state.
        running: tasks running or preparing.
        completed: tasks in the completed state.
        succeeded: completed tasks whose result is ``success``.
        failed: completed tasks whose result is ``failure``.
    """

    active: int
    running: int
    completed: int
    succeeded: int
    failed: int

    @property
    def total(self) -> int:
        """All counted tasks (active + running + completed)."""
        return self.active + self.running + self.completed


class TaskSlotCounts(BatchModel):
    """Task slots (each task's ``required_slots``) per state and result, like `TaskCounts`."""

    active: int
    running: int
    completed: int
    succeeded: int
    failed: int


class TaskCountsResult(BatchModel):
    """The answer of ``client.jobs.get_task_counts``.

    The service's counts may lag behind a list query for a short time (Azure Batch docs,
    "Monitor Batch solutions by counting tasks and nodes by state").
    """

    task_counts: TaskCounts
    task_slot_counts: TaskSlotCounts
