"""Profile batchtasks' bulk add request path against a running fake service (a helper's tool).

Usage: ``python benchmarks/profile_bulk.py --url http://127.0.0.1:PORT [--mode sender|bulk]
[-n 20000] [-c 8] [--profile [--top 30]] [--timeline]``. ``sender`` sends pre-serialized
100-task bodies through the engine's ``ChunkSender`` (request path only); ``bulk`` runs
``add_collection``.
Prints the top functions by own CPU time (cProfile with a CPU clock). With ``--timeline`` (bulk
mode, no profiler) prints when each request started and ended relative to the call, to see
pipeline stalls under latency. Measures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import time
from typing import Any

import common

from batchtasks import BatchClient, SharedKeyCredential
from batchtasks._private.bulk.sender import PipelineChunkSender
from batchtasks.models import TaskAddParameter


async def _main(args: Any) -> None:
    tasks = [TaskAddParameter.model_validate(common.wire_task(i)) for i in range(args.tasks)]
    job = f"prof{time.time_ns()}"
    async with BatchClient(
        args.url, SharedKeyCredential(common.ACCOUNT, common.KEY), max_connections=max(64, args.c)
    ) as client:
        if args.warm_connections:
            # As many connections as workers already open (to see what connection set-up costs).
            warm = [
                TaskAddParameter.model_validate(common.wire_task(i))
                for i in range(10_000_000, 10_000_000 + 100 * args.c)
            ]
            await client.tasks.add_collection(job + "w", warm, max_concurrency=args.c)
        else:
            await client.tasks.add_collection(job + "w", tasks[:100], max_concurrency=1)
        send = PipelineChunkSender(client._pipeline)
        events: list[tuple[float, float]] = []
        t0 = time.perf_counter()
        if args.timeline:
            untimed = PipelineChunkSender.__call__

            async def timed(self: Any, job_id: str, body: bytes, **kwargs: Any) -> Any:
                started = time.perf_counter() - t0
                try:
                    return await untimed(self, job_id, body, **kwargs)
                finally:
                    events.append((started, time.perf_counter() - t0))

            PipelineChunkSender.__call__ = timed  # type: ignore[method-assign]
        bodies = [
            b'{"value":[' + b",".join(t.to_json_bytes() for t in tasks[lo : lo + 100]) + b"]}"
            for lo in range(0, len(tasks), 100)
        ]
        pending = iter(bodies)

        async def worker() -> None:
            for body in pending:
                await send(job, body)

        profiler = cProfile.Profile(time.process_time)
        c0 = time.process_time()
        t0 = time.perf_counter()
        if args.profile:
            profiler.enable()
        if args.no_gc:
            gc.disable()
        gc_time = [0.0, 0.0, 0.0]
        gc_count = [0, 0, 0]
        gc_started = [0.0]

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                gc_started[0] = time.perf_counter()
            else:
                gc_time[info["generation"]] += time.perf_counter() - gc_started[0]
                gc_count[info["generation"]] += 1

        gc.callbacks.append(on_gc)
        if args.mode == "bulk":
            await client.tasks.add_collection(job, tasks, max_concurrency=args.c)
        else:
            await asyncio.gather(*(worker() for _ in range(args.c)))
        profiler.disable()
        gc.enable()
        gc.callbacks.remove(on_gc)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
    print(f"wall {wall * 1000:.1f} ms, cpu {cpu / args.tasks * 1e6:.2f} us/task")
    print("gc collections per generation", gc_count, "ms", [round(t * 1000, 1) for t in gc_time])
    if args.timeline:
        events.sort()
        for started, ended in events:
            print(f"{started * 1000:8.1f} -> {ended * 1000:8.1f} ms")
    elif args.profile:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--mode", choices=("sender", "bulk"), default="sender")
    parser.add_argument("-n", "--tasks", type=int, default=20_000)
    parser.add_argument("-c", type=int, default=8)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--timeline", action="store_true")
    parser.add_argument("--warm-connections", action="store_true", help="open C connections first")
    parser.add_argument("--no-gc", action="store_true", help="cyclic GC off in the timed part")
    parser.add_argument("--profile", action="store_true", help="cProfile (CPU clock)")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
