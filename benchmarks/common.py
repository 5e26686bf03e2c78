"""Shared pieces of the benchmark runners: the task set, the CLI, measuring and reporting.

Stdlib only: the azure-batch 15.x runner imports this module from an interpreter that sees nothing
but the 15.x install (``python -S``), so it must not import batchtasks, aiohttp or psutil.
It must not measure anything itself beyond what a runner asks for (wall clock, process CPU, RSS).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

#: A fixed Shared Key. The fake service does not verify signatures (the same cost for every
#: client), but every SDK needs a credential and signs every request with it.
ACCOUNT = "batchdev"
KEY = "vQ8lG5NEfsVvxCIT5tkez1NtYManOYIam2/m3QXsXQdaeuffJB85t9qjJzTXtmWeHs8jAyL6JFtfPxbzETdmog=="

RESULT_PREFIX = "BENCH-RESULT "

#: Set by run.py for a runner it starts under callgrind (``--instr-atstart=no``): `Meter` then
#: switches instruction counting on for exactly the timed block, so that imports, model building
#: and the warm-up are not counted.
CALLGRIND = os.environ.get("BENCH_CALLGRIND") == "1"


def _callgrind(state: str) -> None:
    subprocess.run(
        ["callgrind_control", f"--instr={state}", str(os.getpid())],
        check=True,
        capture_output=True,
    )


_QUALITIES = ("draft", "preview", "high", "final")
_SCENES = ("harbour", "forest", "city-night", "desert", "interior-03", "orbit")


def wire_task(i: int, seed: int = 0) -> dict[str, Any]:
    """One realistic task as the service sees it (camelCase JSON), determined by ``(i, seed)``.

    About 700 bytes of JSON: a command line, a display name, two resource files with SAS URLs,
    three environment settings and constraints with an ISO 8601 duration.
    """
    # A multiplicative hash instead of random.Random: seeding a PRNG per task would cost more
    # than some of the clients under test spend per task.
    h = (i * 2654435761 + seed * 40503 + 12345) & 0xFFFFFFFF
    scene = _SCENES[h % len(_SCENES)]
    quality = _QUALITIES[(h >> 8) % len(_QUALITIES)]
    first = (h >> 4) % 5000
    sig = f"{h:08x}{(h * 31) & 0xFFFFFFFF:08x}{(h * 131) & 0xFFFFFFFF:08x}"
    sas = f"sv=2024-08-04&se=2026-12-31T00%3A00%3A00Z&sr=b&sp=r&sig={sig}%3D"
    base = f"https://benchstore.blob.core.windows.net/scenes/{scene}"
    return {
        "id": f"task-{i:07d}",
        "displayName": f"render {scene} frames {first}-{first + 24} ({quality})",
        "commandLine": (
            f"/bin/sh -c 'python3 render.py --scene {scene} --frames {first}-{first + 24}"
            f" --quality {quality} --out $AZ_BATCH_TASK_WORKING_DIR/out'"
        ),
        "resourceFiles": [
            {"httpUrl": f"{base}/shard-{i % 997:05d}.tar?{sas}", "filePath": "inputs/shard.tar"},
            {"httpUrl": f"{base}/render.py?{sas}", "filePath": "render.py"},
        ],
        "environmentSettings": [
            {"name": "SCENE", "value": scene},
            {"name": "QUALITY", "value": quality},
            {"name": "FIRST_FRAME", "value": str(first)},
        ],
        "constraints": {"maxWallClockTime": "PT1H", "maxTaskRetryCount": 2},
    }


def wire_tasks(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """The first ``n`` tasks of the benchmark's task set, lazily."""
    return (wire_task(i, seed) for i in range(n))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line every runner accepts."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="base URL of the fake service")
    parser.add_argument("--job", required=True, help="job id (unique per measurement)")
    parser.add_argument(
        "--admin",
        default=None,
        help="comma-separated admin base URLs of the service processes (default: --url)",
    )
    parser.add_argument("-n", "--tasks", type=int, default=20_000)
    parser.add_argument("-c", "--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--mode",
        choices=("bulk", "stream", "stream-iter", "serialize", "sender"),
        default="bulk",
        help="bulk: a list, results collected; stream: a generator, results streamed "
        "(batchtasks only); stream-iter: the same through add_collection_iter; "
        "serialize: per-task serialization micro-benchmark; sender: pre-serialized bodies "
        "through batchtasks' request path without the bulk engine",
    )
    parser.add_argument("--warmup", type=int, default=100, help="tasks sent once before timing")
    parser.add_argument("--profile", default=None, help="write a cProfile of the timed part here")
    parser.add_argument(
        "--sample",
        default=None,
        help="write a CPU-time sampling profile (JSON) of the timed part here; unlike cProfile "
        "it barely slows the client, so timing-dependent costs stay visible",
    )
    return parser.parse_args(argv)


@dataclass
class Meter:
    """Wall clock and CPU time of this process (all threads) across a ``with`` block.

    ``runqueue_wait`` covers the main thread only (all the asyncio clients' work; for the
    threaded 14.x client it is not meaningful). ``count=False`` marks a block that is not the
    measured call (it is left out of the instruction count under callgrind).
    """

    count: bool = True

    wall: float = 0.0
    cpu: float = 0.0
    user: float = 0.0
    system: float = 0.0
    _t0: float = field(default=0.0, repr=False)
    _c0: float = field(default=0.0, repr=False)
    runqueue_wait: float = 0.0
    _r0: Any = field(default=None, repr=False)
    _q0: float = field(default=0.0, repr=False)

    def __enter__(self) -> Meter:
        if CALLGRIND and self.count:
            _callgrind("on")
        self._q0 = _runqueue_wait()
        self._r0 = resource.getrusage(resource.RUSAGE_SELF)
        self._c0 = time.process_time()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._t0
        self.cpu = time.process_time() - self._c0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        self.user = r1.ru_utime - self._r0.ru_utime
        self.system = r1.ru_stime - self._r0.ru_stime
        self.runqueue_wait = _runqueue_wait() - self._q0
        if CALLGRIND and self.count:
            _callgrind("off")


def _runqueue_wait() -> float:
    """Seconds the main thread was runnable but waiting for a CPU (Linux schedstat; else 0).

    On a shared machine this is the time other processes took from the measured client.
    """
    try:
        with open("/proc/self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def service_call(url: str, path: str, method: str = "GET") -> dict[str, Any]:
    """Call one of the fake service's ``/_bench`` endpoints (outside any timed block)."""
    req = urllib.request.Request(url + path, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=30) as resp:
        result: dict[str, Any] = json.loads(resp.read())
        return result


def service_stats(admins: list[str], job: str) -> dict[str, Any]:
    """What every service process saw for ``job``, added up.

    Unique IDs are counted per process: if a task were sent twice to different processes, the
    sum of ``tasks`` would exceed N, so ``tasks == unique == N`` still proves exactly-once.
    """
    total: dict[str, Any] = {}
    for admin in admins:
        stats = service_call(admin, f"/_bench/stats?job={job}")
        for key in ("requests", "tasks", "unique", "body_bytes", "service_cpu_s"):
            total[key] = total.get(key, 0) + stats[key]
        total["fingerprint"] = (total.get("fingerprint", 0) + stats["fingerprint"]) % 2**64
        total["max_chunk"] = max(total.get("max_chunk", 0), stats["max_chunk"])
    return total


def admin_urls(args: argparse.Namespace) -> list[str]:
    """The admin base URLs a runner reads the service's counters from."""
    return args.admin.split(",") if args.admin else [args.url]


def emit(client: str, args: argparse.Namespace, meter: Meter, **extra: Any) -> None:
    """Print the runner's one result line, with what the service saw for the job."""
    stats = service_stats(admin_urls(args), args.job)
    n = args.tasks
    result = {
        "client": client,
        "mode": args.mode,
        "tasks": n,
        "concurrency": args.concurrency,
        "wall_s": round(meter.wall, 4),
        "cpu_s": round(meter.cpu, 4),
        "tasks_per_s": round(n / meter.wall, 1) if meter.wall else None,
        "cpu_us_per_task": round(meter.cpu / n * 1e6, 2),
        "user_us_per_task": round(meter.user / n * 1e6, 2),
        "sys_us_per_task": round(meter.system / n * 1e6, 2),
        "runqueue_wait_s": round(meter.runqueue_wait, 4),
        "requests": stats["requests"],
        "service_tasks": stats["tasks"],
        "service_unique": stats["unique"],
        "service_fingerprint": stats["fingerprint"],
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "python": sys.version.split()[0],
        **extra,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def emit_serialize(client: str, per_task_us: float, sample: bytes, **extra: Any) -> None:
    """Print the result line of the serialization micro-benchmark."""
    result = {
        "client": client,
        "mode": "serialize",
        "serialize_us_per_task": round(per_task_us, 3),
        "sample_bytes": len(sample),
        **extra,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def time_per_call(fn: Any, items: list[Any], repeat: int = 5) -> float:
    """Best-of-``repeat`` microseconds per item of ``fn(item)`` over ``items``."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - t0)
    return best / len(items) * 1e6


class Sampler:
    """A tiny CPU-time sampling profiler (``ITIMER_PROF``): which functions the CPU was in.

    Every ``interval`` seconds of process CPU time the main thread's stack is recorded: the
    innermost frame (``self``) and every distinct frame on the stack (``total``). Cheap enough
    not to change the run's timing, unlike a deterministic profiler.
    """

    def __init__(self, interval: float = 0.0005) -> None:
        self.interval = interval
        self.samples = 0
        self.self_counts: dict[str, int] = {}
        self.total_counts: dict[str, int] = {}

    @staticmethod
    def _key(frame: Any) -> str:
        code = frame.f_code
        name = code.co_filename.split("site-packages/")[-1].replace("/work/main/", "")
        return f"{name}:{code.co_firstlineno}({code.co_name})"

    def _handler(self, _signum: int, frame: Any) -> None:
        if frame is None:
            return
        self.samples += 1
        key = self._key(frame)
        self.self_counts[key] = self.self_counts.get(key, 0) + 1
        seen = set()
        while frame is not None:
            key = self._key(frame)
            if key not in seen:
                seen.add(key)
                self.total_counts[key] = self.total_counts.get(key, 0) + 1
            frame = frame.f_back

    def __enter__(self) -> Sampler:
        import signal

        signal.signal(signal.SIGPROF, self._handler)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)

    def dump(self, path: str) -> None:
        """Write the counts as JSON (read by benchmarks/hotspots.py)."""
        with open(path, "w") as f:
            json.dump(
                {
                    "interval": self.interval,
                    "samples": self.samples,
                    "self": self.self_counts,
                    "total": self.total_counts,
                },
                f,
            )
