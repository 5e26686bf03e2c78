"""Retries and faults: bulk-add under injected failures and show that every task is accounted for.

The emulator answers some requests with 503 ServerBusy (+ Retry-After) or 500, answers some tasks
with ``servererror``, and sometimes carries out a request and then drops the connection without
answering — the case where only "retry the same ids and treat TaskExists as already added" can
tell what happened. `add_collection` retries exactly the tasks that need it; afterwards each task
is in exactly one outcome, and listing the job confirms the service holds exactly the tasks
reported as added.

The faults are seeded and requests go one at a time, so a seed gives the same faults on every run:
with the default seed (10) the emulator carries out the very first request and then drops its
connection, so "added on retry" always shows.

    python examples/retries_and_faults.py [--tasks 2000] [--seed 10]
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter

from batchtasks import BatchClient, RetryPolicy, SharedKeyCredential
from batchtasks.emulator import Emulator, FaultConfig
from batchtasks.models import JobAddParameter

JOB_ID = "faulty"


async def main(tasks: int = 2000, seed: int = 10) -> Counter[str]:
    """Run the bulk add under faults; return the count per outcome (raises if anything is off)."""
    faults = FaultConfig(
        seed=seed,
        server_busy_rate=0.05,
        server_error_rate=0.05,
        task_server_error_rate=0.03,
        drop_after_commit_rate=0.05,
        retry_after_seconds=0,
    )
    # Short backoff so the example is quick; the defaults suit a real service.
    retry = RetryPolicy(max_attempts=8, backoff_initial=0.05, backoff_max=0.5, jitter=0.05)
    async with (
        Emulator(in_memory=True) as emu,
        BatchClient(
            emu.url, SharedKeyCredential(emu.account, emu.key), retry_policy=retry
        ) as client,
    ):
        await client.jobs.add(JobAddParameter(id=JOB_ID, pool_info={"pool_id": "pool-1"}))
        emu.set_faults(faults)  # faults from here on (this also re-seeds them)
        ids = [f"task-{n:05d}" for n in range(tasks)]
        result = await client.tasks.add_collection(
            JOB_ID,
            ({"id": task_id, "commandLine": "echo ok"} for task_id in ids),
            raise_on_failure=False,
            # One request at a time: the seeded faults fall on the same requests every run.
            max_concurrency=1,
        )
        outcomes = Counter(str(o.outcome) for o in result.outcomes)
        print("outcome of every task:", dict(outcomes))
        print(f"requests: {result.requests}, task retries: {result.retries}")
        print("faults injected by the emulator:", (await emu.stats())["faults"])

        # Every input task has exactly one outcome ...
        reported = [o.task_id for o in result.outcomes]
        if len(reported) != tasks or set(reported) != set(ids):
            raise SystemExit("some task has no outcome, or more than one")
        # ... and the service holds exactly the ones reported as added (none twice, none lost).
        added = {o.task_id for o in result.outcomes if o.ok}
        listed = [task.id async for task in client.tasks.list(JOB_ID, select="id")]
        if len(listed) != len(set(listed)) or set(listed) != added:
            raise SystemExit("the service and the report disagree")
        print(f"listed {len(listed)} tasks in the job: matches the {len(added)} reported added")
    return outcomes


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000, help="tasks to add (default 2000)")
    parser.add_argument("--seed", type=int, default=10, help="fault seed (default 10)")
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.seed))
