"""A neutral fake of the Batch add_collection endpoint, run in its own process by benchmarks/run.py.

It answers ``POST /jobs/{job}/addtaskcollection`` (any api-version: 14.x sends 2024-02-01.19.0,
15.x sends 2025-06-01) with a success ``TaskAddResult`` per task, an optional fixed latency after
it started on the request (its own parsing included),
and counts what it received per job so that every measurement can check that the service got
exactly N unique tasks with the same content from every client.

Neutral means: the same work for every client. It does not verify Shared Key signatures, does not
validate task bodies beyond parsing the JSON, and keeps no state but counters. It must not be the
bottleneck: ``run.py`` measures its ceiling with a raw aiohttp loop and reports it.

Admin endpoints (not part of the Batch API): ``GET /_bench/stats?job=``, ``POST /_bench/config?
latency_ms=``, ``POST /_bench/forget?job=`` (drop a job's id set to free memory).

Usage: ``python benchmarks/fake_service.py [--port 0] [--latency-ms 0] [--reuse-port]``; prints
``LISTENING <port> ADMIN <admin port>`` once bound (the admin endpoints answer on both). Several
processes with ``--reuse-port`` on one port share the load; ``run.py`` adds up their counters.
Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import resource
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

try:
    # pydantic-core's parser is ~25 % faster than json.loads on these bodies; the service's CPU
    # per request matters (it must not be the bottleneck). Any JSON parser gives the same values.
    from pydantic_core import from_json as _loads
except ImportError:  # pragma: no cover - the bench environment has pydantic
    _loads = json.loads

_VALID_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z").match
_ETAG = "0x8DD2C7A5B1E4F00"
_LAST_MODIFIED = "2026-11-25T12:00:00.0000000Z"
_CONTENT_TYPE = "application/json;odata=minimalmetadata"


@dataclass
class JobStats:
    """What the service received for one job."""

    requests: int = 0
    tasks: int = 0
    ids: set[str] = field(default_factory=set)
    fingerprint: int = 0
    max_chunk: int = 0
    body_bytes: int = 0
    first_request: float | None = None
    last_response: float | None = None


def _fingerprint(task: dict[str, Any]) -> int:
    """A content checksum of one task that ignores key order and duration spelling.

    Computed for the tasks whose id ends in ``0``; summed per job, so chunking and order do not
    matter, and every client must produce the same sum for the same task set.

    (``PT1H`` and ``PT3600S`` are the same duration; clients may spell it either way.)
    """
    parts = [
        task.get("id", ""),
        task.get("displayName", ""),
        task.get("commandLine", ""),
        *(f"{r.get('httpUrl')}>{r.get('filePath')}" for r in task.get("resourceFiles", ())),
        *(f"{e.get('name')}={e.get('value')}" for e in task.get("environmentSettings", ())),
        str(task.get("constraints", {}).get("maxTaskRetryCount")),
    ]
    return zlib.crc32("\x00".join(parts).encode())


class FakeService:
    """The aiohttp application and its counters."""

    def __init__(self, latency_ms: float = 0.0) -> None:
        self.latency = latency_ms / 1000.0
        self.jobs: dict[str, JobStats] = {}
        self.app = web.Application(client_max_size=8 * 1024 * 1024)
        self.app.router.add_post("/jobs/{job}/addtaskcollection", self.add_collection)
        self.app.router.add_get("/_bench/stats", self.stats)
        self.app.router.add_post("/_bench/config", self.config)
        self.app.router.add_post("/_bench/forget", self.forget)

    async def add_collection(self, request: web.Request) -> web.Response:
        job_id = request.match_info["job"]
        now = time.perf_counter()
        # The latency counts from here: the answer goes out `latency` after the service started
        # on the request, its own parsing included (as a real service's latency would), so a
        # burst of C requests is not delayed by C parse times on top.
        answer_at = now + self.latency
        body = await request.read()
        stats = self.jobs.get(job_id)
        if stats is None:
            stats = self.jobs[job_id] = JobStats()
        if stats.first_request is None:
            stats.first_request = now
        tasks = _loads(body)["value"]
        stats.requests += 1
        stats.tasks += len(tasks)
        stats.body_bytes += len(body)
        stats.max_chunk = max(stats.max_chunk, len(tasks))
        origin = f"{request.scheme}://{request.host}"
        location = f"{origin}/jobs/{job_id}/tasks/"
        entries = []
        fp = 0
        for task in tasks:
            task_id = task["id"]
            stats.ids.add(task_id)
            # A 10 % sample keeps the check cheap (the service must not be the bottleneck).
            if task_id[-1] == "0":
                fp += _fingerprint(task)
            if not _VALID_ID(task_id):
                task_id = json.dumps(task_id)[1:-1]
            entries.append(
                f'{{"status":"success","taskId":"{task_id}","eTag":"{_ETAG}",'
                f'"lastModified":"{_LAST_MODIFIED}","location":"{location}{task_id}"}}'
            )
        stats.fingerprint = (stats.fingerprint + fp) & 0xFFFFFFFFFFFFFFFF
        payload = (
            '{"odata.metadata":"' + origin + '/$metadata#taskaddresult",'
            '"value":[' + ",".join(entries) + "]}"
        )
        if self.latency:
            delay = answer_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        stats.last_response = time.perf_counter()
        return web.Response(
            body=payload.encode(),
            headers={"Content-Type": _CONTENT_TYPE, "request-id": "00000000-0000-0000-0000-0"},
        )

    async def stats(self, request: web.Request) -> web.Response:
        job_id = request.query.get("job", "")
        s = self.jobs.get(job_id, JobStats())
        span = (
            s.last_response - s.first_request
            if s.first_request is not None and s.last_response is not None
            else None
        )
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return web.json_response(
            {
                "job": job_id,
                "requests": s.requests,
                "tasks": s.tasks,
                "unique": len(s.ids),
                "fingerprint": s.fingerprint,
                "max_chunk": s.max_chunk,
                "body_bytes": s.body_bytes,
                "span_s": span,
                "service_cpu_s": usage.ru_utime + usage.ru_stime,
                "latency_ms": self.latency * 1000.0,
            }
        )

    async def config(self, request: web.Request) -> web.Response:
        self.latency = float(request.query.get("latency_ms", "0")) / 1000.0
        return web.json_response({"latency_ms": self.latency * 1000.0})

    async def forget(self, request: web.Request) -> web.Response:
        stats = self.jobs.get(request.query.get("job", ""))
        if stats is not None:
            stats.ids = set()
        return web.json_response({})


async def _serve(port: int, latency_ms: float, reuse_port: bool) -> None:
    service = FakeService(latency_ms)
    runner = web.AppRunner(service.app, access_log=None)
    await runner.setup()
    # With --reuse-port several service processes share one port (the kernel spreads connections
    # over them); each also has its own admin port, so its counters can be read one by one.
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024, reuse_port=reuse_port or None)
    await site.start()
    admin = web.TCPSite(runner, "127.0.0.1", 0)
    await admin.start()
    print(f"LISTENING {_port_of(site)} ADMIN {_port_of(admin)}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _port_of(site: web.TCPSite) -> int:
    server = site._server
    assert server is not None
    return int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description="neutral fake add_collection service")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--reuse-port", action="store_true", help="share --port with other service processes"
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.latency_ms, args.reuse_port))


if __name__ == "__main__":
    main()
