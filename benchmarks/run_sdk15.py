"""Benchmark runner: azure-batch 15.1.0 (azure-core, aiohttp) async ``BatchClient.create_tasks``.

15.x has the same distribution name as the 14.2.0 in the dev venv, so ``run.py`` installs it into
its own directory and starts this script as ``python -S`` with ``PYTHONPATH`` set to that
directory only (no site-packages: nothing of 14.x or batchtasks is importable here).

Used as documented: ``BatchTaskCreateOptions`` models built before timing, one async
``BatchClient`` with an ``AzureNamedKeyCredential``, ``create_tasks(max_concurrency=C)``, default
transport. Plain http to 127.0.0.1 needs no workaround: the Shared Key policy
(``BatchSharedKeyAuthPolicy``) is a ``SansIOHTTPPolicy`` with no https check (only the bearer
token policy insists on TLS). Prints one ``BENCH-RESULT`` JSON line.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import common
from azure.batch import models as batch_models
from azure.batch._utils.model_base import SdkJSONEncoder
from azure.batch.aio import BatchClient
from azure.core.credentials import AzureNamedKeyCredential

CLIENT = "azure-batch 15.1.0"


def _build(n: int, seed: int, start: int = 0) -> list[batch_models.BatchTaskCreateOptions]:
    return [
        batch_models.BatchTaskCreateOptions(common.wire_task(i, seed))
        for i in range(start, start + n)
    ]


def _serialize_bench(seed: int) -> None:
    tasks = _build(2000, seed)

    # What create_task_collection does with the body (json.dumps with the SDK's encoder),
    # per task.
    def one(task: Any) -> bytes:
        return json.dumps(task, cls=SdkJSONEncoder, exclude_readonly=True).encode()

    common.emit_serialize(CLIENT, common.time_per_call(one, tasks), one(tasks[0]))


async def _bulk(args: Any) -> None:
    credential = AzureNamedKeyCredential(common.ACCOUNT, common.KEY)
    async with BatchClient(args.url, credential) as client:
        if args.warmup:
            warm = _build(args.warmup, args.seed, start=10_000_000)
            await client.create_tasks(args.job + "-warmup", warm, max_concurrency=1)
        tasks = _build(args.tasks, args.seed)
        with common.Meter() as meter:
            result = await client.create_tasks(args.job, tasks, max_concurrency=args.concurrency)
            success = batch_models.BatchTaskAddStatus.SUCCESS
            ok = sum(1 for r in result.result_values or () if r.status == success)
    if ok != args.tasks:
        raise SystemExit(f"{CLIENT}: {ok} of {args.tasks} tasks reported success")
    common.emit(CLIENT, args, meter, reported_success=ok)


def main() -> None:
    args = common.parse_args()
    logging.getLogger("azure").setLevel(logging.WARNING)
    if args.mode == "serialize":
        _serialize_bench(args.seed)
    elif args.mode == "bulk":
        asyncio.run(_bulk(args))
    else:
        raise SystemExit(f"{CLIENT}: mode {args.mode} not supported")


if __name__ == "__main__":
    main()
