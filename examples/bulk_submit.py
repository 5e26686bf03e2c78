"""Bulk submit: 100,000 tasks from a generator, results streamed as they arrive, live progress.

Nothing is held in memory: the tasks come from a generator, `add_collection_iter` yields each
task's outcome as soon as it is known, and only counters are kept. Runs as written against an
emulator started in this process.

    python examples/bulk_submit.py [--tasks 100000] [--max-concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from batchtasks import BatchClient, SharedKeyCredential
from batchtasks.emulator import Emulator
from batchtasks.models import JobAddParameter

JOB_ID = "bulk-submit"


def generate_tasks(count: int) -> Iterator[dict[str, object]]:
    """Tasks in the service's JSON shape, made one at a time (plain dicts are accepted too)."""
    for n in range(count):
        yield {
            "id": f"frame-{n:07d}",
            "displayName": f"Frame {n} of {count}",
            "commandLine": f"/bin/sh -c 'render --frame {n}'",
            "environmentSettings": [{"name": "FRAME", "value": str(n)}],
        }


async def main(tasks: int = 100_000, max_concurrency: int = 8) -> Counter[str]:
    """Submit `tasks` tasks; return how many ended in each outcome."""
    outcomes: Counter[str] = Counter()
    async with (
        Emulator(in_memory=True) as emu,
        BatchClient(emu.url, SharedKeyCredential(emu.account, emu.key)) as client,
    ):
        await client.jobs.add(JobAddParameter(id=JOB_ID, pool_info={"pool_id": "pool-1"}))
        started = time.perf_counter()
        with Progress(
            TextColumn("[bold]adding"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:,.0f} tasks/s"),
            TimeElapsedColumn(),
        ) as progress:
            bar = progress.add_task("add", total=tasks, rate=0.0)
            async for outcome in client.tasks.add_collection_iter(
                JOB_ID, generate_tasks(tasks), max_concurrency=max_concurrency
            ):
                outcomes[str(outcome.outcome)] += 1
                if not outcome.ok:
                    print(f"not added: {outcome.task_id}: {outcome.error_code} {outcome.reason}")
                done = outcomes.total()
                if done % 500 == 0 or done == tasks:
                    rate = done / (time.perf_counter() - started)
                    progress.update(bar, completed=done, rate=rate)
        elapsed = time.perf_counter() - started
    print(f"{outcomes.total():,} tasks in {elapsed:.1f} s: {dict(outcomes)}")
    return outcomes


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--max-concurrency", type=int, default=8)
    args = parser.parse_args()
    result = asyncio.run(main(args.tasks, args.max_concurrency))
    raise SystemExit(0 if result.total() == result["added"] else 1)
