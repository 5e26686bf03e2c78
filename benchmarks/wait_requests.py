"""How many requests waiting for a big job costs: ``tasks.wait`` against the naive loop.

Not a test. Two fresh in-memory emulators get the same job: N tasks whose ``sleep S`` spreads
their ends evenly over `--spread` simulated seconds, plus a few stragglers that end much later.
Time is simulated and moves only when a waiter sleeps (each sleep advances the emulator's clock
and runs one lifecycle step), so both waiters see exactly the same timeline and the result does
not depend on this machine's speed. The emulator's own counters give the requests.

* naive — the official samples' way: every `--interval` seconds, list every task of the job
  (``$select=id,state``, which only makes it faster; the number of requests is the same) until
  all are completed;
* batchtasks — ``tasks.wait`` with ``poll_interval=--interval`` (backing off to 4x while nothing
  changes): task counts each poll, and a listing of just the tasks that completed since the last.

The naive loop is slow to run at 100,000 tasks (every poll renders 100 pages), so it is measured
at `--naive-tasks` (default 10,000) and, when `--tasks` is larger, scaled: its number of polls
depends only on the timeline, its pages per poll are ceil(N / 1000), so the count at N is
``polls x ceil(N / 1000)`` (printed as computed, next to batchtasks measured at both sizes).

    python benchmarks/wait_requests.py              # 100,000 tasks (several minutes)
    python benchmarks/wait_requests.py --tasks 10000
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import time
from typing import Any

from batchtasks import BatchClient, RetryPolicy, SharedKeyCredential
from batchtasks._private.task_waits import DEFAULT_SELECT, ClientTaskSource
from batchtasks._private.wait_query import merge_select
from batchtasks._private.waiting import TaskWatch, WatchSettings
from batchtasks.emulator import Emulator

JOB = "bench-wait"


class SimTime:
    """The emulator's clock as the waiters see it: `sleep` advances it and steps the tasks."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await self.emulator.advance(seconds)


def _commands(n: int, spread: float, stragglers: int, late: float) -> list[dict[str, str]]:
    ends = [spread * (i + 1) / n for i in range(n)]
    ends[:stragglers] = [late] * min(stragglers, n)
    return [{"id": f"task-{i:06}", "commandLine": f"sleep {end:.3f}"} for i, end in enumerate(ends)]


async def _emulator_with_job(tasks: list[dict[str, str]]) -> tuple[Emulator, BatchClient]:
    # Nearly frozen wall clock (time moves only by `advance`); the lifecycle steps every task at
    # once (infinite nodes) and does not tick on its own. Emulator settings a benchmark needs
    # and the constructor does not offer; set before start().
    emulator = Emulator(in_memory=True, run_tasks=True, clock_speed=1e-9)
    emulator._lifecycle_config = dataclasses.replace(
        emulator._lifecycle_config,
        batch=len(tasks) + 1,
        tick_seconds=10**6,
    )
    await emulator.start()
    client = BatchClient(emulator.url, SharedKeyCredential(emulator.account, emulator.key))
    await client.__aenter__()
    await client.jobs.add({"id": JOB, "poolInfo": {"poolId": "p"}})
    await client.tasks.add_collection(JOB, tasks, max_concurrency=8)
    await emulator.advance(0)  # every task starts
    return emulator, client


async def _requests(emulator: Emulator) -> dict[str, int]:
    stats = await emulator.stats()
    by_op: dict[str, int] = stats["requests_by_operation"]
    return {k: v for k, v in by_op.items() if k in ("job_get_task_counts", "task_list", "task_get")}


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {
        k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)
    }


async def naive(tasks: list[dict[str, str]], interval: float) -> dict[str, Any]:
    emulator, client = await _emulator_with_job(tasks)
    sim = SimTime(emulator)
    try:
        before, started, polls = await _requests(emulator), time.perf_counter(), 0
        while True:
            polls += 1
            states = [t.state async for t in client.tasks.list(JOB, select="id,state")]
            if all(s == "completed" for s in states):
                break
            await sim.sleep(interval)
        requests = _delta(await _requests(emulator), before)
        return _result("naive loop (list every task each poll)", polls, requests, sim, started)
    finally:
        await client.close()
        await emulator.stop()


async def batchtasks_wait(tasks: list[dict[str, str]], interval: float) -> dict[str, Any]:
    emulator, client = await _emulator_with_job(tasks)
    sim = SimTime(emulator)
    try:
        before, started = await _requests(emulator), time.perf_counter()
        source = ClientTaskSource(client.jobs, client.tasks, JOB, merge_select(DEFAULT_SELECT), {})
        settings = WatchSettings(poll_interval=interval, max_poll_interval=4 * interval)
        watch = TaskWatch(source, JOB, settings, RetryPolicy(), clock=sim.clock, sleep=sim.sleep)
        summary = await watch.wait()
        assert summary.reached == len(tasks), summary
        requests = _delta(await _requests(emulator), before)
        polls = requests.get("job_get_task_counts", 0)
        return _result("batchtasks tasks.wait", polls, requests, sim, started)
    finally:
        await client.close()
        await emulator.stop()


def _result(
    name: str, polls: int, requests: dict[str, int], sim: SimTime, started: float
) -> dict[str, Any]:
    return {
        "waiter": name,
        "polls": polls,
        "requests": sum(requests.values()),
        "by_operation": requests,
        "simulated_seconds": round(sim.now, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--spread", type=float, default=1800.0, help="simulated seconds")
    parser.add_argument("--interval", type=float, default=15.0, help="simulated seconds")
    parser.add_argument("--stragglers", type=int, default=10)
    parser.add_argument("--straggler-end", type=float, default=3600.0, help="simulated seconds")
    parser.add_argument("--naive-tasks", type=int, default=10_000)
    args = parser.parse_args()
    small = min(args.naive_tasks, args.tasks)
    results = []
    for n in sorted({small, args.tasks}, reverse=True):
        tasks = _commands(n, args.spread, args.stragglers, args.straggler_end)
        results.append({"tasks": n, **await batchtasks_wait(tasks, args.interval)})
    tasks = _commands(small, args.spread, args.stragglers, args.straggler_end)
    measured = await naive(tasks, args.interval)
    results.append({"tasks": small, **measured})
    if args.tasks > small:
        pages = -(-args.tasks // 1000)
        results.append(
            {
                **measured,
                "tasks": args.tasks,
                "waiter": measured["waiter"] + " (computed: polls x pages)",
                "requests": measured["polls"] * pages,
                "by_operation": {"task_list": measured["polls"] * pages},
                "wall_seconds": None,
            }
        )
    print(
        f"{args.tasks:,} tasks ending over {args.spread:g} s, {args.stragglers} at "
        f"{args.straggler_end:g} s; poll every {args.interval:g} s (simulated)\n"
    )
    print("| waiter | tasks | polls | requests | of which | simulated s | wall s |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for r in results:
        ops = ", ".join(f"{k} {v:,}" for k, v in sorted(r["by_operation"].items()))
        print(
            f"| {r['waiter']} | {r['tasks']:,} | {r['polls']:,} | {r['requests']:,} | {ops} | "
            f"{r['simulated_seconds']:,} | {r['wall_seconds'] or '-'} |"
        )
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
