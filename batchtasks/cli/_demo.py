"""``batchtasks demo``: the main job, end to end on an embedded emulator.

Starts an in-memory emulator in this process with simulated task execution and (by default)
fault injection at a modest rate, creates a job, bulk-submits generated render/ETL tasks with a
live progress bar, prints the summary (every task accounted for), then lists the job's tasks by
state through the API with ``$filter``. Always the embedded emulator, never a configured account:
a demo must not create thousands of tasks in someone's real Batch account.

This module must use only the public API (`batchtasks`, `batchtasks.models`, `batchtasks.emulator`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from batchtasks.cli._account import connection_pool_size
from batchtasks.cli._bulk import submit
from batchtasks.cli._errors import EXIT_FAILURE, EXIT_OK
from batchtasks.cli._progress import StateView
from batchtasks.cli._render import rich_available, write_json, write_table
from batchtasks.cli._sample import sample_tasks

__all__ = ["DEMO_FAULTS", "run_demo"]

JOB_ID = "demo-render-etl"
POOL_ID = "demo-pool"
STATES = ("active", "preparing", "running", "completed")
_EXAMPLES_PER_STATE = 2
#: Share of ETL tasks that exit non-zero when they run, so the listing shows failures too.
_FAILURE_RATE = 0.05
#: Real seconds to wait for the tasks to finish running before listing them anyway.
_WATCH_LIMIT = 30.0
_POLL_INTERVAL = 0.25

#: Fault rates of the demo: enough that retries show, low enough that it stays quick.
DEMO_FAULTS: dict[str, Any] = {
    "task_server_error_rate": 0.01,  # one task of a request answered servererror
    "server_busy_rate": 0.02,  # a whole request answered 503 ServerBusy + Retry-After
    "server_error_rate": 0.01,  # a whole request answered 500, nothing done
    "drop_after_commit_rate": 0.01,  # request carried out, then the connection dropped
    "retry_after_seconds": 1,
}


async def _count(client: Any, job_id: str, odata_filter: str) -> tuple[int, list[str]]:
    count = 0
    examples: list[str] = []
    async for task in client.tasks.list(job_id, filter=odata_filter, select="id"):
        count += 1
        if len(examples) < _EXAMPLES_PER_STATE:
            examples.append(task.id)
    return count, examples


async def _counts_by_state(client: Any, job_id: str) -> dict[str, int]:
    # One listing, counted here: counting state by state would see a task that moves between
    # two queries twice (or not at all).
    counts = dict.fromkeys(STATES, 0)
    async for task in client.tasks.list(job_id, select="id,state"):
        state = str(task.state)
        counts[state] = counts.get(state, 0) + 1
    return counts


async def _watch(client: Any, job_id: str, total: int, *, progress: bool) -> bool:
    """Show the tasks running until all have completed (or the time limit); True if they did."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + _WATCH_LIMIT
    with StateView(total, "running", enabled=progress) as view:
        while True:
            counts = await _counts_by_state(client, job_id)
            view.update(counts)
            if counts["completed"] >= total:
                return True
            if loop.time() > give_up:
                return False
            await asyncio.sleep(_POLL_INTERVAL)


async def _listing(client: Any, job_id: str) -> list[dict[str, Any]]:
    """Count the job's tasks by state (and completed ones by exit code), each with a $filter."""
    queries = [(state, state, f"state eq '{state}'") for state in STATES[:-1]] + [
        (
            "completed",
            "completed, exit code 0",
            "state eq 'completed' and executionInfo/exitCode eq 0",
        ),
        (
            "completedFailed",
            "completed, exit code ≠ 0",
            "state eq 'completed' and executionInfo/exitCode ne 0",
        ),
    ]
    rows = []
    for key, label, odata_filter in queries:
        count, examples = await _count(client, job_id, odata_filter)
        rows.append(
            {
                "key": key,
                "state": label,
                "tasks": count,
                "examples": ", ".join(examples),
                "filter": odata_filter,
            }
        )
    return rows


def _by_state(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = {row["key"]: row["tasks"] for row in rows}
    counts["completed"] += counts.pop("completedFailed")
    return counts


async def run_demo(args: argparse.Namespace) -> int:
    """Run the demo; return 0 when every task was added, 1 otherwise."""
    from batchtasks import BatchClient, SharedKeyCredential
    from batchtasks.emulator import Emulator, FaultConfig
    from batchtasks.models import JobAddParameter

    faults = FaultConfig(seed=args.seed, **DEMO_FAULTS) if args.faults else None
    emulator = Emulator(
        in_memory=True, run_tasks=True, clock_speed=2.0, task_seconds=2.0, faults=faults
    )
    progress = not args.no_progress and rich_available()
    async with emulator as emu:
        print(
            f"demo: embedded emulator at {emu.url} (in-memory; tasks run on a simulated clock; "
            f"fault injection {'on' if args.faults else 'off'})",
            file=sys.stderr,
            flush=True,
        )
        credential = SharedKeyCredential(emu.account, emu.key)
        pool = connection_pool_size(args.max_concurrency)
        async with BatchClient(emu.url, credential, max_connections=pool) as client:
            await client.jobs.add(
                JobAddParameter.model_validate({"id": JOB_ID, "poolInfo": {"poolId": POOL_ID}})
            )
            summary = await submit(
                client,
                JOB_ID,
                sample_tasks(args.tasks, seed=args.seed, failure_rate=_FAILURE_RATE),
                total=args.tasks,
                max_concurrency=args.max_concurrency,
                progress=progress,
                description="adding",
            )
            # Faults were for the submission; the listing below should not be slowed by them.
            emu.set_faults(FaultConfig())
            finished = await _watch(client, JOB_ID, summary.added_total, progress=progress)
            rows = await _listing(client, JOB_ID)
        stats = await emu.stats()
    if not finished:
        print(
            f"demo: not every task finished within {_WATCH_LIMIT:.0f} s; listing them as they are",
            file=sys.stderr,
        )
    if args.output == "json":
        write_json(
            {
                "summary": summary.to_json(),
                "tasksByState": _by_state(rows),
                "listing": [{k: row[k] for k in ("state", "tasks", "filter")} for row in rows],
                "allCompleted": finished,
                "emulatorStats": stats,
            }
        )
    else:
        summary.write("table")
        write_table(
            rows,
            ["state", "tasks", "examples"],
            title=f"tasks of job {JOB_ID} (one $filter query per row)",
        )
    return EXIT_FAILURE if summary.unsuccessful else EXIT_OK
