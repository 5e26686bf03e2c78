"""Concurrency and load: one client shared by many calls, an emulator restart, a silent service.

* Many concurrent add_collection calls and single operations share one `BatchClient` under
  faults; afterwards every job holds exactly its input and every call's accounting matches.
* The emulator is stopped and started again (same port, same SQLite file) in the middle of a bulk
  add: the client's retries bridge the gap and nothing that was acknowledged is lost.
* A TCP server that accepts and never answers: timeouts fire, the deadline is respected, every
  call returns (bounded generously), and the bulk accounting still covers every task.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from batchtasks import (
    AddCollectionError,
    AlreadyExistsError,
    BatchClient,
    BatchConnectionError,
    BatchTimeoutError,
    Outcome,
    RetryPolicy,
    SharedKeyCredential,
    Timeout,
)
from batchtasks.emulator import DEV_ACCOUNT, DEV_KEY, Emulator, FaultConfig

from ._leaks import loop_problems, settle

FAULTY = FaultConfig(
    seed=11,
    task_server_error_rate=0.05,
    server_error_rate=0.02,
    throttle_rate=0.02,
    server_busy_rate=0.01,
    retry_after_seconds=0,
    drop_after_commit_rate=0.02,
    latency_jitter_ms=3,
)


def fast_policy(**kw: Any) -> RetryPolicy:
    base: dict[str, Any] = {
        "max_attempts": 10,
        "backoff_initial": 0.01,
        "backoff_max": 0.2,
        "jitter": 0.01,
        "retry_after_cap": 0.2,
        "deadline": None,
    }
    base.update(kw)
    return RetryPolicy(**base)


def tasks_for(prefix: str, n: int) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{i}", "commandLine": f"echo {prefix} {i}"} for i in range(n)]


async def listed(client: BatchClient, job_id: str) -> list[str]:
    return [t.id async for t in client.tasks.list(job_id, select="id")]  # type: ignore[misc]


async def test_many_concurrent_calls_share_one_client() -> None:
    async with Emulator(in_memory=True, faults=FAULTY) as emu:
        credential = SharedKeyCredential(emu.account, emu.key)
        with loop_problems() as problems:
            async with BatchClient(
                emu.url, credential, retry_policy=fast_policy(), max_connections=16
            ) as client:
                jobs = [f"load-{j}" for j in range(6)]
                for job in jobs:
                    with contextlib.suppress(AlreadyExistsError):
                        await client.jobs.add({"id": job, "poolInfo": {"poolId": "p"}})

                async def bulk(job: str, n: int) -> Any:
                    return await client.tasks.add_collection(
                        job, tasks_for(job, n), max_concurrency=4
                    )

                unknown_then_exists: list[bool] = []

                async def singles(job: str, n: int) -> list[str]:
                    done = []
                    for task in tasks_for(f"{job}-single", n):
                        try:
                            await client.tasks.add(job, task)
                        except AlreadyExistsError as exc:
                            # The documented state after an unknown outcome: it exists.
                            unknown_then_exists.append(exc.after_unknown_outcome)
                        done.append(task["id"])
                        await client.tasks.get(job, task["id"])
                    return done

                results = await asyncio.gather(
                    *(bulk(job, 450) for job in jobs),
                    *(singles(job, 15) for job in jobs),
                )
                assert all(unknown_then_exists)
                for job, result in zip(jobs, results[: len(jobs)], strict=True):
                    assert result.ok
                    assert result.total == 450
                    ids = await listed(client, job)
                    assert len(ids) == len(set(ids)) == 465
                    expected = {t["id"] for t in tasks_for(job, 450)} | {
                        t["id"] for t in tasks_for(f"{job}-single", 15)
                    }
                    assert set(ids) == expected
            await settle(emu.port)
        assert problems == []
        stats = await emu.stats()
        assert stats["faults"]["task_server_error"] > 0
        # Whole-request faults of every kind together (one kind alone may not come up in ~130
        # write requests; all of them together practically always do).
        faults = stats["faults"]
        assert (
            sum(faults[k] for k in ("drop_after_commit", "server_error", "throttle", "server_busy"))
            > 0
        )
        assert stats["stored"]["tasks"] == 6 * 465


async def test_emulator_restarted_mid_run_loses_nothing_acknowledged(tmp_path: Path) -> None:
    location = tmp_path / "db"
    emu = Emulator(location=location, faults=FaultConfig(latency_ms=2))
    await emu.start()
    port = emu.port
    acknowledged: list[str] = []
    try:
        credential = SharedKeyCredential(emu.account, emu.key)
        # Enough attempts and backoff to span the ~1 s outage.
        policy = fast_policy(max_attempts=30, backoff_initial=0.05, backoff_max=0.3)
        async with BatchClient(emu.url, credential, retry_policy=policy) as client:
            await client.jobs.add({"id": "restart", "poolInfo": {"poolId": "p"}})
            seen = asyncio.Event()

            def on_result(outcome: Any) -> None:
                if outcome.ok:
                    acknowledged.append(outcome.task_id)
                if len(acknowledged) >= 1000:
                    seen.set()

            async def paced() -> AsyncIterator[dict[str, Any]]:
                # Input keeps arriving for well over a second, so requests are certainly being
                # made while the emulator is down (a fast run could otherwise finish first).
                for i, task in enumerate(tasks_for("r", 6000)):
                    if i % 50 == 0:
                        await asyncio.sleep(0.01)
                    yield task

            run = asyncio.create_task(
                client.tasks.add_collection(
                    "restart", paced(), max_concurrency=4, on_result=on_result
                )
            )
            await asyncio.wait_for(seen.wait(), timeout=60)
            await emu.stop()
            await asyncio.sleep(1.0)
            # Same port, same file: what was committed before the stop must still be there.
            emu = Emulator(location=location, port=port)
            await emu.start()
            result = await asyncio.wait_for(run, timeout=120)
            assert result.ok, result.counts
            ids = await listed(client, "restart")
        assert len(ids) == len(set(ids)) == 6000
        assert set(acknowledged) <= set(ids)
        assert {o.task_id for o in result.outcomes} == set(ids)
        # Some tasks really crossed the outage (their first attempt failed to connect or
        # was cut) and were retried.
        assert result.retries > 0
    finally:
        await emu.stop()


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[tuple[int, list[socket.socket]]]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    accepted: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, accepted  # type: ignore[misc]
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_silent_service_times_out_and_the_deadline_holds() -> None:
    async with silent_server() as (port, accepted):
        credential = SharedKeyCredential("acct", "a2V5")
        policy = fast_policy(max_attempts=100, deadline=1.5)
        with loop_problems() as problems:
            async with BatchClient(
                f"http://127.0.0.1:{port}",
                credential,
                retry_policy=policy,
                timeout=Timeout(connect=1.0, read=0.3, total=0.5),
            ) as client:
                # Single operation: gives up with a timeout once the deadline is spent.
                with pytest.raises(BatchTimeoutError):
                    await asyncio.wait_for(client.tasks.get("j", "t"), timeout=60)
                # Bulk: the deadline ends the call; every task is accounted for.
                with pytest.raises(AddCollectionError) as caught:
                    await asyncio.wait_for(
                        client.tasks.add_collection(
                            "j", tasks_for("s", 350), deadline=1.5, max_concurrency=2
                        ),
                        timeout=60,
                    )
                result = caught.value.result
                assert result.total == 350
                states = {o.outcome for o in result.outcomes}
                # Sent and never answered: unknown; never sent: not attempted. Nothing else.
                assert states <= {Outcome.UNKNOWN, Outcome.NOT_ATTEMPTED}
                assert Outcome.UNKNOWN in states
                assert result.stop_reason is not None
            await settle(port)
        assert accepted  # the requests really reached the silent server
        assert problems == []


async def test_a_refusing_endpoint_fails_fast_with_nothing_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    credential = SharedKeyCredential("acct", "a2V5")
    async with BatchClient(
        f"http://127.0.0.1:{port}", credential, retry_policy=fast_policy(max_attempts=3)
    ) as client:
        with pytest.raises(BatchConnectionError) as caught:
            await client.jobs.get("j")
        assert caught.value.request_sent is False
        with pytest.raises(AddCollectionError) as bulk:
            await client.tasks.add_collection("j", tasks_for("x", 120), max_attempts=2)
        outcomes = bulk.value.result.outcomes
        assert len(outcomes) == 120
        # Connection refused: the service certainly did not get them, so nothing is "unknown".
        assert {o.outcome for o in outcomes} <= {Outcome.FAILED, Outcome.NOT_ATTEMPTED}


async def _spawn(location: Path, port: int) -> tuple[asyncio.subprocess.Process, int]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "batchtasks.emulator",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--location",
        str(location),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    match = re.search(rb"127\.0\.0\.1:(\d+)", line)
    assert match, line
    return proc, int(match.group(1))


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
    await proc.wait()


async def test_emulator_killed_mid_run_keeps_everything_acknowledged(tmp_path: Path) -> None:
    # A crash (SIGKILL, no clean shutdown) instead of a stop: SQLite's WAL must still hold every
    # task whose add was answered, and the client's retries carry the rest over the restart.
    location = tmp_path / "crash"
    proc, port = await _spawn(location, 0)
    acknowledged: list[str] = []
    try:
        credential = SharedKeyCredential(DEV_ACCOUNT, DEV_KEY)
        policy = fast_policy(max_attempts=40, backoff_initial=0.05, backoff_max=0.3)
        async with BatchClient(
            f"http://127.0.0.1:{port}", credential, retry_policy=policy
        ) as client:
            await client.jobs.add({"id": "crash", "poolInfo": {"poolId": "p"}})
            enough = asyncio.Event()

            def on_result(outcome: Any) -> None:
                if outcome.ok:
                    acknowledged.append(outcome.task_id)
                if len(acknowledged) >= 1000:
                    enough.set()

            async def paced() -> AsyncIterator[dict[str, Any]]:
                for i, task in enumerate(tasks_for("c", 5000)):
                    if i % 50 == 0:
                        await asyncio.sleep(0.01)
                    yield task

            run = asyncio.create_task(
                client.tasks.add_collection(
                    "crash", paced(), max_concurrency=4, on_result=on_result
                )
            )
            await asyncio.wait_for(enough.wait(), timeout=60)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            before_crash = set(acknowledged)
            proc, _ = await _spawn(location, port)
            result = await asyncio.wait_for(run, timeout=120)
            ids = await listed(client, "crash")
        assert result.ok, result.counts
        assert before_crash <= set(ids)
        assert len(ids) == len(set(ids)) == 5000
        assert result.retries > 0
    finally:
        await _stop(proc)
