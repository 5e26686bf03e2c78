"""The client end-to-end against the emulator over loopback: every operation, real Shared Key.

Every test runs under the oldest, the default and the newest api-version the client speaks.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio

from batchtasks import (
    SUPPORTED_API_VERSIONS,
    AddCollectionError,
    AlreadyExistsError,
    AuthenticationError,
    BatchClient,
    ConditionNotMetError,
    ConflictError,
    NotFoundError,
    RetryPolicy,
    SharedKeyCredential,
    TaskAddParameter,
    TaskState,
    TaskValidationError,
    ThrottledError,
)
from batchtasks._private.bulk.sender import PipelineChunkSender
from batchtasks.emulator import Emulator
from batchtasks.models import TaskAddStatus, TaskConstraints


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _fake_sleep(seconds: float) -> None:
    return None


FAST_RETRY = RetryPolicy(max_attempts=4, sleep=_fake_sleep)


VERSIONS = (SUPPORTED_API_VERSIONS[0], "2024-02-01.19.0", SUPPORTED_API_VERSIONS[-1])


@pytest_asyncio.fixture(params=VERSIONS)
async def client(
    request: pytest.FixtureRequest, batch_emulator: Emulator
) -> AsyncIterator[BatchClient]:
    credential = SharedKeyCredential(batch_emulator.account, batch_emulator.key)
    async with BatchClient(
        batch_emulator.url, credential, retry_policy=FAST_RETRY, api_version=request.param
    ) as client:
        yield client


async def test_version_differences_reach_the_wire(client: BatchClient, job_id: str) -> None:
    index = SUPPORTED_API_VERSIONS.index(client.api_version)
    has_bind_mounts = index >= SUPPORTED_API_VERSIONS.index("2024-07-01.20.0")
    mounts = {"imageName": "ubuntu", "containerHostBatchBindMounts": [{"source": "Task"}]}
    token = {"id": "tok", "commandLine": "x", "authenticationTokenSettings": {"access": ["job"]}}
    if client.api_version == "2025-06-01":
        with pytest.raises(TaskValidationError, match="authenticationTokenSettings"):
            await client.tasks.add(job_id, token)
    else:
        await client.tasks.add(job_id, token)
    single = {"id": "one", "commandLine": "x", "containerSettings": mounts}
    if has_bind_mounts:
        await client.tasks.add(job_id, single)
    else:
        with pytest.raises(TaskValidationError, match="containerHostBatchBindMounts"):
            await client.tasks.add(job_id, single)
    # The bulk add leaves the check to the service: its per-task answer shows which version
    # the emulator saw on the wire.
    bulk = [{"id": "bulk", "commandLine": "x", "containerSettings": mounts}]
    if has_bind_mounts:
        result = await client.tasks.add_collection(job_id, bulk)
        assert len(result.succeeded) == 1
    else:
        with pytest.raises(AddCollectionError) as info:
            await client.tasks.add_collection(job_id, bulk)
        assert {o.error_code for o in info.value.result.failed} == {"UnsupportedProperty"}


@pytest_asyncio.fixture
async def job_id(client: BatchClient) -> str:
    job = uid("job")
    await client.jobs.add({"id": job, "poolInfo": {"poolId": "pool-1"}})
    return job


async def test_job_add_get_list_delete(client: BatchClient) -> None:
    job = uid("job")
    raw = await client.jobs.with_raw_response.add({"id": job, "poolInfo": {"poolId": "p"}})
    assert raw.status == 201
    assert raw.request_id
    got = await client.jobs.get(job)
    assert got.id == job
    assert got.pool_info is not None
    assert got.pool_info.pool_id == "p"
    assert job in [j.id async for j in client.jobs.list()]
    with pytest.raises(AlreadyExistsError) as info:
        await client.jobs.add({"id": job, "poolInfo": {"poolId": "p"}})
    assert info.value.code == "JobExists"
    assert info.value.after_unknown_outcome is False
    deleted = await client.jobs.with_raw_response.delete(job)
    assert deleted.status == 202


async def test_task_add_get_update_terminate_reactivate_delete(
    client: BatchClient, job_id: str
) -> None:
    await client.tasks.add(job_id, TaskAddParameter(id="t1", command_line="/bin/sh -c 'exit 1'"))
    task = await client.tasks.with_raw_response.get(job_id, "t1")
    assert task.parsed.id == "t1"
    assert task.parsed.state == TaskState.ACTIVE
    assert task.etag

    await client.tasks.update(
        job_id, "t1", TaskConstraints(max_task_retry_count=2), if_match=task.etag
    )
    updated = await client.tasks.get(job_id, "t1", select="id,constraints")
    assert updated.constraints is not None
    assert updated.constraints.max_task_retry_count == 2
    with pytest.raises(ConditionNotMetError):
        await client.tasks.update(job_id, "t1", {"maxTaskRetryCount": 1}, if_match=task.etag)

    terminated = await client.tasks.with_raw_response.terminate(job_id, "t1")
    assert terminated.status == 204
    assert (await client.tasks.get(job_id, "t1")).state == TaskState.COMPLETED
    with pytest.raises(ConflictError) as info:
        await client.tasks.terminate(job_id, "t1")
    assert info.value.code == "TaskCompleted"

    # A terminated task has no successful result, so it may be reactivated (once).
    reactivated = await client.tasks.with_raw_response.reactivate(job_id, "t1")
    assert reactivated.status == 204
    assert (await client.tasks.get(job_id, "t1")).state == TaskState.ACTIVE
    with pytest.raises(ConflictError) as again:
        await client.tasks.reactivate(job_id, "t1")
    assert again.value.code == "TaskNotCompleted"

    await client.tasks.delete(job_id, "t1")
    with pytest.raises(NotFoundError) as nf:
        await client.tasks.get(job_id, "t1")
    assert nf.value.code == "TaskNotFound"


async def test_add_existing_task_is_already_exists(client: BatchClient, job_id: str) -> None:
    await client.tasks.add(job_id, {"id": "dup", "commandLine": "echo"})
    with pytest.raises(AlreadyExistsError) as info:
        await client.tasks.add(job_id, {"id": "dup", "commandLine": "echo"})
    assert info.value.code == "TaskExists"
    assert info.value.after_unknown_outcome is False


async def test_add_after_dropped_connection_reports_unknown_outcome(
    batch_emulator: Emulator, client: BatchClient, job_id: str
) -> None:
    batch_emulator.set_faults(drop_after_commit_rate=1.0)
    try:
        with pytest.raises(AlreadyExistsError) as info:
            await client.tasks.add(job_id, {"id": "lost", "commandLine": "echo"})
    finally:
        batch_emulator.set_faults(drop_after_commit_rate=0.0)
    assert info.value.after_unknown_outcome is True
    assert (await client.tasks.get(job_id, "lost")).id == "lost"


async def test_throttling_is_retried_then_raised(
    batch_emulator: Emulator, client: BatchClient
) -> None:
    batch_emulator.set_faults(throttle_rate=1.0, retry_after_seconds=2)
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    try:
        with pytest.raises(ThrottledError) as info:
            await client.jobs.get("nope", retry_policy=RetryPolicy(max_attempts=3, sleep=record))
    finally:
        batch_emulator.set_faults(throttle_rate=0.0)
    assert info.value.retry_after == 2.0
    assert sleeps == [2.0, 2.0]


async def test_add_collection_and_list_pages(client: BatchClient, job_id: str) -> None:
    tasks = [{"id": f"c{i:02d}", "commandLine": "echo ü"} for i in range(7)]
    result = await client.tasks.add_collection(job_id, tasks)
    assert result.value is not None
    assert sorted(r.task_id for r in result.value) == [t["id"] for t in tasks]
    assert {r.status for r in result.value} == {TaskAddStatus.SUCCESS}

    pages = [page async for page in client.tasks.list(job_id, max_results=3).by_page()]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert pages[-1].continuation_token is None
    assert all(p.request_id for p in pages)
    resumed = client.tasks.list(job_id, max_results=3).by_page(pages[0].continuation_token)
    assert [t.id for p in [p async for p in resumed] for t in p] == [
        f"c{i:02d}" for i in range(3, 7)
    ]

    filtered = client.tasks.list(job_id, filter="id eq 'c03'", select="id,state")
    assert [t.id async for t in filtered] == ["c03"]

    with pytest.raises(AddCollectionError) as again:
        await client.tasks.add_collection(job_id, tasks[:2])
    assert len(again.value.failed) == 2
    assert again.value.succeeded == []

    chunk = await PipelineChunkSender(client._pipeline)(
        job_id, b'{"value":[{"id":"raw1","commandLine":"echo"}]}'
    )
    assert chunk[0]["taskId"] == "raw1"
    assert str(chunk[0]["status"]).lower() == "success"


async def test_list_subtasks_of_plain_task_is_empty(client: BatchClient, job_id: str) -> None:
    await client.tasks.add(job_id, {"id": "plain", "commandLine": "echo"})
    pager = client.tasks.list_subtasks(job_id, "plain")
    assert [s async for s in pager] == []
    pages = [p async for p in client.tasks.list_subtasks(job_id, "plain").by_page()]
    assert len(pages) == 1
    assert pages[0].continuation_token is None


async def test_missing_job_is_not_found(client: BatchClient) -> None:
    with pytest.raises(NotFoundError) as info:
        await client.tasks.add("no-such-job", {"id": "t", "commandLine": "echo"})
    assert info.value.code == "JobNotFound"


async def test_constraints_durations_round_trip(client: BatchClient, job_id: str) -> None:
    await client.tasks.add(
        job_id,
        TaskAddParameter(
            id="dur",
            command_line="echo",
            constraints=TaskConstraints(max_wall_clock_time=timedelta(hours=1)),
        ),
    )
    task = await client.tasks.get(job_id, "dur")
    assert task.constraints is not None
    assert task.constraints.max_wall_clock_time == timedelta(hours=1)


async def test_wrong_key_is_authentication_error(batch_emulator: Emulator) -> None:
    wrong = SharedKeyCredential(batch_emulator.account, "d3Jvbmcta2V5LXdyb25nLWtleQ==")
    async with BatchClient(batch_emulator.url, wrong, retry_policy=FAST_RETRY) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.jobs.get("any")
    assert info.value.status == 403
    assert "d3Jvbmcta2V5" not in str(info.value)


async def test_wrong_account_is_authentication_error(batch_emulator: Emulator) -> None:
    other = SharedKeyCredential("someoneelse", batch_emulator.key)
    async with BatchClient(batch_emulator.url, other, retry_policy=FAST_RETRY) as client:
        with pytest.raises(AuthenticationError):
            await client.tasks.add("j", {"id": "t", "commandLine": "echo"})
