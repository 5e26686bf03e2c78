"""`ProcessRunner`: the lifecycle's runner for ``--execute``; tasks run as real local processes.

For each run it prepares the task directory on every node of its placement (``wd/`` as working
directory, ``stdout.txt`` / ``stderr.txt`` beside it, laid out by `NodeFiles`), fetches resource
files, runs the command line (a multi-instance task: the coordination command on every instance,
then the application command on the primary), uploads output files on their condition, and
hands the `Outcome` to the lifecycle, which applies it through the shared state machine. Runs
whose task is no longer running with that attempt (terminated, deleted, job deleted) are stopped;
`close` stops all of them, so no process outlives the emulator. A completed task's directory is
removed when its ``retentionTime`` has passed. Processes run as the emulator's own user.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..clock import Wakeup
from ..formats import parse_duration
from ..nodefs import NodeFiles
from ..states import Outcome, failure_info, wall_clock_failure
from .environment import Instance, task_environment
from .pool import NodePool, Placement
from .process import ProcessResult, run_command
from .transfer import TransferError, fetch_resource_files, upload_output_files

__all__ = ["ExecuteConfig", "ProcessRunner"]

logger = logging.getLogger("batchtasks.emulator")

Key = tuple[str, str]
_LAUNCH_MESSAGES = {
    "CommandProgramNotFound": "The specified command program is not found.",
    "CommandLaunchFailed": "Failed to launch the specified command line.",
}
_MAX_TIMER = 30 * 24 * 3600.0  # call_later beyond this is pointless (and overflows for P10675199D)


@dataclass(frozen=True)
class ExecuteConfig:
    """The local pool that runs tasks.

    Attributes:
        nodes: virtual nodes.
        task_slots_per_node: task slots of each node.
        kill_grace: seconds between SIGTERM and SIGKILL when a run is stopped.
        file_size_limit: largest file (stdout.txt included) a task may write, in bytes.
        fetch_timeout: seconds allowed for one resource file download.
    """

    nodes: int = 2
    task_slots_per_node: int = 4
    kill_grace: float = 2.0
    file_size_limit: int = 1 << 30
    fetch_timeout: float = 60.0


@dataclass
class _Run:
    key: Key
    attempt: str
    placement: Placement
    retention: float
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stale: bool = False
    task: asyncio.Task[None] | None = None


class ProcessRunner:
    """Runs tasks as processes on a `NodePool` of virtual nodes.

    Args:
        config: the pool.
        files: the node directory layout.
        account: account name (AZ_BATCH_ACCOUNT_NAME).
    """

    reports_finished = True

    def __init__(self, config: ExecuteConfig, files: NodeFiles, account: str) -> None:
        self.config = config
        self.files = files
        self.account = account
        self.pool = NodePool(config.nodes, config.task_slots_per_node)
        self.wake = Wakeup()
        self._runs: dict[tuple[Key, str], _Run] = {}
        self._finished: dict[Key, tuple[str, Outcome]] = {}
        self._nodes_of: dict[Key, tuple[str, ...]] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._removals: set[asyncio.Future[None]] = set()

    # -- the Runner protocol --------------------------------------------------------------------

    def capacity(self) -> dict[str, int]:
        return self.pool.snapshot()

    def place(
        self, capacity: dict[str, int], job: dict[str, Any], task: dict[str, Any]
    ) -> Placement | bool | None:
        return self.pool.place(capacity, _key(job, task), task)

    def nodes_of(self, placement: Placement) -> list[str]:
        return list(placement.nodes)

    def outcome_of(self, task: dict[str, Any], now: Any) -> Outcome | None:
        return None  # outcomes come from take_finished

    def take_finished(self) -> dict[Key, tuple[str, Outcome]]:
        finished, self._finished = self._finished, {}
        return finished

    def put_back(self, finished: dict[Key, tuple[str, Outcome]]) -> None:
        self._finished = {**finished, **self._finished}

    def started(self, task: dict[str, Any]) -> None:
        """Nothing to do inside the transaction: the process starts in `launch`, after commit."""

    def launch(
        self, base_url: str, job: dict[str, Any], task: dict[str, Any], where: Placement
    ) -> None:
        key = _key(job, task)
        attempt = str(task["executionInfo"].get("startTime", ""))
        self.pool.reserve(key, where)
        self._nodes_of[key] = where.nodes
        retention = parse_duration(str(task.get("constraints", {}).get("retentionTime", "")))
        run = _Run(key, attempt, where, 7 * 86400.0 if retention is None else retention)
        self._runs[(key, attempt)] = run
        run.task = asyncio.create_task(self._run(run, base_url, job, task))

    def reconcile(self, running: dict[Key, str]) -> None:
        for (key, attempt), run in self._runs.items():
            if running.get(key) != attempt and not run.stale:
                run.stale = True
                run.stop.set()

    def completed(self, job: dict[str, Any], task: dict[str, Any]) -> None:
        key = _key(job, task)
        self.pool.forget(key)
        nodes = self._nodes_of.pop(key, ())
        seconds = parse_duration(str(task.get("constraints", {}).get("retentionTime", "")))
        self._retain(job["id"], task["id"], nodes, 7 * 86400.0 if seconds is None else seconds)

    async def close(self) -> None:
        """Stop every run (SIGTERM, then SIGKILL after the grace period) and wait for them."""
        for run in self._runs.values():
            run.stale = True
            run.stop.set()
        tasks = [run.task for run in self._runs.values() if run.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.config.kill_grace + 5.0)
            for task in pending:  # stuck outside a process (a download): cancel it
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._removals:
            await asyncio.gather(*self._removals, return_exceptions=True)

    # -- one run --------------------------------------------------------------------------------

    async def _run(
        self, run: _Run, base_url: str, job: dict[str, Any], task: dict[str, Any]
    ) -> None:
        try:
            outcome = await self._execute(run, base_url, job, task)
        except Exception as exc:  # an emulator-side I/O failure: report it, never hang the task
            logger.exception("running task %s failed", task["id"])
            outcome = Outcome(
                None,
                failure_info("servererror", "Unknown", f"{type(exc).__name__}: {exc}"),
                "preprocessing",
            )
        finally:
            self.pool.release(run.placement)
            del self._runs[(run.key, run.attempt)]
        if run.stale:
            self._retain(job["id"], task["id"], run.placement.nodes, run.retention)
        else:
            self._finished[run.key] = (run.attempt, outcome)
        self.wake.set()

    async def _execute(
        self, run: _Run, base_url: str, job: dict[str, Any], task: dict[str, Any]
    ) -> Outcome:
        instances = [
            Instance(
                node,
                self.files.node_root(node),
                self.files.task_dir(node, job["id"], task["id"]),
                number,
            )
            for number, node in enumerate(run.placement.nodes)
        ]
        for inst in instances:
            (inst.task_dir / "wd").mkdir(parents=True, exist_ok=True)
        primary = instances[0]
        multi = task.get("multiInstanceSettings") or {}
        try:
            for inst in instances:
                await self._fetch(multi.get("commonResourceFiles"), inst.task_dir)
            await self._fetch(task.get("resourceFiles"), primary.task_dir / "wd")
        except TransferError as exc:
            return Outcome(None, exc.failure, "preprocessing")
        limit = parse_duration(str(task.get("constraints", {}).get("maxWallClockTime", "")))
        loop = asyncio.get_running_loop()
        deadline = None if limit is None or limit > _MAX_TIMER else loop.time() + limit
        env = {
            inst.number: task_environment(
                account=self.account,
                account_url=base_url,
                pool_id=str(job.get("poolInfo", {}).get("poolId") or "autopool"),
                job=job,
                task=task,
                instance=inst,
                instances=len(instances),
                shared_dir=primary.task_dir,
            )
            for inst in instances
        }

        async def command(line: str, inst: Instance, append: bool) -> ProcessResult:
            return await run_command(
                line,
                cwd=inst.task_dir / "wd",
                env=env[inst.number],
                stdout=inst.task_dir / "stdout.txt",
                stderr=inst.task_dir / "stderr.txt",
                append=append,
                deadline=deadline,
                stop=run.stop,
                kill_grace=self.config.kill_grace,
                file_size_limit=self.config.file_size_limit,
            )

        if multi:
            coordination = str(multi.get("coordinationCommandLine") or "")
            results = await asyncio.gather(*(command(coordination, i, False) for i in instances))
            failed = [r for r in results if r.exit_code != 0]
            if failed:
                return self._outcome(failed[0], primary)
        result = await command(str(task["commandLine"]), primary, bool(multi))
        outcome = self._outcome(result, primary)
        if task.get("outputFiles") and not run.stop.is_set():
            try:
                await asyncio.to_thread(
                    upload_output_files,
                    task["outputFiles"],
                    task_dir=primary.task_dir,
                    exit_code=outcome.exit_code if outcome.failure is None else None,
                    emulator_url=base_url,
                    containers_root=self.files.root.parent / "containers",
                )
            except TransferError as exc:
                return Outcome(outcome.exit_code, exc.failure, "fileupload")
        return outcome

    async def _fetch(self, files: list[dict[str, Any]] | None, directory: Path) -> None:
        if files:
            await fetch_resource_files(
                files,
                directory,
                size_limit=self.config.file_size_limit,
                timeout=self.config.fetch_timeout,
            )

    def _outcome(self, result: ProcessResult, primary: Instance) -> Outcome:
        if result.launch_error is not None:
            message = _LAUNCH_MESSAGES[result.launch_error]
            failure = failure_info(
                "usererror", result.launch_error, message, Message=result.message
            )
            return Outcome(None, failure, "preprocessing")
        if result.timed_out:
            return Outcome(result.exit_code, wall_clock_failure(), "timeout")
        if result.exit_code == 128 + signal.SIGXFSZ:
            with open(primary.task_dir / "stderr.txt", "a", encoding="utf-8") as err:
                err.write(
                    f"\nbatchtasks emulator: the process was stopped (SIGXFSZ) at the file size "
                    f"limit of {self.config.file_size_limit} bytes\n"
                )
        return Outcome(result.exit_code)

    def _retain(self, job_id: str, task_id: str, nodes: tuple[str, ...], seconds: float) -> None:
        if not nodes or seconds > _MAX_TIMER:
            return
        key = (job_id.lower(), task_id.lower())

        def remove() -> None:
            self._timers.discard(timer)
            if any(running == key for running, _attempt in self._runs):
                return  # reactivated and running again: its directory is in use
            removal = asyncio.ensure_future(
                asyncio.to_thread(self._remove_dirs, nodes, job_id, task_id)
            )
            self._removals.add(removal)
            removal.add_done_callback(self._removals.discard)

        timer = asyncio.get_running_loop().call_later(seconds, remove)
        self._timers.add(timer)

    def _remove_dirs(self, nodes: tuple[str, ...], job_id: str, task_id: str) -> None:
        for node in nodes:
            with contextlib.suppress(ValueError):
                self.files.remove_task(node, job_id, task_id)


def _key(job: dict[str, Any], task: dict[str, Any]) -> Key:
    return str(job["id"]).lower(), str(task["id"]).lower()
