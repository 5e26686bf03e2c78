"""Benchmark: emulator ingest rate for 100-task add_collection requests, and GET latency under load.

Not a test. Starts ``python -m batchtasks.emulator`` with SQLite file persistence in a subprocess
(so client and server do not share one GIL), pre-signs every add_collection request, posts them
with N concurrent aiohttp clients, and meanwhile measures single-task GET latency.

    python benchmarks/emulator_ingest.py --tasks 100000 --concurrency 8

Prints ingest tasks/s, request latency percentiles and GET p50/p99 under load.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import email.utils
import hashlib
import hmac
import json
import random
import re
import statistics
import sys
import tempfile
import time
from urllib.parse import parse_qsl, urlsplit

import aiohttp

ACCOUNT = "batchdev"
KEY = "vQ8lG5NEfsVvxCIT5tkez1NtYManOYIam2/m3QXsXQdaeuffJB85t9qjJzTXtmWeHs8jAyL6JFtfPxbzETdmog=="
API = "2024-02-01.19.0"
CT = "application/json; odata=minimalmetadata; charset=utf-8"
STD = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)


def sign(method: str, url: str, headers: dict[str, str]) -> str:
    parts = urlsplit(url)
    low = {k.lower(): v for k, v in headers.items()}
    text = method + "\n" + "".join(low.get(h, "") + "\n" for h in STD)
    text += "".join(f"{k}:{v}\n" for k, v in sorted(low.items()) if k.startswith("ocp-") and v)
    text += f"/{ACCOUNT}{parts.path}"
    query = dict(parse_qsl(parts.query))
    text += "".join(f"\n{k}:{query[k]}" for k in sorted(query))
    mac = hmac.new(base64.b64decode(KEY), text.encode(), hashlib.sha256).digest()
    return f"SharedKey {ACCOUNT}:{base64.b64encode(mac).decode()}"


def signed(method: str, url: str, body: bytes | None = None) -> dict[str, str]:
    headers = {"ocp-date": email.utils.formatdate(usegmt=True)}
    if body is not None:
        headers["Content-Type"] = CT
        headers["Content-Length"] = str(len(body))
    headers["Authorization"] = sign(method, url, headers)
    return headers


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def start_server(location: str) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "batchtasks.emulator",
        "--location",
        location,
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    match = re.search(r"(http://\S+)", line)
    if not match:
        raise SystemExit(f"emulator did not start: {line!r}")
    return proc, match.group(1)


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = await start_server(tmp)
        try:
            await bench(base, args)
        finally:
            proc.terminate()
            await proc.wait()


async def bench(base: str, args: argparse.Namespace) -> None:
    job = "bench"
    n_requests = args.tasks // 100
    connector = aiohttp.TCPConnector(limit=args.concurrency + 4)
    async with aiohttp.ClientSession(connector=connector) as session:
        url = f"{base}/jobs?api-version={API}"
        body = json.dumps({"id": job, "poolInfo": {"poolId": "p"}}).encode()
        async with session.post(url, data=body, headers=signed("POST", url, body)) as r:
            assert r.status == 201, await r.text()

        coll_url = f"{base}/jobs/{job}/addtaskcollection?api-version={API}"
        prepared = []
        for r_i in range(n_requests):
            tasks = [
                {"id": f"task-{r_i:06d}-{t:03d}", "commandLine": f"/bin/sh -c 'echo {r_i} {t}'"}
                for t in range(100)
            ]
            payload = json.dumps({"value": tasks}).encode()
            prepared.append((payload, signed("POST", coll_url, payload)))
        queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
        for item in prepared:
            queue.put_nowait(item)
        post_lat: list[float] = []
        added = 0
        done = asyncio.Event()

        async def worker() -> None:
            nonlocal added
            while not queue.empty():
                payload, headers = queue.get_nowait()
                t0 = time.perf_counter()
                async with session.post(coll_url, data=payload, headers=headers) as resp:
                    result = await resp.json(content_type=None)
                post_lat.append(time.perf_counter() - t0)
                assert resp.status == 200, result
                added += sum(1 for v in result["value"] if v["status"] == "success")

        get_lat: list[float] = []

        async def prober() -> None:
            rng = random.Random(1)
            while not done.is_set():
                if added < 100:
                    await asyncio.sleep(0.005)
                    continue
                r_i = rng.randrange(max(1, added // 100))
                task_id = f"task-{r_i:06d}-{rng.randrange(100):03d}"
                task_url = f"{base}/jobs/{job}/tasks/{task_id}?api-version={API}"
                t0 = time.perf_counter()
                async with session.get(task_url, headers=signed("GET", task_url)) as resp:
                    await resp.read()
                get_lat.append(time.perf_counter() - t0)
                await asyncio.sleep(0.01)

        probe = asyncio.create_task(prober())
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - t0
        done.set()
        await probe

        stats_url = f"{base}/_emulator/stats"
        async with session.get(stats_url) as r:
            stats = await r.json()
    print(f"tasks added            : {added} ({stats['stored']['tasks']} stored)")
    print(f"elapsed                : {elapsed:.2f} s")
    print(f"ingest rate            : {added / elapsed:,.0f} tasks/s")
    print(
        f"add_collection latency : p50 {pct(post_lat, 50):.1f} ms, p99 {pct(post_lat, 99):.1f} ms"
    )
    if get_lat:
        print(
            f"GET under load         : n={len(get_lat)} p50 {pct(get_lat, 50):.1f} ms, "
            f"p99 {pct(get_lat, 99):.1f} ms, mean {statistics.mean(get_lat) * 1000:.1f} ms"
        )
    print(f"faults injected        : {stats['faults']}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--tasks", type=int, default=100_000)
    p.add_argument("--concurrency", type=int, default=8)
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
