"""`tasks.watch` / `tasks.wait` and `jobs.get_task_counts` against the emulator with tasks
running on the simulated clock: exactly once, none missed, faults, timeout, cancellation."""

from __future__ import annotations

import ast
import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from batchtasks import (
    BatchClient,
    NotFoundError,
    RetryPolicy,
    SharedKeyCredential,
    TaskState,
    WaitTimeoutError,
)
from batchtasks.emulator import Emulator
from tests.reliability._leaks import loop_problems, open_connections_to

from ._dropping_proxy import DroppingProxy


async def _no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


ROOT = Path(__file__).resolve().parents[2]
PATIENT = RetryPolicy(max_attempts=8, jitter=0.0, sleep=_no_sleep)
FAST = {"poll_interval": 0.02, "max_poll_interval": 0.1}


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[Emulator]:
    # 200x: a task's `sleep 20` takes 0.1 s of real time.
    async with Emulator(in_memory=True, run_tasks=True, clock_speed=200.0) as emu:
        yield emu


def _client(url: str, emu: Emulator) -> BatchClient:
    credential = SharedKeyCredential(emu.account, emu.key)
    return BatchClient(url, credential, retry_policy=PATIENT)


async def _job_with_tasks(client: BatchClient, n: int, *, failing: int = 0) -> str:
    job = f"job-{uuid.uuid4().hex[:8]}"
    await client.jobs.add({"id": job, "poolInfo": {"poolId": "p"}})
    tasks = [
        {
            "id": f"t{i:03}",
            "commandLine": f"sleep {(i * 7) % 40} && exit {3 if i < failing else 0}",
        }
        for i in range(n)
    ]
    await client.tasks.add_collection(job, tasks)
    return job


async def test_watch_yields_every_task_once_as_it_finishes(emulator: Emulator) -> None:
    async with _client(emulator.url, emulator) as client:
        job = await _job_with_tasks(client, 60, failing=4)
        seen = [task async for task in client.tasks.watch(job, **FAST)]
        ids = [t.id for t in seen]
        assert sorted(ids) == [f"t{i:03}" for i in range(60)]
        assert len(set(ids)) == 60
        assert all(t.state == TaskState.COMPLETED for t in seen)
        ends = [t.state_transition_time for t in seen]
        assert ends != sorted(ends, reverse=True)  # yielded as they finished, not by id
        summary = await client.tasks.wait(job, **FAST)
        assert (summary.reached, summary.succeeded, summary.failed) == (60, 56, 4)
        assert sorted(f.task_id for f in summary.failures) == ["t000", "t001", "t002", "t003"]
        assert {f.exit_code for f in summary.failures} == {3}
        assert summary.failures[0].failure_info is not None
        assert summary.task_counts is not None
        assert summary.task_counts.completed == 60
        counts = await client.jobs.get_task_counts(job)
        assert (counts.task_counts.succeeded, counts.task_counts.failed) == (56, 4)


async def test_named_tasks_and_filter(emulator: Emulator) -> None:
    async with _client(emulator.url, emulator) as client:
        job = await _job_with_tasks(client, 30)
        named = ("t005", "T017", "t029")
        summary = await client.tasks.wait(job, task_ids=named, **FAST)
        assert (summary.reached, summary.pending_task_ids) == (3, ())
        got = [t.id async for t in client.tasks.watch(job, filter="startswith(id,'t01')", **FAST)]
        assert sorted(got) == [f"t01{i}" for i in range(10)]
        with pytest.raises(NotFoundError):
            await client.tasks.wait(job, task_ids=["t001", "ghost"], **FAST)
        with pytest.raises(NotFoundError):
            await client.tasks.wait("no-such-job", **FAST)


async def test_faults_throttling_5xx_and_dropped_connections(emulator: Emulator) -> None:
    emulator.set_faults(
        throttle_rate=0.15,
        server_error_rate=0.1,
        server_busy_rate=0.05,
        retry_after_seconds=0,
        seed=3,
    )
    async with DroppingProxy(emulator.port, drop_rate=0.1, seed=5) as proxy:
        async with _client(proxy.url, emulator) as client:
            job = await _job_with_tasks(client, 40, failing=2)
            ids = [t.id async for t in client.tasks.watch(job, **FAST)]
        assert sorted(ids) == [f"t{i:03}" for i in range(40)]
        assert len(set(ids)) == 40
        assert proxy.drops > 0
    faults = (await emulator.stats())["faults"]
    assert sum(faults.values()) > 0


async def test_timeout_error_carries_the_summary(emulator: Emulator) -> None:
    async with _client(emulator.url, emulator) as client:
        job = await _job_with_tasks(client, 5, failing=1)
        await client.tasks.add(job, {"id": "forever", "commandLine": "sleep 100000"})
        with pytest.raises(WaitTimeoutError) as info:
            await client.tasks.wait(job, timeout=1.0, **FAST)
        summary = info.value.summary
        assert (summary.reached, summary.failed) == (5, 1)
        assert summary.task_counts is not None
        assert summary.task_counts.running == 1
        assert not summary.ok


async def test_cancellation_leaves_nothing_running(emulator: Emulator) -> None:
    before_tasks = set(asyncio.all_tasks())  # the emulator's own background tasks
    with loop_problems() as problems:
        client = _client(emulator.url, emulator)
        async with client:
            job = await _job_with_tasks(client, 20)
            await client.tasks.add(job, {"id": "forever", "commandLine": "sleep 100000"})
            got: list[str] = []

            async def consume() -> None:
                async for task in client.tasks.watch(job, **FAST):
                    got.append(task.id or "")

            runner = asyncio.create_task(consume())
            while len(got) < 20:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # polling for "forever"
            runner.cancel()
            with pytest.raises(asyncio.CancelledError):
                await runner
            # A request cut off by the cancel is still counted when the emulator finishes it:
            # let the count settle, then check nothing more arrives (stats is not counted).
            # Settled means unchanged for 0.5 s (a loaded machine can take a while to finish
            # the handler of a request whose client went away).
            before, steady = -1, 0
            for _ in range(200):
                now = (await emulator.stats())["requests"]
                steady = steady + 1 if now == before else 0
                if steady >= 10:
                    break
                before = now
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            assert (await emulator.stats())["requests"] == before
        current = asyncio.current_task()

        def leftover() -> list[asyncio.Task[object]]:
            return [t for t in asyncio.all_tasks() if t is not current and t not in before_tasks]

        for _ in range(200):  # the emulator's side of closed connections winds down
            if not open_connections_to(emulator.port) and not leftover():
                break
            await asyncio.sleep(0.01)
        assert open_connections_to(emulator.port) == []
        assert leftover() == []
    assert problems == []


@pytest.mark.parametrize(
    ("page", "heading"), [("README.md", "## Waiting for tasks"), ("docs/waiting.md", "# Following")]
)
async def test_documented_code_runs_as_written(emulator: Emulator, page: str, heading: str) -> None:
    text = (ROOT / page).read_text(encoding="utf-8").split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", text, re.S)
    assert match
    code = compile(match.group(1), page, "exec", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    async with _client(emulator.url, emulator) as client:
        await client.jobs.add({"id": "renders", "poolInfo": {"poolId": "p"}})
        tasks = [{"id": f"r{i}", "commandLine": f"sleep {i} && exit {i % 3}"} for i in range(9)]
        await client.tasks.add_collection("renders", tasks)
        namespace = {"client": client, "print": lambda *args: None}
        result = eval(code, namespace)
        if asyncio.iscoroutine(result):
            await result
    summary = namespace["summary"]
    assert (summary.reached, summary.failed) == (9, 6)
