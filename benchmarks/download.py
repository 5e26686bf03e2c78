"""``nox -s bench`` (part 2): download throughput of ``client.files.get_from_task`` against a raw
aiohttp read of the same file from the same emulator, side by side as a ratio.

An emulator runs in its own process (``--location`` in a temporary directory, tasks on a fast
clock); one task runs, and a file of ``--size-mb`` random bytes is placed in its working
directory. Then, ``--reps`` times, interleaved, each in a fresh session over loopback:

* ``raw``: one signed GET with aiohttp, the body read with ``content.iter_chunked(1 MiB)`` and
  discarded (the floor: what any aiohttp client must spend);
* ``batchtasks``: ``async for chunk in client.files.get_from_task(...)`` (length checks,
  resumption bookkeeping), discarded;
* ``batchtasks to_file``: ``download.to_file(path)`` (writes in a worker thread), for reference.

The median MB/s of each and the ratio batchtasks / raw are printed (markdown) and written as
JSON, with the median CPU seconds the reading process spent (its own; the emulator is another
process), which a shared machine disturbs less than wall time. The emulator's cost (reading the
file, 256 KiB per chunk) is in every wall-time figure alike.
This is a benchmark, not a test: it asserts only that every byte arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from batchtasks import BatchClient, SharedKeyCredential
from batchtasks._private.signing import decode_key, format_ocp_date, shared_key_authorization
from batchtasks.emulator.nodefs import NodeFiles

ACCOUNT = "batchdev"
KEY = "vQ8lG5NEfsVvxCIT5tkez1NtYManOYIam2/m3QXsXQdaeuffJB85t9qjJzTXtmWeHs8jAyL6JFtfPxbzETdmog=="
API_VERSION = "2024-02-01.19.0"
CHUNK = 1024 * 1024


def _log(msg: str) -> None:
    print(f"[bench-download {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def start_emulator(location: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "batchtasks.emulator",
            "--port",
            "0",
            "--location",
            str(location),
            "--run-tasks",
            "--clock-speed",
            "1000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    found = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline())
    if not found:
        proc.kill()
        raise SystemExit("the emulator did not start")
    return proc, found.group(0)


async def prepare(url: str, nodes: NodeFiles, size: int) -> Path:
    """Run one task and put `size` random bytes in its working directory as wd/big.bin."""
    async with BatchClient(url, SharedKeyCredential(ACCOUNT, KEY)) as client:
        await client.jobs.add({"id": "bench", "poolInfo": {"poolId": "pool"}})
        await client.tasks.add("bench", {"id": "t", "commandLine": "exit 0"})
        while (task := await client.tasks.get("bench", "t")).state != "completed":
            await asyncio.sleep(0.05)
        assert task.node_info is not None
        assert task.node_info.node_id is not None
        path = nodes.task_dir(task.node_info.node_id, "bench", "t") / "wd" / "big.bin"
    with path.open("wb") as out:
        for _ in range(size // CHUNK):
            out.write(os.urandom(CHUNK))
    return path


async def read_raw(url: str, size: int) -> tuple[float, float]:
    path = "/jobs/bench/tasks/t/files/wd%2Fbig.bin"
    headers = {"ocp-date": format_ocp_date()}
    headers["authorization"] = shared_key_authorization(
        account_name=ACCOUNT,
        key=decode_key(KEY),
        method="GET",
        path=path,
        raw_query=f"api-version={API_VERSION}",
        headers=headers,
    )
    async with aiohttp.ClientSession() as session:
        started, cpu = time.perf_counter(), time.process_time()
        received = 0
        async with session.get(f"{url}{path}?api-version={API_VERSION}", headers=headers) as resp:
            assert resp.status == 200, resp.status
            async for chunk in resp.content.iter_chunked(CHUNK):
                received += len(chunk)
        elapsed = time.perf_counter() - started, time.process_time() - cpu
    assert received == size, received
    return elapsed


async def read_batchtasks(url: str, size: int, target: Path | None) -> tuple[float, float]:
    async with BatchClient(url, SharedKeyCredential(ACCOUNT, KEY)) as client:
        await client.jobs.get("bench")  # open the session and a connection, as raw does
        started, cpu = time.perf_counter(), time.process_time()
        download = client.files.get_from_task("bench", "t", "wd/big.bin")
        if target is None:
            received = 0
            async for chunk in download:
                received += len(chunk)
        else:
            received = await download.to_file(target)
        elapsed = time.perf_counter() - started, time.process_time() - cpu
    assert received == size, received
    return elapsed


Timings = dict[str, list[tuple[float, float]]]


async def measure(url: str, size: int, reps: int, scratch: Path) -> Timings:
    times: Timings = {"raw": [], "batchtasks": [], "batchtasks to_file": []}
    for rep in range(reps):
        times["raw"].append(await read_raw(url, size))
        times["batchtasks"].append(await read_batchtasks(url, size, None))
        target = scratch / "copy.bin"
        times["batchtasks to_file"].append(await read_batchtasks(url, size, target))
        target.unlink()
        _log(
            f"rep {rep + 1}/{reps}: "
            + ", ".join(f"{k} {v[-1][0]:.2f}s ({v[-1][1]:.2f}s CPU)" for k, v in times.items())
        )
    return times


def report(times: Timings, size: int) -> dict[str, Any]:
    mb = size / 1e6
    wall = {name: statistics.median(t[0] for t in values) for name, values in times.items()}
    cpu = {name: statistics.median(t[1] for t in values) for name, values in times.items()}
    rates = {name: mb / seconds for name, seconds in wall.items()}
    print(f"\n### Download throughput ({size >> 20} MiB, median of {len(times['raw'])})\n")
    print("| reader | MB/s | vs raw aiohttp | CPU s (reader) | CPU vs raw |")
    print("|---|---:|---:|---:|---:|")
    for name, rate in rates.items():
        print(
            f"| {name} | {rate:.0f} | {rate / rates['raw']:.2f} | {cpu[name]:.3f} |"
            f" {cpu[name] / cpu['raw']:.2f} |"
        )
    return {"size": size, "wall_and_cpu_seconds": times, "mb_per_s": rates, "cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--json", type=Path, default=Path("bench-download.json"))
    args = parser.parse_args()
    size = args.size_mb * CHUNK
    with tempfile.TemporaryDirectory(prefix="bench-download-") as scratch:
        location = Path(scratch) / "emulator"
        proc, url = start_emulator(location)
        try:
            _log(f"emulator at {url}; writing {args.size_mb} MiB")
            asyncio.run(prepare(url, NodeFiles(location / "nodes"), size))
            times = asyncio.run(measure(url, size, args.reps, Path(scratch)))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()
    args.json.write_text(json.dumps(report(times, size), indent=2))


if __name__ == "__main__":
    main()
