"""Benchmark: how many trivial tasks (``/bin/true``) the executing emulator runs per second.

Not a test. Starts ``python -m batchtasks.emulator --execute --in-memory`` in its own process
(client and emulator do not share a GIL), adds N ``/bin/true`` tasks with one add_collection
call of the batchtasks client, and waits until the job's statistics count N succeeded tasks.

    python benchmarks/emulator_execute.py --tasks 2000 --nodes 2 --slots 4

Prints: tasks/s from the first add to the last completion; CPU time per task (user + system) of
the emulator process itself (the overhead: HTTP, SQLite, scheduling, spawning) and of the task
processes it started (``/bin/sh`` shim + ``/bin/true``); and the median ``endTime - startTime``
the service reports for one run (queueing for a step included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

import psutil

from batchtasks import BatchClient, SharedKeyCredential
from batchtasks.emulator.constants import DEV_ACCOUNT, DEV_KEY
from batchtasks.models import JobAddParameter, TaskAddParameter


def _cpu(proc: psutil.Process) -> tuple[float, float]:
    """CPU seconds of the emulator process itself, and of the task processes it reaped."""
    t = proc.cpu_times()
    return t.user + t.system, t.children_user + t.children_system


async def measure(url: str, proc: psutil.Process, tasks: int) -> dict[str, float]:
    async with BatchClient(url, SharedKeyCredential(DEV_ACCOUNT, DEV_KEY)) as client:
        await client.jobs.add(JobAddParameter(id="bench", pool_info={"pool_id": "local"}))
        batch = [TaskAddParameter(id=f"t{n:06d}", command_line="/bin/true") for n in range(tasks)]
        cpu0, t0 = _cpu(proc), time.perf_counter()
        await client.tasks.add_collection("bench", batch)
        while True:
            job = await client.jobs.get("bench", expand="stats")
            done = int((job.stats or {}).get("numSucceededTasks", 0))
            if done >= tasks:
                break
            await asyncio.sleep(0.05)
        elapsed, cpu = time.perf_counter() - t0, _cpu(proc)
        runs = [
            (t.execution_info.end_time - t.execution_info.start_time).total_seconds()
            async for t in client.tasks.list("bench", select="id,executionInfo")
            if t.execution_info and t.execution_info.end_time and t.execution_info.start_time
        ]
    return {
        "tasks": tasks,
        "seconds": round(elapsed, 3),
        "tasks_per_second": round(tasks / elapsed, 1),
        "emulator_cpu_ms_per_task": round((cpu[0] - cpu0[0]) / tasks * 1000, 3),
        "process_cpu_ms_per_task": round((cpu[1] - cpu0[1]) / tasks * 1000, 3),
        "median_run_ms": round(statistics.median(runs) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--slots", type=int, default=4, help="task slots per node")
    args = parser.parse_args()
    command = [
        sys.executable, "-m", "batchtasks.emulator", "--execute", "--in-memory",
        "--nodes", str(args.nodes), "--task-slots-per-node", str(args.slots),
    ]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split(" on ", 1)[1].split()[0]
        figures = asyncio.run(measure(url, psutil.Process(server.pid), args.tasks))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps({"nodes": args.nodes, "slots_per_node": args.slots, **figures}))


if __name__ == "__main__":
    main()
