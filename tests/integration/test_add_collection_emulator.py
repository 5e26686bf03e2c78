"""Bulk add_collection end to end against the emulator, with its fault knobs.

After every run the job is listed: each task the result calls added is in the service exactly once,
and nothing the result calls failed or not attempted is there.
"""

from __future__ import annotations

import asyncio
import collections
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from batchtasks import (
    AddCollectionError,
    BatchClient,
    Outcome,
    RetryPolicy,
    SharedKeyCredential,
    TaskAddOutcome,
    TaskAddParameter,
)
from batchtasks.emulator import Emulator


async def _no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


FAST = RetryPolicy(
    max_attempts=25, backoff_initial=0.001, backoff_max=0.01, jitter=0.0, sleep=_no_sleep
)


@pytest_asyncio.fixture
async def client(batch_emulator: Emulator) -> AsyncIterator[BatchClient]:
    credential = SharedKeyCredential(batch_emulator.account, batch_emulator.key)
    async with BatchClient(batch_emulator.url, credential, retry_policy=FAST) as client:
        yield client


@pytest_asyncio.fixture
async def job_id(client: BatchClient) -> str:
    job = f"bulk-{uuid.uuid4().hex[:8]}"
    await client.jobs.add({"id": job, "poolInfo": {"poolId": "pool-1"}})
    return job


def _tasks(n: int, prefix: str = "t", pad: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{i:05d}", "commandLine": "echo ü " + "x" * pad} for i in range(n)]


async def _listed(client: BatchClient, job_id: str) -> collections.Counter[str]:
    return collections.Counter([t.id.lower() async for t in client.tasks.list(job_id, select="id")])


async def _assert_agrees(
    client: BatchClient, job_id: str, outcomes: list[TaskAddOutcome], n: int
) -> collections.Counter[str]:
    assert sorted(o.index for o in outcomes) == list(range(n))
    listed = await _listed(client, job_id)
    assert all(count == 1 for count in listed.values())
    for o in outcomes:
        key = (o.task_id or "").lower()
        clash = o.outcome is Outcome.FAILED and o.error_code == "TaskExists"
        if o.outcome in (Outcome.ADDED, Outcome.ADDED_ON_RETRY):
            assert key in listed, o
        elif o.outcome in (Outcome.NOT_ATTEMPTED, Outcome.FAILED) and not clash:
            assert key not in listed, o
    return listed


async def test_well_formed_run_makes_zero_413s(
    client: BatchClient, job_id: str, batch_emulator: Emulator
) -> None:
    items: list[Any] = _tasks(600, pad=1500)
    items += [TaskAddParameter(id=f"m{i}", command_line="ünïcødé " * 200) for i in range(450)]
    result = await client.tasks.add_collection(job_id, items, max_concurrency=4)
    assert result.ok
    assert result.counts["added"] == 1050
    stats = await batch_emulator.stats()
    assert "413" not in {str(k) for k in stats["responses_by_status"]}
    assert stats["faults"]["body_too_large"] == 0
    listed = await _assert_agrees(client, job_id, result.outcomes, 1050)
    assert len(listed) == 1050


@pytest.mark.parametrize(
    "faults",
    [
        {"task_server_error_rate": 0.3},
        {"server_error_rate": 0.4},
        {"server_busy_rate": 0.4, "retry_after_seconds": 1},
        {"throttle_rate": 0.4, "retry_after_seconds": 2},
        {"drop_after_commit_rate": 0.4},
        {
            "task_server_error_rate": 0.1,
            "server_error_rate": 0.15,
            "throttle_rate": 0.1,
            "drop_after_commit_rate": 0.15,
        },
    ],
    ids=["task-servererror", "500", "503-busy", "429", "drop-after-commit", "mixed"],
)
async def test_every_task_is_in_the_service_exactly_once_under_faults(
    client: BatchClient, job_id: str, batch_emulator: Emulator, faults: dict[str, Any]
) -> None:
    batch_emulator.set_faults(seed=7, **faults)
    seen: list[TaskAddOutcome] = []
    result = await client.tasks.add_collection(
        job_id, iter(_tasks(700)), max_concurrency=4, on_result=seen.append
    )
    batch_emulator.set_faults(seed=None, **dict.fromkeys(faults, 0))
    assert result.ok, result.counts
    assert result.retries > 0
    injected = (await batch_emulator.stats())["faults"]
    assert sum(injected.values()) > 0
    if "drop_after_commit_rate" in faults and len(faults) == 1:
        assert injected["drop_after_commit"] > 0
    # Only a committed-then-dropped request leaves tasks whose retry meets TaskExists.
    assert (result.counts["added_on_retry"] > 0) == (injected["drop_after_commit"] > 0)
    assert result.counts["added_on_retry"] <= injected["drop_after_commit"] * 100
    assert sorted(o.index for o in seen) == list(range(700))
    listed = await _assert_agrees(client, job_id, result.outcomes, 700)
    assert len(listed) == 700


async def test_persistent_failure_is_bounded(
    client: BatchClient, job_id: str, batch_emulator: Emulator
) -> None:
    batch_emulator.set_faults(server_error_rate=1.0)
    with pytest.raises(AddCollectionError) as info:
        await client.tasks.add_collection(job_id, _tasks(150), max_attempts=3)
    result = info.value.result  # type: ignore[attr-defined]
    batch_emulator.set_faults(server_error_rate=0.0)
    assert result.counts["unknown"] == 150
    assert result.requests == 6  # two chunks, three attempts each
    assert all(o.attempts == 3 for o in result.outcomes)
    assert len(await _listed(client, job_id)) == 0


async def test_413_teaches_the_limit_and_nothing_is_lost(
    client: BatchClient, job_id: str, batch_emulator: Emulator
) -> None:
    batch_emulator.set_faults(body_limit=40_000)
    result = await client.tasks.add_collection(job_id, _tasks(300, pad=900), max_concurrency=1)
    assert result.ok
    assert result.body_limit == 40_000
    stats = await batch_emulator.stats()
    assert stats["faults"]["body_too_large"] == 1
    await _assert_agrees(client, job_id, result.outcomes, 300)


async def test_task_too_large_for_the_service_fails_alone(
    client: BatchClient, job_id: str, batch_emulator: Emulator
) -> None:
    batch_emulator.set_faults(body_limit=5_000)
    items = [*_tasks(20), {"id": "huge", "commandLine": "x" * 6_000}, *_tasks(20, "u")]
    with pytest.raises(AddCollectionError) as info:
        await client.tasks.add_collection(job_id, items)
    (failed,) = info.value.failed
    assert failed.task_id == "huge"
    assert failed.error_code == "RequestBodyTooLarge"
    assert len(info.value.succeeded) == 40
    await _assert_agrees(client, job_id, info.value.result.outcomes, 41)  # type: ignore[attr-defined]


async def test_id_clash_is_a_failure_unless_opted_in(client: BatchClient, job_id: str) -> None:
    await client.tasks.add(job_id, {"id": "T00003", "commandLine": "already here"})
    with pytest.raises(AddCollectionError) as info:
        await client.tasks.add_collection(job_id, _tasks(10))
    (clash,) = info.value.failed
    assert clash.task_id == "t00003"
    assert clash.outcome is Outcome.FAILED
    assert clash.error_code == "TaskExists"

    again = await client.tasks.add_collection(job_id, _tasks(12), task_exists_is_success=True)
    assert again.counts["already_exists"] == 10
    assert again.counts["added"] == 2


async def test_cancellation_accounts_for_every_task_read(
    client: BatchClient, job_id: str, batch_emulator: Emulator
) -> None:
    batch_emulator.set_faults(latency_ms=300)
    seen: list[TaskAddOutcome] = []
    run = asyncio.ensure_future(
        client.tasks.add_collection(
            job_id, iter(_tasks(5000)), max_concurrency=3, on_result=seen.append
        )
    )
    # Cancel right after the first answers: the workers have already sent the next requests.
    for _ in range(500):
        if any(o.outcome is Outcome.ADDED for o in seen):
            break
        await asyncio.sleep(0.01)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    batch_emulator.set_faults(latency_ms=0)
    await asyncio.sleep(0.5)  # let the emulator finish the requests we abandoned
    outcomes = collections.Counter(o.outcome for o in seen)
    assert outcomes[Outcome.ADDED] >= 100
    assert outcomes[Outcome.UNKNOWN] > 0
    assert outcomes[Outcome.NOT_ATTEMPTED] > 0
    assert sorted(o.index for o in seen) == list(range(len(seen)))
    listed = await _assert_agrees(client, job_id, seen, len(seen))
    # Whatever the service holds beyond the reported ADDED ones came from in-flight requests.
    added = {o.task_id.lower() for o in seen if o.outcome is Outcome.ADDED}
    unknown = {o.task_id.lower() for o in seen if o.outcome is Outcome.UNKNOWN}
    assert set(listed) - added <= unknown


async def test_stream_results_with_the_iterator(client: BatchClient, job_id: str) -> None:
    async def source() -> AsyncIterator[dict[str, Any]]:
        for task in _tasks(1200):
            yield task

    outcomes = [o async for o in client.tasks.add_collection_iter(job_id, source())]
    assert collections.Counter(o.outcome for o in outcomes) == {Outcome.ADDED: 1200}
    await _assert_agrees(client, job_id, outcomes, 1200)
