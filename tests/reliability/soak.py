"""Soak: one large add_collection against an emulator injecting every kind of fault at once.

Run it with ``python -m tests.reliability.soak`` (``nox -s soak``); the size comes from the
``SOAK_TASKS`` environment variable (default 200,000) or ``--tasks``. The emulator runs in a
separate process (``python -m batchtasks.emulator``) with SQLite persistence in a temporary
directory, so client and server each get a core; it is stopped at the end whatever happens.

Faults, all at once: per-task ``servererror`` results (5%), whole-request 500 / 503 ServerBusy
(1% + 1%), 429 with Retry-After (2%), connections dropped after the write committed (1%) and
latency jitter. Afterwards the job is listed through the API (faults still on) and the run is
checked:

* every input task is present exactly once and nothing else is there;
* every outcome agrees with the service: a task reported added exists with the eTag its result
  carried (tasks are never modified afterwards) and the command line it was given; every task
  ended in a success state (the attempt budget makes a task failing every try vanishingly rare);
* retry counts stay within the budget: no task was sent more than ``max_attempts`` times, and the
  client's request count matches the emulator's.

Prints the figures (tasks, faults injected by kind from ``/_emulator/stats``, retries, requests,
wall time) and exits 1 on any violation. Must not import the emulator in-process (that would
share one core and one loop with the client).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from batchtasks import BatchClient, Outcome, RetryPolicy, SharedKeyCredential
from batchtasks.emulator import DEV_ACCOUNT, DEV_KEY

#: The fault mix of the issue (rates are probabilities per request, or per task).
FAULTS: dict[str, float] = {
    "task_server_error_rate": 0.05,
    "server_error_rate": 0.01,
    "server_busy_rate": 0.01,
    "throttle_rate": 0.02,
    "drop_after_commit_rate": 0.01,
    "latency_ms": 0.0,
    "latency_jitter_ms": 10.0,
}
#: Sends per task. With ~10% of attempts failing, 10 tries make a task that fails every time
#: a one-in-10^10 event, so "every task added" is a sound expectation even at 500,000 tasks.
MAX_ATTEMPTS = 10
JOB_ID = "soak-job"


@dataclass
class SoakReport:
    """What a soak run measured and what it found wrong."""

    tasks: int
    violations: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def violation(self, text: str) -> None:
        self.violations.append(text)

    def render(self) -> str:
        f = self.figures
        lines = [
            "batchtasks soak",
            f"  tasks submitted            {self.tasks:,}",
            f"  outcomes                   {f.get('outcomes')}",
            f"  tasks listed afterwards    {f.get('listed', 0):,}",
            f"  add_collection requests    {f.get('requests', 0):,} (client) /"
            f" {f.get('server_add_requests', 0):,} (emulator)",
            f"  task re-sends (retries)    {f.get('retries', 0):,}",
            f"  max attempts of one task   {f.get('max_attempts_seen', 0)} (budget {MAX_ATTEMPTS})",
            f"  attempts histogram         {f.get('attempts_histogram')}",
            "  faults injected (emulator /_emulator/stats):",
        ]
        for kind, count in sorted((f.get("faults") or {}).items()):
            lines.append(f"    {kind:<24} {count:,}")
        lines += [
            f"  responses by status        {f.get('responses_by_status')}",
            f"  add_collection wall time   {f.get('add_seconds', 0):.1f} s"
            f" ({f.get('tasks_per_second', 0):,.0f} tasks/s)",
            f"  verification listing       {f.get('list_seconds', 0):.1f} s",
            f"  total wall time            {f.get('total_seconds', 0):.1f} s",
            f"  violations                 {len(self.violations)}",
        ]
        lines += [f"    - {v}" for v in self.violations[:50]]
        return "\n".join(lines)


def task_inputs(n: int) -> Iterator[dict[str, Any]]:
    """The soak's tasks, generated lazily (mixed sizes, some non-ASCII)."""
    for i in range(n):
        task: dict[str, Any] = {"id": f"soak-{i:07d}", "commandLine": command_line(i)}
        if i % 7 == 0:
            task["displayName"] = f"tâche {i} ✓"
        if i % 11 == 0:
            task["environmentSettings"] = [{"name": "SOAK_INDEX", "value": str(i)}]
        if i % 13 == 0:
            task["constraints"] = {"maxTaskRetryCount": i % 4}
        yield task


def command_line(i: int) -> str:
    return f"/bin/sh -c 'echo soak {i}" + " x" * (i % 17) + "'"


# -- the emulator process --------------------------------------------------------------------


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # Linux: the emulator gets SIGTERM if the soak dies without running its cleanup.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmulatorProcess:
    """``python -m batchtasks.emulator`` in a child process, on 127.0.0.1 and a free port."""

    def __init__(self, location: Path, faults: dict[str, float], seed: int) -> None:
        self.location = location
        self.args = [
            sys.executable,
            "-m",
            "batchtasks.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--location",
            str(location),
            "--fault-seed",
            str(seed),
            "--retry-after",
            "1",
        ]
        for name, value in faults.items():
            self.args += ["--" + name.replace("_", "-"), str(value)]
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self.stderr_path = location / "emulator.stderr"

    async def start(self) -> str:
        self.location.mkdir(parents=True, exist_ok=True)
        stderr = self.stderr_path.open("wb")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.args,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        finally:
            stderr.close()
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout=60)
        match = re.search(rb"listening on (http://127\.0\.0\.1:\d+)", line)
        if match is None:
            raise RuntimeError(f"emulator did not start: {line!r} {self.stderr_tail()}")
        self.url = match.group(1).decode()
        return self.url

    async def stop(self) -> int | None:
        proc = self.proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout=30)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        return proc.returncode

    def stderr_tail(self, n: int = 2000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


async def emulator_stats(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(f"{url}/_emulator/stats") as resp:
        resp.raise_for_status()
        data: dict[str, Any] = await resp.json()
        return data


async def set_faults(session: aiohttp.ClientSession, url: str, faults: dict[str, Any]) -> None:
    async with session.post(f"{url}/_emulator/faults", json=faults) as resp:
        resp.raise_for_status()


# -- the run ---------------------------------------------------------------------------------


async def run_soak(
    tasks: int,
    *,
    concurrency: int = 16,
    seed: int = 20261125,
    faults: dict[str, float] | None = None,
    workdir: Path | None = None,
    progress: bool = False,
) -> SoakReport:
    """Run one soak of `tasks` tasks and check it. Never raises for a violation: see the report.

    Args:
        tasks: how many tasks to add.
        concurrency: add_collection requests in flight.
        seed: fault RNG seed of the emulator.
        faults: fault rates (default `FAULTS`).
        workdir: where the emulator's SQLite file goes (default: a fresh temporary directory).
        progress: print a progress line now and then.
    """
    report = SoakReport(tasks=tasks)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="batchtasks-soak-") as tmp:
        location = (workdir or Path(tmp)) / "emulator"
        emulator = EmulatorProcess(location, faults or FAULTS, seed)
        try:
            url = await emulator.start()
            await _soak(url, tasks, concurrency, report, progress)
        except Exception as exc:  # the report says what broke; the caller exits non-zero
            report.violation(f"the soak itself failed: {type(exc).__name__}: {exc}")
        finally:
            code = await emulator.stop()
            if code not in (0, None, -signal.SIGTERM):
                report.violation(f"emulator exited with {code}: {emulator.stderr_tail()}")
            errors = emulator.stderr_tail(100_000)
            if "Traceback" in errors or "unhandled error" in errors:
                report.violation(f"emulator logged an error: {errors[-1500:]}")
    report.figures["total_seconds"] = time.monotonic() - started
    return report


async def _soak(url: str, tasks: int, concurrency: int, report: SoakReport, progress: bool) -> None:
    policy = RetryPolicy(
        max_attempts=MAX_ATTEMPTS,
        backoff_initial=0.05,
        backoff_max=2.0,
        jitter=0.05,
        retry_after_cap=5.0,
        deadline=None,
    )
    credential = SharedKeyCredential(DEV_ACCOUNT, DEV_KEY)
    last_print = [time.monotonic()]

    def on_progress(p: Any) -> None:
        if progress and time.monotonic() - last_print[0] > 10:
            last_print[0] = time.monotonic()
            print(f"  ... {p}", flush=True)

    async with (
        aiohttp.ClientSession() as admin,
        BatchClient(url, credential, retry_policy=policy, max_connections=concurrency) as client,
    ):
        # The job is created with faults on too: the client's retries must get it through.
        await client.jobs.add({"id": JOB_ID, "poolInfo": {"poolId": "soak-pool"}})
        t0 = time.monotonic()
        result = await client.tasks.add_collection(
            JOB_ID,
            task_inputs(tasks),
            max_concurrency=concurrency,
            raise_on_failure=False,
            on_progress=on_progress,
        )
        add_seconds = time.monotonic() - t0
        after_add = await emulator_stats(admin, url)

        t1 = time.monotonic()
        listed: dict[str, Any] = {}
        duplicates: list[str] = []
        async for task in client.tasks.list(JOB_ID, select="id,eTag,commandLine"):
            key = task.id.lower()
            if key in listed:
                duplicates.append(task.id)
            listed[key] = task
        list_seconds = time.monotonic() - t1
        final = await emulator_stats(admin, url)

    outcomes = result.outcomes
    counts = Counter(o.outcome.value for o in outcomes)
    attempts = Counter(o.attempts for o in outcomes)
    f = report.figures
    f.update(
        outcomes=dict(sorted(counts.items())),
        listed=len(listed),
        requests=result.requests,
        retries=result.retries,
        server_add_requests=after_add["requests_by_operation"].get("task_add_collection", 0),
        max_attempts_seen=max(attempts) if attempts else 0,
        attempts_histogram=dict(sorted(attempts.items())),
        faults=after_add["faults"],
        faults_after_listing=final["faults"],
        responses_by_status=dict(sorted(after_add["responses_by_status"].items())),
        add_seconds=add_seconds,
        tasks_per_second=tasks / add_seconds if add_seconds else 0.0,
        list_seconds=list_seconds,
        stored=final["stored"],
    )

    # -- checks --------------------------------------------------------------------------
    if len(outcomes) != tasks or result.total != tasks:
        report.violation(f"{len(outcomes)} outcomes / total {result.total} for {tasks} tasks")
    if [o.index for o in outcomes] != list(range(len(outcomes))):
        report.violation("outcomes are not one per input index")
    if duplicates:
        report.violation(f"{len(duplicates)} task ids listed twice, e.g. {duplicates[:5]}")
    expected = {f"soak-{i:07d}" for i in range(tasks)}
    listed_ids = {t.id for t in listed.values()}
    missing = expected - listed_ids
    extra = listed_ids - expected
    if missing:
        report.violation(
            f"{len(missing)} input tasks missing from the job, e.g. {sorted(missing)[:5]}"
        )
    if extra:
        report.violation(
            f"{len(extra)} tasks in the job that were never input, e.g. {sorted(extra)[:5]}"
        )
    if final["stored"]["tasks"] != tasks:
        report.violation(f"emulator stores {final['stored']['tasks']} tasks, expected {tasks}")
    if after_add["tasks_added"] != tasks:
        report.violation(
            f"emulator committed {after_add['tasks_added']} task inserts for {tasks} tasks"
        )
    not_ok = [o for o in outcomes if not o.ok]
    if not_ok:
        sample = [(o.task_id, o.outcome.value, o.attempts, o.reason) for o in not_ok[:5]]
        report.violation(f"{len(not_ok)} tasks did not end in a success state, e.g. {sample}")
    disagree: list[str] = []
    for o in outcomes:
        task = listed.get((o.task_id or "").lower())
        if o.ok and task is None:
            disagree.append(f"{o.task_id}: reported {o.outcome.value} but not in the job")
            continue
        if task is None:
            continue
        if task.command_line != command_line(o.index):
            disagree.append(f"{o.task_id}: command line differs from the input")
        if o.outcome is Outcome.ADDED:
            etag = (o.raw or {}).get("eTag")
            if etag != task.e_tag:
                disagree.append(f"{o.task_id}: result eTag {etag} != service eTag {task.e_tag}")
        elif o.outcome is Outcome.ADDED_ON_RETRY and o.error_code != "TaskExists":
            disagree.append(f"{o.task_id}: added_on_retry without a TaskExists answer")
    if disagree:
        report.violation(f"{len(disagree)} results disagree with the service, e.g. {disagree[:5]}")
    over = [o for o in outcomes if o.attempts > MAX_ATTEMPTS]
    if over:
        report.violation(f"{len(over)} tasks sent more than {MAX_ATTEMPTS} times")
    resent = sum(max(o.attempts - 1, 0) for o in outcomes)
    if resent != result.retries:
        report.violation(f"retries figure {result.retries} != re-sends counted per task {resent}")
    if result.requests != f["server_add_requests"]:
        report.violation(
            f"client made {result.requests} add_collection requests, emulator saw "
            f"{f['server_add_requests']}"
        )
    if (
        sum(
            after_add["faults"].get(k, 0)
            for k in (
                "task_server_error",
                "server_error",
                "server_busy",
                "throttle",
                "drop_after_commit",
            )
        )
        == 0
    ):
        report.violation("no faults were injected: the soak proved nothing")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.reliability.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--tasks", type=int, default=int(os.environ.get("SOAK_TASKS", "200000")))
    parser.add_argument(
        "--concurrency", type=int, default=int(os.environ.get("SOAK_CONCURRENCY", "16"))
    )
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", "20261125")))
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.tasks < 1:
        parser.error("--tasks / SOAK_TASKS must be at least 1")
    print(
        f"soak: {args.tasks:,} tasks, concurrency {args.concurrency}, faults {FAULTS}", flush=True
    )
    report = asyncio.run(
        run_soak(args.tasks, concurrency=args.concurrency, seed=args.seed, progress=True)
    )
    print(report.render(), flush=True)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"tasks": report.tasks, "violations": report.violations, **report.figures},
                indent=2,
                default=str,
            )
        )
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
