"""A fake job for the waiting unit tests: tasks finish at given simulated times.

`FakeJob` is a `TaskSource`: it answers task counts, filtered lists (the structured
`TaskQuery`, paged) and gets from a timeline on a fake clock that only `sleep` moves. A task
becomes visible as completed `visible_lag` seconds after its `stateTransitionTime` (an
eventually consistent list), and the counts can lag behind the list by `counts_lag` seconds.
Every call is counted, and faults can be queued.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from batchtasks import NotFoundError
from batchtasks._private.wait_query import TaskQuery
from batchtasks.models import CloudTask, TaskCounts, TaskState

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass
class FakeTask:
    id: str
    start: float  # becomes running
    finish: float  # becomes completed (its stateTransitionTime)
    exit_code: int = 0
    visible_lag: float = 0.0


@dataclass
class FakeJob:
    tasks: list[FakeTask]
    counts_lag: float = 0.0
    page_size: int = 3
    now: float = 0.0
    calls: dict[str, int] = field(default_factory=lambda: {"counts": 0, "list": 0, "get": 0})
    faults: list[BaseException] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.now += seconds

    def clock(self) -> float:
        return self.now

    def _fault(self) -> None:
        if self.faults:
            raise self.faults.pop(0)

    def _state(self, task: FakeTask, at: float, *, listing: bool) -> tuple[TaskState, float]:
        lag = task.visible_lag if listing else 0.0
        if at >= task.finish + lag:
            return TaskState.COMPLETED, task.finish
        if at >= task.start:
            return TaskState.RUNNING, task.start
        return TaskState.ACTIVE, 0.0

    def _model(self, task: FakeTask, state: TaskState, stamp: float) -> CloudTask:
        wire: dict[str, object] = {
            "id": task.id,
            "state": state.value,
            "stateTransitionTime": (EPOCH + timedelta(seconds=stamp)).isoformat(),
        }
        if state == TaskState.COMPLETED:
            wire["executionInfo"] = {
                "exitCode": task.exit_code,
                "result": "success" if task.exit_code == 0 else "failure",
            }
        return CloudTask.from_wire(wire)

    async def task_counts(self) -> TaskCounts:
        self.calls["counts"] += 1
        self._fault()
        at = self.now - self.counts_lag
        states = [self._state(t, at, listing=False)[0] for t in self.tasks]
        done = [t for t in self.tasks if self._state(t, at, listing=False)[0] == "completed"]
        return TaskCounts(
            active=states.count(TaskState.ACTIVE),
            running=states.count(TaskState.RUNNING),
            completed=len(done),
            succeeded=sum(t.exit_code == 0 for t in done),
            failed=sum(t.exit_code != 0 for t in done),
        )

    async def list_tasks(
        self, query: TaskQuery, *, max_results: int | None = None
    ) -> AsyncIterator[CloudTask]:
        self.odata = query.to_odata()  # every query must render
        matches = []
        for task in sorted(self.tasks, key=lambda t: t.id):
            state, stamp = self._state(task, self.now, listing=True)
            if state not in query.states:
                continue
            if query.ids and task.id.lower() not in {i.lower() for i in query.ids}:
                continue
            when = EPOCH + timedelta(seconds=stamp)
            if query.since is not None and when < query.since:
                continue
            matches.append(self._model(task, state, stamp))
        size = max_results or self.page_size
        for start in range(0, max(len(matches), 1), size):
            self.calls["list"] += 1
            self._fault()
            for item in matches[start : start + size]:
                yield item

    async def get_task(self, task_id: str) -> CloudTask:
        self.calls["get"] += 1
        self._fault()
        for task in self.tasks:
            if task.id.lower() == task_id.lower():
                return self._model(task, *self._state(task, self.now, listing=True))
        raise NotFoundError(
            status=404, code="TaskNotFound", message="The specified task does not exist."
        )
