"""Quickstart: create a job, add tasks, watch them complete, list them with a filter.

Runs as written against an emulator started in this process (tasks "run" on its simulated
clock; a command line containing ``exit N`` finishes with exit code N). To use a real Batch
account instead, replace the emulator block with
``BatchClient("https://ACCOUNT.REGION.batch.azure.com", SharedKeyCredential("ACCOUNT", KEY))``.

    python examples/quickstart.py [--tasks N]
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter

from batchtasks import BatchClient, SharedKeyCredential
from batchtasks.emulator import Emulator
from batchtasks.models import JobAddParameter, TaskAddParameter

JOB_ID = "quickstart"


async def main(tasks: int = 10) -> dict[str, int]:
    """Run the quickstart; return the final count of tasks per state."""
    async with (
        Emulator(in_memory=True, run_tasks=True, task_seconds=1.0, clock_speed=4.0) as emu,
        BatchClient(emu.url, SharedKeyCredential(emu.account, emu.key)) as client,
    ):
        # 1. A job: the pool need not exist for the emulator (nor for the service, at first).
        await client.jobs.add(JobAddParameter(id=JOB_ID, pool_info={"pool_id": "pool-1"}))

        # 2. Tasks: every fifth one fails on purpose, so the filter below has something to find.
        batch = [
            TaskAddParameter(
                id=f"hello-{n:03d}",
                display_name=f"Hello nº {n}",
                command_line=f"/bin/sh -c 'echo hello {n}" + ("; exit 3'" if n % 5 == 4 else "'"),
            )
            for n in range(tasks)
        ]
        result = await client.tasks.add_collection(JOB_ID, batch)
        print(f"added {len(result.succeeded)} of {tasks} tasks")

        # 3. Watch them run until every task has completed.
        while True:
            states = Counter(
                [str(task.state) async for task in client.tasks.list(JOB_ID, select="id,state")]
            )
            print("states:", dict(sorted(states.items())))
            if states.get("completed", 0) == tasks:
                break
            await asyncio.sleep(0.25)

        # 4. A server-side filter: only the tasks that failed.
        failed = client.tasks.list(
            JOB_ID, filter="executionInfo/exitCode ne 0", select="id,executionInfo"
        )
        async for task in failed:
            assert task.execution_info is not None
            print(f"failed: {task.id} (exit code {task.execution_info.exit_code})")
        return dict(states)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10)
    asyncio.run(main(parser.parse_args().tasks))
