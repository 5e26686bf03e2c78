"""An async service that submits tasks, follows them to the end and collects what they wrote.

It submits N tasks (some slow, some failing on purpose), then handles each task the moment it
completes — ``client.tasks.watch`` yields every task exactly once, as `asyncio.as_completed`
does for futures — and reads its ``stdout.txt`` while the others are still running. The watch
costs what changed, not the job's size: one task-counts request per poll, and a listing of only
the tasks that completed since the last one. At the end it prints the `WaitSummary`.

Runs as written against an emulator started in this process; for a real account replace the
emulator block with ``BatchClient("https://ACCOUNT.REGION.batch.azure.com", credential)``.

    python examples/watch_and_collect.py [--tasks N]
"""

from __future__ import annotations

import argparse
import asyncio

from batchtasks import BatchClient, CloudTask, SharedKeyCredential, WaitSummary
from batchtasks.emulator import Emulator
from batchtasks.models import JobAddParameter, TaskAddParameter

JOB_ID = "collect"


class ResultCollector:
    """Follows one job: each finished task's output is read as soon as the task completes.

    Args:
        client: an open client (shared; the collector never closes it).
        job_id: the job to follow.
        readers: outputs read at once at most.
    """

    def __init__(self, client: BatchClient, job_id: str, *, readers: int = 8) -> None:
        self.client = client
        self.job_id = job_id
        self.outputs: dict[str, str] = {}
        self._slots = asyncio.Semaphore(readers)

    async def run(self, *, timeout: float | None = None) -> WaitSummary:
        """Handle every task as it completes; return the summary (WaitTimeoutError on timeout)."""
        readers: set[asyncio.Task[None]] = set()
        watch = self.client.tasks.watch(self.job_id, poll_interval=0.2, timeout=timeout)
        try:
            async with watch:
                async for task in watch:
                    info = task.execution_info
                    code = None if info is None else info.exit_code
                    print(f"done: {task.id} (exit code {code})")
                    reader = asyncio.create_task(self._collect(task))
                    readers.add(reader)
                    reader.add_done_callback(readers.discard)
            await asyncio.gather(*readers)
        finally:
            for reader in readers:  # cancelled or failed: leave nothing running
                reader.cancel()
        return watch.summary

    async def _collect(self, task: CloudTask) -> None:
        assert task.id is not None
        async with self._slots:
            self.outputs[task.id] = await self.read_output(task.id)

    async def read_output(self, task_id: str) -> str:
        """The task's stdout.txt as text."""
        download = self.client.files.get_from_task(self.job_id, task_id, "stdout.txt")
        return (await download.read()).decode("utf-8", errors="replace")


async def main(tasks: int = 20) -> WaitSummary:
    """Submit `tasks` tasks, collect their outputs as they finish, print the summary."""
    async with (
        Emulator(in_memory=True, run_tasks=True, clock_speed=20.0) as emu,
        BatchClient(emu.url, SharedKeyCredential(emu.account, emu.key)) as client,
    ):
        await client.jobs.add(JobAddParameter(id=JOB_ID, pool_info={"pool_id": "pool-1"}))
        batch = [
            TaskAddParameter(
                id=f"part-{n:03d}",
                # Different run times (simulated seconds), and every seventh task fails.
                command_line=f"/bin/sh -c 'sleep {(n * 13) % 30}; echo part {n}"
                + ("; exit 2'" if n % 7 == 6 else "'"),
            )
            for n in range(tasks)
        ]
        await client.tasks.add_collection(JOB_ID, batch)

        collector = ResultCollector(client, JOB_ID)
        summary = await collector.run(timeout=300)
        print(summary.describe())
        for task_id in sorted(collector.outputs):
            first_line = collector.outputs[task_id].splitlines()[:1]
            print(f"stdout {task_id}: {first_line[0] if first_line else ''}")
        return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    asyncio.run(main(parser.parse_args().tasks))
