"""Benchmark runner: the fake service's ceiling, measured with a raw aiohttp loop.

The request bodies (100 tasks each, the same tasks as every client sends) are serialized before
timing and posted unsigned by C workers over one ``aiohttp.ClientSession``, so the timed part is
almost only the service's work plus aiohttp's per-request cost. This is the "service alone"
reference: if a client comes close to it, the service was the bottleneck. Not a client to compare.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import common

CLIENT = "raw aiohttp (pre-serialized, unsigned)"
_HEADERS = {"Content-Type": "application/json; odata=minimalmetadata; charset=utf-8"}


def _bodies(n: int, seed: int, start: int = 0) -> list[bytes]:
    bodies = []
    for lo in range(start, start + n, 100):
        chunk = [common.wire_task(i, seed) for i in range(lo, min(lo + 100, start + n))]
        bodies.append(json.dumps({"value": chunk}, separators=(",", ":")).encode())
    return bodies


async def _post_all(session: aiohttp.ClientSession, url: str, bodies: list[bytes], c: int) -> int:
    pending = iter(bodies)
    done = 0

    async def worker() -> None:
        nonlocal done
        for body in pending:
            async with session.post(url, data=body, headers=_HEADERS) as resp:
                payload = await resp.read()
                if resp.status != 200:
                    raise SystemExit(f"service answered {resp.status}")
                done += len(json.loads(payload)["value"])

    await asyncio.gather(*(worker() for _ in range(c)))
    return done


async def _bulk(args: Any) -> None:
    url = f"{args.url}/jobs/{args.job}/addtaskcollection?api-version=2024-02-01.19.0"
    async with aiohttp.ClientSession() as session:
        if args.warmup:
            warm_url = url.replace(args.job, args.job + "-warmup")
            await _post_all(session, warm_url, _bodies(args.warmup, args.seed, 10_000_000), 1)
        bodies = _bodies(args.tasks, args.seed)
        admins = common.admin_urls(args)
        before = common.service_stats(admins, args.job)["service_cpu_s"]
        with common.Meter() as meter:
            done = await _post_all(session, url, bodies, args.concurrency)
    if done != args.tasks:
        raise SystemExit(f"{CLIENT}: {done} of {args.tasks} results")
    after = common.service_stats(admins, args.job)["service_cpu_s"]
    service_cpu = after - before
    common.emit(
        CLIENT,
        args,
        meter,
        service_cpu_s=round(service_cpu, 4),
        service_cpu_us_per_task=round(service_cpu / args.tasks * 1e6, 2),
        service_ceiling_tasks_per_s=round(args.tasks / service_cpu, 0) if service_cpu else None,
    )


def main() -> None:
    args = common.parse_args()
    if args.mode != "bulk":
        raise SystemExit(f"{CLIENT}: mode {args.mode} not supported")
    asyncio.run(_bulk(args))


if __name__ == "__main__":
    main()
