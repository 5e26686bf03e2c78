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
import sys
from typing import Any

from batchtasks.cli._bulk import submit
from batchtasks.cli._errors import EXIT_FAILURE, EXIT_OK
from batchtasks.cli._render import write_json, write_table
from batchtasks.cli._sample import sample_tasks

__all__ = ["DEMO_FAULTS", "run_demo"]

JOB_ID = "demo-render-etl"
POOL_ID = "demo-pool"
STATES = ("active", "preparing", "running", "completed")
_EXAMPLES_PER_STATE = 3

#: Fault rates of the demo: enough that retries show, low enough that it stays quick.
DEMO_FAULTS: dict[str, Any] = {
    "task_server_error_rate": 0.01,  # one task of a request answered servererror
    "server_busy_rate": 0.02,  # a whole request answered 503 ServerBusy + Retry-After
    "server_error_rate": 0.01,  # a whole request answered 500, nothing done
    "drop_after_commit_rate": 0.01,  # request carried out, then the connection dropped
    "retry_after_seconds": 1,
}


async def _count_by_state(client: Any, job_id: str) -> list[dict[str, Any]]:
    rows = []
    for state in STATES:
        count = 0
        examples: list[str] = []
        pager = client.tasks.list(job_id, filter=f"state eq '{state}'", select="id,state")
        async for task in pager:
            count += 1
            if len(examples) < _EXAMPLES_PER_STATE:
                examples.append(task.id)
        rows.append({"state": state, "tasks": count, "examples": ", ".join(examples)})
    return rows


async def run_demo(args: argparse.Namespace) -> int:
    """Run the demo; return 0 when every task was added, 1 otherwise."""
    from batchtasks import BatchClient, SharedKeyCredential
    from batchtasks.emulator import Emulator, FaultConfig
    from batchtasks.models import JobAddParameter

    faults = FaultConfig(seed=args.seed, **DEMO_FAULTS) if args.faults else None
    emulator = Emulator(
        in_memory=True, run_tasks=True, clock_speed=1.0, task_seconds=2.0, faults=faults
    )
    async with emulator as emu:
        print(
            f"demo: embedded emulator at {emu.url} (in-memory; tasks run on a simulated clock; "
            f"fault injection {'on' if args.faults else 'off'})",
            file=sys.stderr,
            flush=True,
        )
        credential = SharedKeyCredential(emu.account, emu.key)
        async with BatchClient(emu.url, credential) as client:
            await client.jobs.add(
                JobAddParameter.model_validate({"id": JOB_ID, "poolInfo": {"poolId": POOL_ID}})
            )
            summary = await submit(
                client,
                JOB_ID,
                sample_tasks(args.tasks, seed=args.seed),
                total=args.tasks,
                max_concurrency=args.max_concurrency,
                progress=not args.no_progress,
                description=f"demo: {args.tasks:,} tasks",
            )
            states = await _count_by_state(client, JOB_ID)
        faults_seen = await emu.stats() if args.faults else {}
    if args.output == "json":
        write_json(
            {
                "summary": summary.to_json(),
                "tasksByState": {row["state"]: row["tasks"] for row in states},
                "emulatorStats": faults_seen,
            }
        )
    else:
        summary.write("table")
        write_table(
            states,
            ["state", "tasks", "examples"],
            title=f"tasks of job {JOB_ID} by state ($filter=state eq '...')",
        )
    return EXIT_FAILURE if summary.unsuccessful else EXIT_OK
