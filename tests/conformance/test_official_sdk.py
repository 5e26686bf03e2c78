"""The official azure-batch 14.2.0 SDK (msrest, synchronous) against the emulator over loopback.

The SDK is a client nobody here wrote: if it can sign, page, decode and raise the right
`BatchErrorException` codes against the emulator, the emulator speaks the service's wire format.
SDK calls run in a worker thread (`asyncio.to_thread`) while the emulator serves in the test's loop.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
import pytest_asyncio

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import azure.batch.models as bm
    from azure.batch import BatchServiceClient
    from azure.batch.batch_auth import SharedKeyCredentials

from batchtasks.emulator import Emulator

pytestmark = pytest.mark.conformance
T = TypeVar("T")
INFINITE = timedelta(days=10675199, seconds=10085, microseconds=477581)


@pytest_asyncio.fixture
async def sdk(batch_emulator: Emulator) -> AsyncIterator[BatchServiceClient]:
    client = BatchServiceClient(
        SharedKeyCredentials(batch_emulator.account, batch_emulator.key),
        batch_url=batch_emulator.url,
    )
    try:
        yield client
    finally:
        client.close()


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def error_code(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    with pytest.raises(bm.BatchErrorException) as info:
        await call(fn, *args, **kwargs)
    return str(info.value.error.code)


def _drain(pager: Iterator[Any]) -> list[Any]:
    return list(pager)


def _add_job(sdk: BatchServiceClient, job_id: str, **kw: Any) -> None:
    sdk.job.add(bm.JobAddParameter(id=job_id, pool_info=bm.PoolInformation(pool_id="pool-1"), **kw))


async def _job(sdk: BatchServiceClient, job_id: str, **kw: Any) -> None:
    await call(_add_job, sdk, job_id, **kw)


async def test_job_operations(sdk: BatchServiceClient) -> None:
    await _job(sdk, "job-1", priority=10)
    job = await call(sdk.job.get, "job-1")
    assert (job.id, job.state, job.priority) == ("job-1", bm.JobState.active, 10)
    assert isinstance(job.creation_time, datetime)
    assert await error_code(_add_job, sdk, "JOB-1") == "JobExists"
    assert "job-1" in [j.id for j in await call(_drain, sdk.job.list())]
    with_stats = await call(sdk.job.get, "job-1", bm.JobGetOptions(expand="stats"))
    assert with_stats.stats.num_succeeded_tasks == 0
    assert with_stats.stats.wall_clock_time >= timedelta(0)
    await call(sdk.job.patch, "job-1", bm.JobPatchParameter(priority=20))
    patched = await call(sdk.job.get, "job-1")
    assert patched.priority == 20
    replacement = bm.JobUpdateParameter(pool_info=bm.PoolInformation(pool_id="pool-1"), priority=1)
    stale = bm.JobUpdateOptions(if_match=job.e_tag)
    assert await error_code(sdk.job.update, "job-1", replacement, stale) == "ConditionNotMet"
    await call(sdk.job.update, "job-1", replacement, bm.JobUpdateOptions(if_match=patched.e_tag))
    assert (await call(sdk.job.get, "job-1")).priority == 1
    await call(sdk.job.delete, "job-1")
    assert await error_code(sdk.job.get, "nope") == "JobNotFound"


async def test_task_add_get_update(sdk: BatchServiceClient) -> None:
    await _job(sdk, "j")
    await call(
        sdk.task.add,
        "j",
        bm.TaskAddParameter(
            id="t1",
            display_name="\u00dcnicode",
            command_line="echo hi",
            constraints=bm.TaskConstraints(
                max_wall_clock_time=timedelta(hours=1), max_task_retry_count=2
            ),
        ),
    )
    task = await call(sdk.task.get, "j", "t1")
    assert task.display_name == "\u00dcnicode"
    assert task.state == bm.TaskState.active
    assert task.constraints.max_wall_clock_time == timedelta(hours=1)
    assert task.constraints.retention_time == timedelta(days=7)
    assert task.constraints.max_task_retry_count == 2
    assert task.execution_info.retry_count == 0
    assert task.user_identity.auto_user.elevation_level == bm.ElevationLevel.non_admin
    assert task.creation_time.tzinfo is not None
    assert (
        await error_code(sdk.task.add, "j", bm.TaskAddParameter(id="T1", command_line="x"))
        == "TaskExists"
    )
    assert (
        await error_code(sdk.task.add, "missing", bm.TaskAddParameter(id="a", command_line="x"))
        == "JobNotFound"
    )
    assert await error_code(sdk.task.get, "j", "nope") == "TaskNotFound"

    await call(
        sdk.task.update, "j", "t1", constraints=bm.TaskConstraints(retention_time=timedelta(days=1))
    )
    updated = await call(sdk.task.get, "j", "t1", bm.TaskGetOptions(select="id,constraints,eTag"))
    assert updated.constraints.retention_time == timedelta(days=1)
    assert updated.constraints.max_wall_clock_time == INFINITE
    assert updated.command_line is None  # not selected
    stale = bm.TaskUpdateOptions(if_match="0x1")
    assert (
        await error_code(sdk.task.update, "j", "t1", task_update_options=stale) == "ConditionNotMet"
    )
    fresh = bm.TaskUpdateOptions(if_match=updated.e_tag)
    await call(sdk.task.update, "j", "t1", task_update_options=fresh)
    stats = await call(sdk.task.get, "j", "t1", bm.TaskGetOptions(expand="stats"))
    assert stats.stats is not None
    assert stats.stats.read_iops == 0


async def test_add_collection_with_threads_and_paged_filtered_list(sdk: BatchServiceClient) -> None:
    await _job(sdk, "bulk")
    tasks = [bm.TaskAddParameter(id=f"bulk-{i:04d}", command_line=f"echo {i}") for i in range(250)]
    result = await call(sdk.task.add_collection, "bulk", tasks, threads=4)
    assert len(result.value) == 250
    assert {r.status for r in result.value} == {bm.TaskAddStatus.success}
    # Re-adding: the SDK treats TaskExists as success.
    again = await call(sdk.task.add_collection, "bulk", tasks[:10])
    assert {r.error.code for r in again.value if r.error} == {"TaskExists"}
    opts = bm.TaskListOptions(
        filter="startswith(id,'bulk-00') and state eq 'active'", max_results=30, select="id,state"
    )
    listed = await call(_drain, sdk.task.list("bulk", opts))
    assert sorted(t.id for t in listed) == [f"bulk-{i:04d}" for i in range(100)]
    assert {t.state for t in listed} == {bm.TaskState.active}
    everything = await call(_drain, sdk.task.list("bulk", bm.TaskListOptions(max_results=1000)))
    assert len(everything) == 250
    counts = await call(sdk.job.get_task_counts, "bulk")
    assert (counts.task_counts.active, counts.task_slot_counts.active) == (250, 250)
    bad = bm.TaskListOptions(filter="displayName eq 'x'")
    assert await error_code(_drain, sdk.task.list("bulk", bad)) == "InvalidQueryParameterValue"


async def test_terminate_reactivate_subtasks_delete(sdk: BatchServiceClient) -> None:
    await _job(sdk, "life")
    mi = bm.MultiInstanceSettings(number_of_instances=3, coordination_command_line="coord")
    await call(
        sdk.task.add,
        "life",
        bm.TaskAddParameter(id="mpi", command_line="x", multi_instance_settings=mi),
    )
    info = await call(sdk.task.list_subtasks, "life", "mpi")
    assert [s.id for s in info.value] == [1, 2]
    assert await error_code(sdk.task.reactivate, "life", "mpi") == "TaskNotCompleted"
    await call(sdk.task.terminate, "life", "mpi")
    assert (await call(sdk.task.get, "life", "mpi")).state == bm.TaskState.completed
    assert await error_code(sdk.task.terminate, "life", "mpi") == "TaskCompleted"
    await call(sdk.task.reactivate, "life", "mpi")
    assert (await call(sdk.task.get, "life", "mpi")).state == bm.TaskState.active
    await call(sdk.task.delete, "life", "mpi")
    assert await error_code(sdk.task.get, "life", "mpi") == "TaskNotFound"


async def test_completed_task_from_lifecycle_decodes() -> None:
    async with Emulator(in_memory=True, run_tasks=True, task_seconds=10) as emu:
        client = BatchServiceClient(SharedKeyCredentials(emu.account, emu.key), batch_url=emu.url)
        try:
            await _job(client, "run")
            await call(
                client.task.add,
                "run",
                bm.TaskAddParameter(id="fail", command_line="sh -c 'exit 4'"),
            )
            await emu.advance(0)
            await emu.advance(60)
            task = await call(client.task.get, "run", "fail")
            assert task.state == bm.TaskState.completed
            assert task.execution_info.exit_code == 4
            assert task.execution_info.result == bm.TaskExecutionResult.failure
            assert task.execution_info.failure_info.category == bm.ErrorCategory.user_error
            assert task.node_info.pool_id == "pool-1"
            failed = await call(
                _drain,
                client.task.list("run", bm.TaskListOptions(filter="executionInfo/exitCode eq 4")),
            )
            assert [t.id for t in failed] == ["fail"]
        finally:
            client.close()


async def test_sdk_splits_chunks_on_request_body_too_large(
    sdk: BatchServiceClient, batch_emulator: Emulator
) -> None:
    await _job(sdk, "big")
    batch_emulator.set_faults(body_limit=64 * 1024)
    tasks = [bm.TaskAddParameter(id=f"big-{i:03d}", command_line="x" * 2000) for i in range(100)]
    result = await call(sdk.task.add_collection, "big", tasks)
    assert len(result.value) == 100
    assert {r.status for r in result.value} == {bm.TaskAddStatus.success}
    stats = await batch_emulator.stats()
    assert stats["faults"]["body_too_large"] >= 1
    assert stats["stored"]["tasks"] == 100


async def test_sdk_resubmits_per_task_server_errors(
    sdk: BatchServiceClient, batch_emulator: Emulator
) -> None:
    await _job(sdk, "flaky")
    batch_emulator.set_faults(seed=11, task_server_error_rate=0.3)
    tasks = [bm.TaskAddParameter(id=f"flaky-{i:03d}", command_line="echo") for i in range(150)]
    result = await call(sdk.task.add_collection, "flaky", tasks, threads=2)
    assert sorted(
        r.task_id for r in result.value if r.status == bm.TaskAddStatus.success
    ) == sorted(t.id for t in tasks)
    stats = await batch_emulator.stats()
    assert stats["faults"]["task_server_error"] > 0
    assert stats["tasks_added"] == 150
