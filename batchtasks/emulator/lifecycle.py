"""When tasks run: the lifecycle that moves tasks active → running → completed.

A background step starts eligible ``active`` tasks (their job is active, their ``dependsOn``
tasks completed and satisfy them, the runner has room) and applies the outcomes of finished runs
through the one state machine in `states` (retries, exit conditions, job actions). *How* a task
runs is a `Runner`'s business:

* `SimulatedRunner` (default): no processes. A simulated clock says when a task ends and its
  command line says how: ``exit N`` (last occurrence) → exit code N (default 0); ``sleep S`` → runs
  S simulated seconds (default `LifecycleConfig.task_seconds`). A run longer than its
  ``maxWallClockTime`` ends as a failure (``MaxWallClockTimeExceeded``, an emulator choice).
* ``execute.ProcessRunner`` (``--execute``): real processes on a pool of local virtual nodes;
  it wakes the step as soon as a process exits.

Like moto's Batch ``Job.run``, the runner only reports what happened; the states are decided
here and in `states`, so both paths follow the same rules. Must not do HTTP; runs its SQL on the
store's DB thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from . import simfiles
from .clock import SimClock, Wakeup
from .db import LIVE_INDEX
from .dependencies import dependencies_met
from .formats import iso7, parse_duration, parse_iso
from .nodefs import NodeFiles
from .states import (
    NODE_ID,
    Outcome,
    apply_job_action,
    begin_run,
    end_run,
    node_info,
    reactivate,
    requeue,
    terminate,
    transition,
    wall_clock_failure,
)
from .store import Store

__all__ = [
    "Lifecycle",
    "LifecycleConfig",
    "Runner",
    "SimClock",
    "SimulatedRunner",
    "node_info",
    "reactivate",
    "terminate",
    "transition",
]

logger = logging.getLogger("batchtasks.emulator")

_EXIT_RE = re.compile(r"\bexit\s+(-?\d+)")
_SLEEP_RE = re.compile(r"\bsleep\s+(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class LifecycleConfig:
    """How tasks are simulated.

    Attributes:
        run_tasks: whether tasks run at all (off: they stay ``active`` until terminated).
        task_seconds: simulated run time of a task without ``sleep N`` in its command line.
        tick_seconds: real seconds between two lifecycle steps.
        batch: at most this many tasks are moved per state per step.
        start_batch: active tasks looked at per step when a runner has limited room.
    """

    run_tasks: bool = False
    task_seconds: float = 1.0
    tick_seconds: float = 0.05
    batch: int = 500
    start_batch: int = 64


def exit_code_of(command_line: str) -> int:
    """The exit code a command line will produce in the emulator (``exit N``; default 0).

    Clamped to the 32-bit range the service reports: a longer number must not overflow the
    store's integer column (or int()'s digit limit) and stall every task's lifecycle.
    """
    found = _EXIT_RE.findall(command_line)
    if not found:
        return 0
    text = found[-1]
    if len(text.lstrip("-")) > 10:
        return _INT32_MIN if text.startswith("-") else _INT32_MAX
    return max(_INT32_MIN, min(int(text), _INT32_MAX))


_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1


def run_seconds_of(command_line: str, default: float) -> float:
    """Simulated run time of a command line (``sleep S``; else `default`)."""
    found = _SLEEP_RE.findall(command_line)
    return float(found[-1]) if found else default


class Runner(Protocol):
    """How tasks run: simulated on the clock, or as real processes (``emulator.execute``).

    The lifecycle owns the states; a runner only places tasks on nodes and reports outcomes. Every
    method is called on the event loop thread, except `place`, which gets a private copy of the
    free capacity (`capacity`) and runs inside the lifecycle's transaction on the DB thread.
    """

    #: True when outcomes arrive from `take_finished` (processes), False: from `outcome_of`.
    reports_finished: bool
    #: Set by the runner when something finished: the lifecycle steps at once.
    wake: Wakeup

    def capacity(self) -> Any:
        """A snapshot of free capacity for one step (`place` consumes it)."""

    def place(self, capacity: Any, job: dict[str, Any], task: dict[str, Any]) -> Any | None:
        """Where `task` runs, None when there is no room now, False when there never will be."""

    def nodes_of(self, placement: Any) -> list[str]:
        """The node ids of a placement, primary first."""

    def outcome_of(self, task: dict[str, Any], now: datetime) -> Outcome | None:
        """A simulated running task's outcome once it is due (None: still running)."""

    def take_finished(self) -> dict[tuple[str, str], tuple[str, Outcome]]:
        """Outcomes of finished runs by (job, task) key: (attempt, outcome); handed over once."""

    def put_back(self, finished: dict[tuple[str, str], tuple[str, Outcome]]) -> None:
        """Return outcomes a failed step could not store."""

    def started(self, task: dict[str, Any]) -> None:
        """A task was just marked running (DB thread, inside the step's transaction)."""

    def launch(self, base_url: str, job: dict[str, Any], task: dict[str, Any], where: Any) -> None:
        """Start a task that has just been stored as running (after commit)."""

    def reconcile(self, running: dict[tuple[str, str], str]) -> None:
        """Stop runs whose task is no longer running with that attempt (terminated, deleted)."""

    def completed(self, job: dict[str, Any], task: dict[str, Any]) -> None:
        """A task completed (its retention time starts)."""

    async def close(self) -> None:
        """Stop everything that runs (emulator shutdown)."""


class SimulatedRunner:
    """Tasks run on the simulated clock; the command line says how long and with what code.

    With `nodes`, each run leaves the files `simfiles` describes in its task directory.
    """

    reports_finished = False

    def __init__(self, config: LifecycleConfig, nodes: NodeFiles | None = None) -> None:
        self.config = config
        self.nodes = nodes
        self.wake = Wakeup()

    def capacity(self) -> None:
        return None

    def place(self, capacity: None, job: dict[str, Any], task: dict[str, Any]) -> str:
        return NODE_ID

    def nodes_of(self, placement: str) -> list[str]:
        return [placement]

    def outcome_of(self, task: dict[str, Any], now: datetime) -> Outcome | None:
        info = task["executionInfo"]
        started = parse_iso(info.get("startTime", "")) or now
        elapsed = (now - started).total_seconds()
        duration = run_seconds_of(task["commandLine"], self.config.task_seconds)
        limit = parse_duration(task.get("constraints", {}).get("maxWallClockTime", ""))
        if limit is not None and limit < duration and elapsed >= limit:
            outcome = Outcome(None, wall_clock_failure(), "timeout")
        elif elapsed < duration:
            return None
        else:
            outcome = Outcome(exit_code_of(task["commandLine"]))
        simfiles.task_finished(self.nodes, task, outcome.exit_code)
        return outcome

    def started(self, task: dict[str, Any]) -> None:
        simfiles.task_started(self.nodes, task)

    def take_finished(self) -> dict[tuple[str, str], tuple[str, Outcome]]:
        return {}

    def put_back(self, finished: dict[tuple[str, str], tuple[str, Outcome]]) -> None:
        """Nothing is ever taken."""

    def launch(self, base_url: str, job: dict[str, Any], task: dict[str, Any], where: Any) -> None:
        """Nothing to start: the clock runs the task."""

    def reconcile(self, running: dict[tuple[str, str], str]) -> None:
        """Nothing runs outside the store."""

    def completed(self, job: dict[str, Any], task: dict[str, Any]) -> None:
        """No task directory to retain."""

    async def close(self) -> None:
        """Nothing to stop."""


@dataclass
class _StepResult:
    changed: int = 0
    started: list[tuple[dict[str, Any], dict[str, Any], Any]] = field(default_factory=list)
    completed: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    running: dict[tuple[str, str], str] = field(default_factory=dict)


class Lifecycle:
    """Background stepping of task states: one state machine for every `Runner`.

    Args:
        store: the store to act on.
        clock: the simulated clock (real time when tasks execute).
        config: lifecycle settings.
        base_url: the emulator's base URL (for nodeInfo URLs); set once listening.
        runner: how tasks run (default: simulated on `clock`).
    """

    def __init__(
        self,
        store: Store,
        clock: SimClock,
        config: LifecycleConfig,
        base_url: str,
        runner: Runner | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self.base_url = base_url
        self.runner: Runner = runner or SimulatedRunner(config)
        self._task: asyncio.Task[None] | None = None
        self._cursors: dict[str, int] = {}
        self._stepping = asyncio.Lock()

    async def start(self) -> None:
        """Start ticking (no-op when `run_tasks` is off).

        With real processes, tasks still ``running`` from before a restart are requeued, as a
        rebooted node's are (requeueCount + 1): their processes did not survive the stop.
        """
        if not self.config.run_tasks or self._task is not None:
            return
        await self.store.call(lambda c: c.execute(LIVE_INDEX))
        if self.runner.reports_finished:
            await self.store.call(lambda c: self._requeue_running(c, self.clock.now()))
        self._task = asyncio.create_task(self._loop(), name="batchtasks-emulator-lifecycle")

    async def stop(self) -> None:
        """Stop ticking and stop every run (processes are killed)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.runner.close()

    async def _loop(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:  # keep going; one bad step must not stop the clock
                logger.exception("lifecycle step failed")
            await self.runner.wake.wait(self.config.tick_seconds)

    async def step(self) -> int:
        """Run one lifecycle step now; return how many tasks changed state."""
        if not self.config.run_tasks:
            return 0
        async with self._stepping:  # one step at a time: capacity is read, then consumed
            return await self._step_once()

    async def _step_once(self) -> int:
        now = self.clock.now()
        runner = self.runner
        finished = runner.take_finished()
        capacity = runner.capacity()
        try:
            result = await self.store.call(lambda c: self._step(c, now, finished, capacity))
        except BaseException:
            runner.put_back(finished)
            raise
        for job, task, where in result.started:
            runner.launch(self.base_url, job, task, where)
        for job, task in result.completed:
            runner.completed(job, task)
        if runner.reports_finished:
            runner.reconcile(result.running)
        return result.changed

    def _step(
        self,
        conn: sqlite3.Connection,
        now: datetime,
        finished: dict[tuple[str, str], tuple[str, Outcome]],
        capacity: Any,
    ) -> _StepResult:
        stamp = iso7(now)
        out = _StepResult()
        jobs = {
            row[0]: json.loads(row[1])
            for row in conn.execute("SELECT id_lower, body FROM jobs WHERE state='active'")
        }
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._finish(conn, now, stamp, finished, jobs, out)
            self._start(conn, now, stamp, capacity, jobs, out)
            if self.runner.reports_finished:
                for job_lower, id_lower, body in conn.execute(
                    "SELECT job_lower, id_lower, body FROM tasks WHERE state='running'"
                ):
                    attempt = json.loads(body)["executionInfo"].get("startTime", "")
                    out.running[(job_lower, id_lower)] = attempt
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return out

    def _finish(
        self,
        conn: sqlite3.Connection,
        now: datetime,
        stamp: str,
        finished: dict[tuple[str, str], tuple[str, Outcome]],
        jobs: dict[str, dict[str, Any]],
        out: _StepResult,
    ) -> None:
        if self.runner.reports_finished:
            rows = []
            for (job_lower, id_lower), (attempt, outcome) in finished.items():
                row = conn.execute(
                    "SELECT seq, body FROM tasks WHERE job_lower=? AND id_lower=? "
                    "AND state='running'",
                    (job_lower, id_lower),
                ).fetchone()
                if row is not None:
                    task = json.loads(row[1])
                    if task["executionInfo"].get("startTime") == attempt:  # else: a stale run
                        rows.append((int(row[0]), job_lower, task, outcome))
        else:
            rows = []
            for seq, job_lower, body in self._page(conn, "running", self.config.batch):
                task = json.loads(body)
                due = self.runner.outcome_of(task, now)
                if due is not None:
                    rows.append((seq, job_lower, task, due))
        for seq, job_lower, task, outcome in rows:
            done = end_run(task, outcome, stamp)
            self.store.write_task(seq, task, now)
            out.changed += 1
            job = jobs.get(job_lower)
            if done and job is not None:
                out.completed.append((job, task))
                if apply_job_action(job, task, stamp) is not None:
                    self._write_job(conn, job, now)
                    del jobs[job_lower]

    def _start(
        self,
        conn: sqlite3.Connection,
        now: datetime,
        stamp: str,
        capacity: Any,
        jobs: dict[str, dict[str, Any]],
        out: _StepResult,
    ) -> None:
        limit = self.config.batch if capacity is None else self.config.start_batch
        rows = self._page(conn, "active", limit)
        for seq, job_lower, body in rows:
            job = jobs.get(job_lower)
            if job is None:
                continue
            task = json.loads(body)
            if task.get("dependsOn") and not dependencies_met(conn, job_lower, task["dependsOn"]):
                continue
            where = self.runner.place(capacity, job, task)
            if where is False:  # can never run on this pool: stays active, skipped
                continue
            if where is None:  # no room now: the next step starts here, in submission order
                self._cursors["active"] = seq - 1
                return
            pool_id = str(job.get("poolInfo", {}).get("poolId") or "autopool")
            node = self.runner.nodes_of(where)[0]
            begin_run(task, stamp, node_info(self.base_url, pool_id, job["id"], task["id"], node))
            self.runner.started(task)
            self.store.write_task(seq, task, now)
            out.started.append((job, task, where))
            out.changed += 1

    def _page(self, conn: sqlite3.Connection, state: str, limit: int) -> list[tuple[int, str, str]]:
        """The next `limit` tasks in `state`, round-robin by seq so none is starved."""
        after = self._cursors.get(state, 0)
        rows = conn.execute(
            "SELECT seq, job_lower, body FROM tasks WHERE state=? AND seq>? ORDER BY seq LIMIT ?",
            (state, after, limit),
        ).fetchall()
        self._cursors[state] = rows[-1][0] if len(rows) == limit else 0
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def _write_job(self, conn: sqlite3.Connection, job: dict[str, Any], now: datetime) -> None:
        """Store a job changed by a task's jobAction; a completed job's unfinished tasks end."""
        job["eTag"] = self.store.next_etag(now)
        job["lastModified"] = iso7(now)
        conn.execute(
            "UPDATE jobs SET state=?, last_modified=?, body=? WHERE id_lower=?",
            (job["state"], job["lastModified"], json.dumps(job), job["id"].lower()),
        )
        if job["state"] != "completed":
            return
        rows = conn.execute(
            "SELECT seq, body FROM tasks WHERE job_lower=? AND state IN ('active','running')",
            (job["id"].lower(),),
        ).fetchall()
        for seq, body in rows:
            task = json.loads(body)
            terminate(task, iso7(now))
            self.store.write_task(int(seq), task, now)

    def _requeue_running(self, conn: sqlite3.Connection, now: datetime) -> None:
        rows = conn.execute("SELECT seq, body FROM tasks WHERE state='running'").fetchall()
        for seq, body in rows:
            task = json.loads(body)
            requeue(task, iso7(now))
            self.store.write_task(int(seq), task, now)
