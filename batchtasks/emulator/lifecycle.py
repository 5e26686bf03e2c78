"""Simulated execution of tasks: the clock, and the state machine active → running → completed.

There are no compute nodes. When the lifecycle is enabled, a background tick moves eligible
``active`` tasks to ``running`` and finished ``running`` tasks to ``completed`` (or back to
``active`` for a retry), on a simulated clock that can run faster than real time and can be
advanced by hand (``POST /_emulator/advance``) for deterministic tests.

What a task does is read from its command line, so tests can drive outcomes:

* ``exit N`` (last occurrence) → exit code N (default 0);
* ``sleep S`` → runs S simulated seconds (default `LifecycleConfig.task_seconds`).

A task running longer than its ``maxWallClockTime`` is ended as a failure (``failureInfo.code``
``MaxWallClockTimeExceeded`` — an emulator choice) and retried like any failure. Dependencies are
honoured: a task whose ``dependsOn`` tasks have not all completed successfully stays ``active``.

Must not do HTTP; runs its SQL on the store's DB thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from . import simfiles
from .db import LIVE_INDEX
from .formats import iso7, parse_duration, parse_iso
from .nodefs import NodeFiles
from .store import Store

logger = logging.getLogger("batchtasks.emulator")

_EXIT_RE = re.compile(r"\bexit\s+(-?\d+)")
_SLEEP_RE = re.compile(r"\bsleep\s+(\d+(?:\.\d+)?)")
NODE_ID = "tvmps_emulator_000000000"
FAILURE_MESSAGE = "The task exited with an exit code representing a failure"


class SimClock:
    """Wall-clock time scaled by `speed` from the moment of creation, plus a manual offset."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.speed = speed
        self._wall0 = datetime.now(timezone.utc)
        self._mono0 = time.monotonic()
        self._offset = 0.0

    def now(self) -> datetime:
        """The simulated current time (aware UTC)."""
        elapsed = (time.monotonic() - self._mono0) * self.speed + self._offset
        return self._wall0 + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by `seconds`.

        Raises:
            ValueError: negative, not finite, or beyond `LATEST_SIMULATED_TIME` (past it, every
                request of the emulator would fail to compute "now").
        """
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("the clock only moves forward by a finite amount")
        try:
            target = self.now() + timedelta(seconds=seconds)
        except OverflowError:
            target = None
        if target is None or target > LATEST_SIMULATED_TIME:
            raise ValueError(f"the clock cannot move past {LATEST_SIMULATED_TIME.year}")
        self._offset += seconds


#: Far enough from datetime.max that a fast clock keeps running for centuries after an advance.
LATEST_SIMULATED_TIME = datetime(9000, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class LifecycleConfig:
    """How tasks are simulated.

    Attributes:
        run_tasks: whether tasks run at all (off: they stay ``active`` until terminated).
        task_seconds: simulated run time of a task without ``sleep N`` in its command line.
        tick_seconds: real seconds between two lifecycle steps.
        batch: at most this many tasks are moved per state per step.
    """

    run_tasks: bool = False
    task_seconds: float = 1.0
    tick_seconds: float = 0.05
    batch: int = 500


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


def node_info(base_url: str, pool_id: str, job_id: str, task_id: str) -> dict[str, str]:
    """The `ComputeNodeInformation` of the one simulated node."""
    node = f"{base_url}/pools/{pool_id}/nodes/{NODE_ID}"
    return {
        "affinityId": f"TVM:{NODE_ID}",
        "nodeUrl": node,
        "poolId": pool_id,
        "nodeId": NODE_ID,
        "taskRootDirectory": f"workitems/{job_id}/job-1/{task_id}",
        "taskRootDirectoryUrl": f"{node}/files/workitems/{job_id}/job-1/{task_id}",
    }


def transition(task: dict[str, Any], state: str, stamp: str) -> None:
    """Move a task dict to `state`, keeping previousState/previousStateTransitionTime."""
    task["previousState"] = task["state"]
    task["previousStateTransitionTime"] = task["stateTransitionTime"]
    task["state"] = state
    task["stateTransitionTime"] = stamp


def _dependencies_met(conn: sqlite3.Connection, job_lower: str, depends: dict[str, Any]) -> bool:
    """Whether every task named by `depends` exists and completed successfully (exit code 0)."""
    ids = sorted({str(i).lower() for i in depends.get("taskIds") or []})
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        done = conn.execute(
            f"SELECT COUNT(*) FROM tasks WHERE job_lower=? AND id_lower IN ({marks}) "  # noqa: S608 - only '?' marks
            "AND state='completed' AND exit_code=0",
            [job_lower, *chunk],
        ).fetchone()[0]
        if done != len(chunk):
            return False
    for rng in depends.get("taskIdRanges") or []:
        first, last = int(rng["start"]), int(rng["end"])
        # Counted in SQL, so a huge range costs one query, not one string per id. Only canonical
        # integer ids ("9", not "09") belong to a range.
        done = conn.execute(
            "SELECT COUNT(*) FROM tasks WHERE job_lower=? AND state='completed' AND exit_code=0 "
            "AND id_lower = CAST(CAST(id_lower AS INTEGER) AS TEXT) "
            "AND CAST(id_lower AS INTEGER) BETWEEN ? AND ?",
            (job_lower, first, last),
        ).fetchone()[0]
        if done != last - first + 1:
            return False
    return True


class Lifecycle:
    """Background stepping of task states on a `SimClock`.

    Args:
        store: the store to act on.
        clock: the simulated clock.
        config: lifecycle settings.
        base_url: callable returning the emulator's base URL (for nodeInfo URLs).
    """

    def __init__(
        self, store: Store, clock: SimClock, config: LifecycleConfig, base_url: str
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self.base_url = base_url
        self._task: asyncio.Task[None] | None = None
        self._cursors: dict[str, int] = {}
        self.nodes: NodeFiles | None = None  # where simulated tasks leave their files

    async def start(self) -> None:
        """Start ticking (no-op when `run_tasks` is off)."""
        if not self.config.run_tasks or self._task is not None:
            return
        await self.store.call(lambda c: c.execute(LIVE_INDEX))
        self._task = asyncio.create_task(self._loop(), name="batchtasks-emulator-lifecycle")

    async def stop(self) -> None:
        """Stop ticking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:  # keep simulating; one bad step must not stop the clock
                logger.exception("lifecycle step failed")
            await asyncio.sleep(self.config.tick_seconds)

    async def step(self) -> int:
        """Run one lifecycle step now; return how many tasks changed state."""
        if not self.config.run_tasks:
            return 0
        now = self.clock.now()
        return await self.store.call(lambda conn: self._step(conn, now))

    def _step(self, conn: sqlite3.Connection, now: datetime) -> int:
        stamp = iso7(now)
        changed = 0
        jobs = {
            row[0]: json.loads(row[1])
            for row in conn.execute("SELECT id_lower, body FROM jobs WHERE state='active'")
        }
        conn.execute("BEGIN IMMEDIATE")
        try:
            running = self._page(conn, "running")
            for seq, _job_lower, body in running:
                task = json.loads(body)
                info = task["executionInfo"]
                started = parse_iso(info.get("startTime", stamp)) or now
                elapsed = (now - started).total_seconds()
                duration = run_seconds_of(task["commandLine"], self.config.task_seconds)
                limit = parse_duration(task.get("constraints", {}).get("maxWallClockTime", ""))
                timed_out = limit is not None and limit < duration and elapsed >= limit
                if elapsed < duration and not timed_out:
                    continue
                code = None if timed_out else exit_code_of(task["commandLine"])
                simfiles.task_finished(self.nodes, task, code)
                self._finish(task, stamp, timed_out=timed_out)
                self.store.write_task(seq, task, now)
                changed += 1
            active = self._page(conn, "active")
            for seq, job_lower, body in active:
                job = jobs.get(job_lower)
                if job is None:
                    continue
                task = json.loads(body)
                if task.get("dependsOn") and not _dependencies_met(
                    conn, job_lower, task["dependsOn"]
                ):
                    continue
                transition(task, "running", stamp)
                info = task["executionInfo"]
                for key in ("endTime", "exitCode", "result", "failureInfo"):
                    info.pop(key, None)
                task["executionInfo"] = {"startTime": stamp, **info}
                pool_id = str(job.get("poolInfo", {}).get("poolId") or "autopool")
                task["nodeInfo"] = node_info(self.base_url, pool_id, job["id"], task["id"])
                simfiles.task_started(self.nodes, task)
                self.store.write_task(seq, task, now)
                changed += 1
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return changed

    def _page(self, conn: sqlite3.Connection, state: str) -> list[tuple[int, str, str]]:
        """The next `batch` tasks in `state`, round-robin by seq so none is starved."""
        after = self._cursors.get(state, 0)
        rows = conn.execute(
            "SELECT seq, job_lower, body FROM tasks WHERE state=? AND seq>? ORDER BY seq LIMIT ?",
            (state, after, self.config.batch),
        ).fetchall()
        self._cursors[state] = rows[-1][0] if len(rows) == self.config.batch else 0
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    @staticmethod
    def _finish(task: dict[str, Any], stamp: str, *, timed_out: bool = False) -> None:
        info = task["executionInfo"]
        code = None if timed_out else exit_code_of(task["commandLine"])
        retries = int(task.get("constraints", {}).get("maxTaskRetryCount", 0))
        if code != 0 and (retries == -1 or info.get("retryCount", 0) < retries):
            info["retryCount"] = info.get("retryCount", 0) + 1
            info["lastRetryTime"] = stamp
            info.pop("startTime", None)
            transition(task, "active", stamp)
            task.pop("nodeInfo", None)
            return
        if timed_out:
            info["endTime"] = stamp
            info["result"] = "failure"
            info["failureInfo"] = {
                "category": "usererror",
                "code": "MaxWallClockTimeExceeded",
                "message": WALL_CLOCK_MESSAGE,
            }
            transition(task, "completed", stamp)
            return
        complete(task, stamp, code)


WALL_CLOCK_MESSAGE = "The task ran longer than its maximum wall clock time and was ended"
TERMINATED_MESSAGE = "Task Was Ended by User Request"


def terminate(task: dict[str, Any], stamp: str) -> None:
    """Mark a task completed by user request (a failure, so it can be reactivated)."""
    info = task["executionInfo"]
    info["endTime"] = stamp
    info["result"] = "failure"
    info["failureInfo"] = {
        "category": "usererror",
        "code": "TaskEnded",
        "message": TERMINATED_MESSAGE,
    }
    transition(task, "completed", stamp)


def reactivate(task: dict[str, Any], stamp: str) -> None:
    """Move a completed, failed task back to active with a fresh retry budget."""
    info = task["executionInfo"]
    task["executionInfo"] = {
        "retryCount": 0,
        "requeueCount": info.get("requeueCount", 0),
        **({"lastRequeueTime": info["lastRequeueTime"]} if "lastRequeueTime" in info else {}),
    }
    task.pop("nodeInfo", None)
    transition(task, "active", stamp)


def complete(task: dict[str, Any], stamp: str, code: int | None) -> None:
    """Mark a task completed with `code` (None: terminated without running)."""
    info = task["executionInfo"]
    if task["state"] == "running" or code is not None:
        info.setdefault("startTime", stamp)
    info["endTime"] = stamp
    if code is not None:
        info["exitCode"] = code
        if code == 0:
            info["result"] = "success"
            info.pop("failureInfo", None)
        else:
            info["result"] = "failure"
            info["failureInfo"] = {
                "category": "usererror",
                "code": "FailureExitCode",
                "message": FAILURE_MESSAGE,
                "details": [{"name": "Message", "value": FAILURE_MESSAGE}],
            }
    transition(task, "completed", stamp)
