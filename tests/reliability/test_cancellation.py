"""Cancellation and shutdown: cancel at random points, the accounting stays exact, nothing leaks.

A bulk add is cancelled after k requests or after t milliseconds (hypothesis picks k and t).
Documented contract (`TaskOperations.add_collection`): on cancellation, every task read from the
input so far has been reported to `on_result` before `CancelledError` propagates. Compared with
the service's listing afterwards:

* ADDED / ADDED_ON_RETRY tasks are in the job;
* FAILED and NOT_ATTEMPTED tasks, and tasks never read from the input, are not;
* UNKNOWN tasks (in flight when cancelled) may or may not be — the documented state;
* nothing is in the job that was not reported added or unknown.

Then the client is closed and: no asyncio task is left pending, no connection to the emulator is
left open, and neither the loop's exception handler nor `warnings` nor gc saw an "Unclosed client
session" or "Task was destroyed but it is pending".
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchtasks import AlreadyExistsError, BatchClient, Outcome, RetryPolicy, SharedKeyCredential
from batchtasks.emulator import Emulator, FaultConfig

from ._leaks import loop_problems, settle

N_TASKS = 700
_jobs = itertools.count()


@pytest.fixture(autouse=True)
def no_emulator_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A client cancelling mid-request is normal traffic: the emulator must not log an error.

    Regression: a client that disconnected while its body was being read made the emulator
    log an "unhandled error" (ConnectionResetError) and count a 500.
    """
    caplog.set_level(logging.ERROR, logger="batchtasks.emulator")
    yield
    errors = [r for r in caplog.records if r.name.startswith("batchtasks.emulator")]
    assert errors == [], [r.getMessage() for r in errors][:3]


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[Emulator]:
    faults = FaultConfig(
        seed=3,
        latency_ms=1,
        latency_jitter_ms=4,
        task_server_error_rate=0.05,
        server_error_rate=0.02,
        drop_after_commit_rate=0.02,
        retry_after_seconds=0,
    )
    async with Emulator(in_memory=True, faults=faults) as emu:
        yield emu


def policy() -> RetryPolicy:
    return RetryPolicy(
        max_attempts=6, backoff_initial=0.005, backoff_max=0.05, jitter=0.005, deadline=None
    )


def inputs(prefix: str, read: list[str], n: int = N_TASKS) -> Iterator[dict[str, Any]]:
    """Tasks, lazily, recording which ones the engine actually read."""
    for i in range(n):
        task_id = f"{prefix}-{i}"
        read.append(task_id)
        yield {"id": task_id, "commandLine": f"echo {i}"}


async def quiesce(emu: Emulator) -> None:
    """Wait until the emulator has finished whatever requests were in flight."""
    previous = -1
    for _ in range(200):
        stats = await emu.stats()
        if stats["stored"]["tasks"] == previous:
            return
        previous = stats["stored"]["tasks"]
        await asyncio.sleep(0.05)


async def check_accounting(
    client: BatchClient,
    emu: Emulator,
    job: str,
    read: list[str],
    reported: dict[str, Outcome],
    details: dict[str, str] | None = None,
) -> None:
    await quiesce(emu)
    listed = [t.id async for t in client.tasks.list(job, select="id")]  # type: ignore[misc]
    assert len(listed) == len(set(listed))
    in_job = set(listed)
    # Every task read was reported exactly once (the dict would hide repeats: checked below).
    assert set(reported) == set(read)
    for task_id, outcome in reported.items():
        if outcome in (Outcome.ADDED, Outcome.ADDED_ON_RETRY):
            assert task_id in in_job, (task_id, outcome, (details or {}).get(task_id))
        elif outcome in (Outcome.FAILED, Outcome.NOT_ATTEMPTED):
            assert task_id not in in_job, (task_id, outcome, (details or {}).get(task_id))
        else:
            assert outcome is Outcome.UNKNOWN
    # Nothing the call did not report as added or unknown is in the job.
    possible = {
        t
        for t, o in reported.items()
        if o in (Outcome.ADDED, Outcome.ADDED_ON_RETRY, Outcome.UNKNOWN)
    }
    assert in_job <= possible


async def run_and_cancel(
    emu: Emulator,
    *,
    after_requests: int | None = None,
    after_ms: float | None = None,
    use_iter: bool = False,
) -> None:
    job = f"cancel-{next(_jobs)}"
    read: list[str] = []
    reported: dict[str, Outcome] = {}
    details: dict[str, str] = {}
    repeats: list[str] = []
    started = 0
    credential = SharedKeyCredential(emu.account, emu.key)
    trace = aiohttp.TraceConfig()
    runner: asyncio.Task[Any] | None = None

    async def on_start(*_: Any) -> None:
        nonlocal started
        started += 1
        if after_requests is not None and started == after_requests + 1 and runner is not None:
            runner.cancel()

    trace.on_request_start.append(on_start)

    def on_result(outcome: Any) -> None:
        if outcome.task_id in reported:
            repeats.append(outcome.task_id)
        reported[outcome.task_id] = outcome.outcome
        details[outcome.task_id] = (
            f"attempts={outcome.attempts} reason={outcome.reason!r} code={outcome.code!r} "
            f"exception={outcome.exception!r} raw={outcome.raw!r}"
        )

    with loop_problems() as problems:
        async with BatchClient(
            emu.url, credential, retry_policy=policy(), trace_configs=[trace]
        ) as client:
            try:
                await client.jobs.add({"id": job, "poolInfo": {"poolId": "p"}})
            except AlreadyExistsError as exc:
                # Faults are on: a retried add after a dropped answer finds its own job.
                if not exc.after_unknown_outcome:
                    raise
            started = 0

            async def bulk() -> None:
                if use_iter:
                    async for outcome in client.tasks.add_collection_iter(
                        job, inputs(job, read), max_concurrency=4
                    ):
                        on_result(outcome)
                else:
                    await client.tasks.add_collection(
                        job,
                        inputs(job, read),
                        max_concurrency=4,
                        on_result=on_result,
                        raise_on_failure=False,
                    )

            runner = asyncio.create_task(bulk())
            if after_ms is not None:
                await asyncio.sleep(after_ms / 1000)
                runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            assert repeats == []
            if not use_iter:
                # add_collection's contract: everything read was reported before it returned.
                await check_accounting(client, emu, job, read, reported, details)
            else:
                # The iterator's consumer is gone: what it never received is not its to account;
                # but whatever it did receive must agree with the service.
                await quiesce(emu)
                in_job = {t.id async for t in client.tasks.list(job, select="id")}  # type: ignore[misc]
                for task_id, outcome in reported.items():
                    if outcome in (Outcome.ADDED, Outcome.ADDED_ON_RETRY):
                        assert task_id in in_job
                    elif outcome in (Outcome.FAILED, Outcome.NOT_ATTEMPTED):
                        assert task_id not in in_job
                assert in_job <= set(read)
        await settle(emu.port)
    assert problems == []


CANCEL = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@CANCEL
@given(k=st.integers(min_value=0, max_value=12))
async def test_cancel_after_k_requests(emulator: Emulator, k: int) -> None:
    await run_and_cancel(emulator, after_requests=k)


@CANCEL
@given(ms=st.floats(min_value=0, max_value=150))
async def test_cancel_after_t_milliseconds(emulator: Emulator, ms: float) -> None:
    await run_and_cancel(emulator, after_ms=ms)


@CANCEL
@given(k=st.integers(min_value=0, max_value=8))
async def test_cancel_the_streaming_iterator(emulator: Emulator, k: int) -> None:
    await run_and_cancel(emulator, after_requests=k, use_iter=True)


async def test_breaking_out_of_the_iterator_stops_and_leaks_nothing(emulator: Emulator) -> None:
    credential = SharedKeyCredential(emulator.account, emulator.key)
    read: list[str] = []
    with loop_problems() as problems:
        async with BatchClient(emulator.url, credential, retry_policy=policy()) as client:
            emulator.set_faults(drop_after_commit_rate=0.0, server_error_rate=0.0)
            await client.jobs.add({"id": "brk", "poolInfo": {"poolId": "p"}})
            seen = 0
            # Large enough that the bounded read-ahead cannot swallow all of it.
            stream = client.tasks.add_collection_iter("brk", inputs("brk", read, 6000))
            async for _ in stream:
                seen += 1
                if seen == 50:
                    break
            await stream.aclose()  # type: ignore[attr-defined]
            await quiesce(emulator)
            in_job = {t.id async for t in client.tasks.list("brk", select="id")}  # type: ignore[misc]
            assert in_job <= set(read)
            assert len(read) < 6000  # it stopped reading the input
        await settle(emulator.port)
    assert problems == []


@pytest.mark.parametrize("op", ["get", "add", "list"])
async def test_cancelling_single_operations_mid_flight(op: str) -> None:
    async with Emulator(in_memory=True, faults=FaultConfig(latency_ms=200)) as emu:
        credential = SharedKeyCredential(emu.account, emu.key)
        with loop_problems() as problems:
            async with BatchClient(emu.url, credential, retry_policy=policy()) as client:
                emu.set_faults(latency_ms=0)
                await client.jobs.add({"id": "j", "poolInfo": {"poolId": "p"}})
                await client.tasks.add("j", {"id": "t", "commandLine": "x"})
                emu.set_faults(latency_ms=200)
                calls = {
                    "get": lambda: client.tasks.get("j", "t"),
                    "add": lambda: client.tasks.add("j", {"id": "t2", "commandLine": "x"}),
                    "list": lambda: client.tasks.list("j").by_page().__anext__(),
                }
                task = asyncio.ensure_future(calls[op]())
                await asyncio.sleep(0.05)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                emu.set_faults(latency_ms=0)
                # The client is still usable after a cancelled call.
                assert (await client.tasks.get("j", "t")).id == "t"
            assert client.closed
            await settle(emu.port)
        assert problems == []


async def test_closing_the_client_while_a_bulk_add_runs() -> None:
    async with Emulator(in_memory=True, faults=FaultConfig(latency_ms=5)) as emu:
        credential = SharedKeyCredential(emu.account, emu.key)
        read: list[str] = []
        with loop_problems() as problems:
            client = BatchClient(emu.url, credential, retry_policy=policy())
            await client.jobs.add({"id": "close", "poolInfo": {"poolId": "p"}})
            runner = asyncio.create_task(
                client.tasks.add_collection("close", inputs("close", read), raise_on_failure=False)
            )
            await asyncio.sleep(0.05)
            await client.close()
            # Closing underneath a running call ends it (with an error or outcomes), never hangs.
            with contextlib.suppress(Exception):
                result = await asyncio.wait_for(runner, timeout=60)
                assert result.total == len(read)
            await settle(emu.port)
        assert problems == []
