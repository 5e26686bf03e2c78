"""``nox -s bench`` (part 4): what hostile answers and held connections cost (docs/reliability.md).

Client side, against a raw-socket server on 127.0.0.1 in this process (one client, default
limits): for each answer the wall time of the call, the peak RSS growth of the process (sampled
every 2 ms on a thread) and the longest stall of the event loop (a 1 ms ticker task):

* ``tasks.get`` answered with a 2 GiB body (Content-Length, sent as fast as loopback allows);
* ``tasks.get`` answered with a 1 GiB gzip bomb (about 1 MB on the wire);
* ``add_collection`` answered with 1,000,000 foreign results (45 MB);
* ``tasks.list``: a typical page (1,000 tasks with 20 environment settings), and pages just
  under the 16 MiB page limit: 1,000 tasks with 450 environment
  settings each (the costliest shape to validate), and 150,000 tiny tasks.

Emulator side: ``python -m batchtasks.emulator`` limited to 256 open files, 2,000 connections
held open (half idle, half with a half-sent request head), then 20 signed requests: how many are
answered, the emulator's open files, and what it wrote to stderr.

A benchmark, not a test: it prints a markdown table (and ``--json FILE``) and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' helpers
from batchtasks import BatchClient, BatchTasksError, RetryPolicy, SharedKeyCredential, Timeout
from batchtasks._private.signing import decode_key, format_ocp_date, shared_key_authorization
from batchtasks.emulator import DEV_ACCOUNT, DEV_KEY
from tests.reliability._wire import hold_connections

MIB = 1024 * 1024
Writer = Callable[[asyncio.StreamWriter], Awaitable[None]]


def _head(status: int, **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} X", "Content-Type: application/json"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _send_body(writer: asyncio.StreamWriter, body: bytes, **headers: str) -> None:
    writer.write(_head(200, Content_Length=str(len(body)), **headers))
    view = memoryview(body)
    for start in range(0, len(body), MIB):
        writer.write(view[start : start + MIB])
        await writer.drain()


async def _two_gib(writer: asyncio.StreamWriter) -> None:
    writer.write(_head(200, Content_Length=str(2048 * MIB)))
    chunk = b'{"id":"' + b"x" * (MIB - 7)
    for _ in range(2048):
        writer.write(chunk)
        await writer.drain()


def _bomb(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MIB)
    return b"".join(packer.compress(zeros) for _ in range(size // MIB)) + packer.flush()


def _foreign_results(count: int) -> bytes:
    one = b'{"status":"success","taskId":"foreign-%d"}'
    return b'{"value":[' + b",".join(one % i for i in range(count)) + b"]}"


def _page(tasks: int, settings: int) -> bytes:
    env = json.dumps([{"name": f"N{i}", "value": "v"} for i in range(settings)])
    task = '{"id":"t%d","state":"active","commandLine":"x","environmentSettings":' + env + "}"
    return ('{"value":[' + ",".join(task % i for i in range(tasks)) + "]}").encode()


class Probe:
    """Peak RSS growth (thread) and the longest event-loop stall (ticker task) of a block."""

    def __init__(self) -> None:
        self.base = psutil.Process().memory_info().rss
        self.peak = self.base
        self.stall = 0.0
        self._stop = threading.Event()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, me.memory_info().rss)
            self._stop.wait(0.002)

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            self.stall = max(self.stall, time.perf_counter() - before - 0.001)

    async def run(self, call: Callable[[], Awaitable[Any]]) -> tuple[float, str]:
        thread = threading.Thread(target=self._sample, daemon=True)
        thread.start()
        ticker = asyncio.create_task(self._tick())
        started = time.perf_counter()
        try:
            outcome = await call()
            result = f"ok ({outcome})"
        except BatchTasksError as exc:
            result = type(exc).__name__
        elapsed = time.perf_counter() - started
        ticker.cancel()
        self._stop.set()
        thread.join()
        return elapsed, result


async def client_side() -> list[dict[str, Any]]:
    behaviour: list[Writer] = []

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: (\d+)", head)
                if length:
                    await reader.readexactly(int(length.group(1)))
                await behaviour[0](writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    bomb = _bomb(1024 * MIB)
    foreign = _foreign_results(1_000_000)
    typical = _page(1000, 20)
    heavy = _page(1000, 450)
    tiny = _page(150_000, 0)
    tasks = [{"id": f"t{i}", "commandLine": "x"} for i in range(100)]
    cases: list[tuple[str, Writer, Callable[[BatchClient], Awaitable[Any]]]] = [
        ("tasks.get, 2 GiB body", _two_gib, lambda c: c.tasks.get("j", "t")),
        (
            f"tasks.get, gzip bomb ({len(bomb) / 1e6:.1f} MB -> 1 GiB)",
            lambda w: _send_body(w, bomb, Content_Encoding="gzip"),
            lambda c: c.tasks.get("j", "t"),
        ),
        (
            f"add_collection, 1,000,000 foreign results ({len(foreign) / 1e6:.0f} MB)",
            lambda w: _send_body(w, foreign),
            lambda c: c.tasks.add_collection("j", tasks, raise_on_failure=False, max_attempts=1),
        ),
        (
            f"tasks.list, 1,000 tasks x 20 settings ({len(typical) / 1e6:.1f} MB)",
            lambda w: _send_body(w, typical),
            lambda c: _count(c.tasks.list("j").to_list()),
        ),
        (
            f"tasks.list, 1,000 tasks x 450 settings ({len(heavy) / 1e6:.1f} MB)",
            lambda w: _send_body(w, heavy),
            lambda c: _count(c.tasks.list("j").to_list()),
        ),
        (
            f"tasks.list, 150,000 tiny tasks ({len(tiny) / 1e6:.1f} MB)",
            lambda w: _send_body(w, tiny),
            lambda c: _count(c.tasks.list("j").to_list()),
        ),
    ]
    rows = []
    try:
        for name, write, call in cases:
            behaviour[:] = [write]
            async with BatchClient(
                url,
                SharedKeyCredential("acct", "a2V5"),
                retry_policy=RetryPolicy(max_attempts=1),
                timeout=Timeout(connect=5, read=60, total=120),
            ) as client:
                probe = Probe()
                elapsed, result = await probe.run(lambda call=call, client=client: call(client))
            rows.append(
                {
                    "answer": name,
                    "result": result,
                    "seconds": round(elapsed, 3),
                    "peak_rss_growth_mb": round((probe.peak - probe.base) / MIB, 1),
                    "longest_loop_stall_ms": round(probe.stall * 1000, 1),
                }
            )
    finally:
        server.close()
        await server.wait_closed()
    return rows


async def _count(items: Awaitable[list[Any]]) -> str:
    return f"{len(await items)} items"


def _signed_get(port: int) -> bytes:
    date = format_ocp_date()
    auth = shared_key_authorization(
        account_name=DEV_ACCOUNT,
        key=decode_key(DEV_KEY),
        method="GET",
        path="/jobs",
        raw_query="api-version=2024-02-01.19.0",
        headers=[("ocp-date", date)],
    )
    return (
        f"GET /jobs?api-version=2024-02-01.19.0 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"ocp-date: {date}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
    ).encode()


def held_connections(held: int = 2000, files: int = 256) -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < held + 512:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(held + 512, hard), hard))
    proc = subprocess.Popen(
        [sys.executable, "-m", "batchtasks.emulator", "--in-memory", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (files, files)),
    )
    assert proc.stdout is not None
    ready = re.search(r":(\d+) ", proc.stdout.readline().decode())
    assert ready is not None
    port = int(ready.group(1))
    sockets = hold_connections(port, held)
    answered, waits = 0, []
    for _ in range(20):
        started = time.perf_counter()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
                sock.sendall(_signed_get(port))
                answered += sock.recv(12).startswith(b"HTTP/1.1 200")
        except OSError:
            pass
        waits.append(time.perf_counter() - started)
    open_files = psutil.Process(proc.pid).num_fds()
    for sock in sockets:
        sock.close()
    proc.terminate()
    _, stderr = proc.communicate(timeout=30)
    return {
        "held": len(sockets),
        "answered_of_20": answered,
        "slowest_answer_ms": round(max(waits) * 1000, 1),
        "emulator_open_files": open_files,
        "file_limit": files,
        "stderr_bytes": len(stderr),
        "tracebacks": stderr.count(b"Traceback"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    rows = asyncio.run(client_side())
    print("| answer | result | s | peak RSS growth (MB) | longest loop stall (ms) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['answer']} | {r['result']} | {r['seconds']} | {r['peak_rss_growth_mb']} | "
            f"{r['longest_loop_stall_ms']} |"
        )
    held = held_connections()
    print()
    print(
        f"held connections: {held['held']} held, {held['answered_of_20']}/20 answered "
        f"(slowest {held['slowest_answer_ms']} ms), emulator open files "
        f"{held['emulator_open_files']}/{held['file_limit']}, stderr {held['stderr_bytes']} "
        f"bytes, {held['tracebacks']} tracebacks"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"answers": rows, "held": held}, indent=2))


if __name__ == "__main__":
    main()
