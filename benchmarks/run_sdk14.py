"""Benchmark runner: azure-batch 14.2.0 (msrest, requests) ``task.add_collection(threads=C)``.

Used the way its documentation shows: ``TaskAddParameter`` models built before timing, one
``BatchServiceClient`` with ``SharedKeyCredentials``, default requests/urllib3 settings (its
connection pool keeps 10 connections per host; more threads than that open and drop extra
connections, which is what a user of 14.x gets). Prints one ``BENCH-RESULT`` JSON line.
Must not tune the SDK beyond its public arguments.
"""

from __future__ import annotations

import json
import logging

import common
from azure.batch import BatchServiceClient
from azure.batch import models as batch_models
from azure.batch.batch_auth import SharedKeyCredentials
from msrest import Serializer

CLIENT = "azure-batch 14.2.0"


def _build(n: int, seed: int, start: int = 0) -> list[batch_models.TaskAddParameter]:
    return [
        batch_models.TaskAddParameter.deserialize(common.wire_task(i, seed))
        for i in range(start, start + n)
    ]


def _serialize_bench(seed: int) -> None:
    tasks = _build(2000, seed)
    client_models = {k: v for k, v in vars(batch_models).items() if isinstance(v, type)}
    serializer = Serializer(client_models)

    # What the SDK does per task inside add_collection: the model to a JSON-able dict, then
    # the body through json.dumps (msrest's defaults: ensure_ascii, ", " separators).
    def one(task: batch_models.TaskAddParameter) -> bytes:
        return json.dumps(serializer.body(task, "TaskAddParameter")).encode()

    common.emit_serialize(CLIENT, common.time_per_call(one, tasks), one(tasks[0]))


def main() -> None:
    args = common.parse_args()
    # With more threads than pool connections urllib3 logs a warning per dropped connection.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    if args.mode == "serialize":
        _serialize_bench(args.seed)
        return
    if args.mode != "bulk":
        raise SystemExit(f"{CLIENT}: mode {args.mode} not supported")
    client = BatchServiceClient(SharedKeyCredentials(common.ACCOUNT, common.KEY), args.url)
    if args.warmup:
        warm = _build(args.warmup, args.seed, start=10_000_000)
        client.task.add_collection(args.job + "-warmup", warm, threads=1)
    tasks = _build(args.tasks, args.seed)
    with common.Meter() as meter:
        result = client.task.add_collection(args.job, tasks, threads=args.concurrency)
        ok = sum(1 for r in result.value if r.status == batch_models.TaskAddStatus.success)
    if ok != args.tasks:
        raise SystemExit(f"{CLIENT}: {ok} of {args.tasks} tasks reported success")
    common.emit(CLIENT, args, meter, reported_success=ok)


if __name__ == "__main__":
    main()
