"""Benchmark runner: batchtasks ``client.tasks.add_collection`` (and ``add_collection_iter``).

Modes:

* ``bulk`` — the same as the SDK runners: a list of ``TaskAddParameter`` models built before
  timing, results collected (``collect_results=True``, the default), concurrency C.
* ``stream`` — a generator builds each ``TaskAddParameter`` lazily (its cost is inside the timed
  part) and results are streamed to ``on_result`` with ``collect_results=False``; the point is the
  process's peak RSS, which must stay flat however many tasks flow through.
* ``stream-iter`` — the same through ``add_collection_iter``.
* ``serialize`` — per-task ``TaskAddParameter`` -> request bytes, the path the engine uses.

Prints one ``BENCH-RESULT`` JSON line. Uses only the public API (plus the engine's encoder in
``serialize`` mode, named below).
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import sys
import time
from collections.abc import Iterator
from typing import Any

import common

from batchtasks import BatchClient, SharedKeyCredential
from batchtasks._private.bulk.sender import PipelineChunkSender
from batchtasks.models import TaskAddParameter

CLIENT = "batchtasks"


def _model(i: int, seed: int) -> TaskAddParameter:
    return TaskAddParameter.model_validate(common.wire_task(i, seed))


def _build(n: int, seed: int, start: int = 0) -> list[TaskAddParameter]:
    return [_model(i, seed) for i in range(start, start + n)]


def _generate(n: int, seed: int) -> Iterator[TaskAddParameter]:
    for i in range(n):
        yield _model(i, seed)


def _serialize_bench(seed: int) -> None:
    tasks = _build(2000, seed)

    # The bytes the engine sends for a task: `to_json_bytes()` (pydantic-core's `to_json` with
    # aliases and without nulls; the engine calls the same serializer).
    def one(task: TaskAddParameter) -> bytes:
        return task.to_json_bytes()

    common.emit_serialize(
        CLIENT, common.time_per_call(one, tasks), one(tasks[0]), path="`to_json_bytes()`"
    )


async def _sender_only(client: Any, args: Any) -> tuple[int, common.Meter]:
    """The request path alone (sign, send, check, decode): the engine's `ChunkSender`.

    Private API (``PipelineChunkSender``), for the CPU breakdown only: bodies of
    100 tasks are serialized before timing and sent by C workers, as the engine would.
    """
    tasks = _build(args.tasks, args.seed)
    bodies = [
        b'{"value":[' + b",".join(t.to_json_bytes() for t in tasks[lo : lo + 100]) + b"]}"
        for lo in range(0, len(tasks), 100)
    ]
    send = PipelineChunkSender(client._pipeline)
    pending = iter(bodies)
    done = 0

    async def worker() -> None:
        nonlocal done
        for body in pending:
            results = await send(args.job, body)
            done += sum(1 for r in results if r.get("status") == "success")

    with common.Meter() as meter:
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    return done, meter


async def _run(args: Any) -> None:
    credential = SharedKeyCredential(common.ACCOUNT, common.KEY)
    async with BatchClient(args.url, credential) as client:
        if args.warmup:
            warm = _build(args.warmup, args.seed, start=10_000_000)
            await client.tasks.add_collection(args.job + "-warmup", warm, max_concurrency=1)
        extra: dict[str, Any] = {}
        if args.mode == "bulk":
            tasks = _build(args.tasks, args.seed)
            if args.profile:
                # CPU time, not wall time: the machine is shared, and waits are not our cost.
                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
            sampler = common.Sampler() if args.sample else contextlib.nullcontext()
            with sampler, common.Meter() as meter:
                result = await client.tasks.add_collection(
                    args.job, tasks, max_concurrency=args.concurrency
                )
                # The idiomatic check (the SDK runners check their results inside the timed
                # part too): the counters, without materializing a model per task.
                ok = result.counts.get("added", 0)
            if args.profile:
                profiler.disable()
                profiler.dump_stats(args.profile)
            if isinstance(sampler, common.Sampler):
                sampler.dump(args.sample)
            # What reading `.value` (one TaskAddResult model per task, built lazily) costs.
            with common.Meter(count=False) as value_meter:
                statuses = [str(r.status) for r in result.value or ()]
            if statuses.count("success") != ok:
                raise SystemExit(f"{CLIENT}: .value disagrees with .counts")
            extra["value_us_per_task"] = round(value_meter.cpu / args.tasks * 1e6, 2)
        elif args.mode == "sender":
            ok, meter = await _sender_only(client, args)
        else:
            extra["rss_before_mb"] = round(common.peak_rss_mb(), 1)
            counts: dict[str, int] = {}

            def on_result(outcome: Any) -> None:
                key = str(outcome.outcome)
                counts[key] = counts.get(key, 0) + 1

            with common.Meter() as meter:
                if args.mode == "stream":
                    await client.tasks.add_collection(
                        args.job,
                        _generate(args.tasks, args.seed),
                        max_concurrency=args.concurrency,
                        collect_results=False,
                        on_result=on_result,
                    )
                else:
                    async for outcome in client.tasks.add_collection_iter(
                        args.job, _generate(args.tasks, args.seed), max_concurrency=args.concurrency
                    ):
                        on_result(outcome)
            ok = counts.get("added", 0)
            extra["outcomes"] = counts
    if ok != args.tasks:
        raise SystemExit(f"{CLIENT}: {ok} of {args.tasks} tasks reported success")
    common.emit(CLIENT, args, meter, reported_success=ok, **extra)


def main() -> None:
    args = common.parse_args()
    if args.mode == "serialize":
        _serialize_bench(args.seed)
    else:
        asyncio.run(_run(args))


if __name__ == "__main__":
    sys.exit(main())
