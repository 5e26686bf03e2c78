"""azure-batch 15.1.0 (TypeSpec-generated, sends api-version 2025-06-01), sync and ``aio``,
with its default settings, against the emulator over loopback.

15.x installs as ``azure.batch`` like 14.2.0 (which the ``tests`` session has), so this module
runs only in its own nox session, ``nox -s sdk15``, whose venv holds 15.1.0. Its file name does
not match ``test_*.py`` on purpose: the ``tests`` session never collects it; the session names
the file explicitly, which pytest always collects.

One scenario, written once, drives both clients: `Api` wraps the sync client (calls in a worker
thread while the emulator serves in the test's loop) or the aio client (awaited directly).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from azure.batch import BatchClient
from azure.batch import models as m
from azure.batch.aio import BatchClient as AioBatchClient
from azure.core import MatchConditions
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)

from batchtasks.emulator import Emulator
from batchtasks.emulator.pytest_plugin import EmulatorFactory

pytestmark = pytest.mark.conformance


class Api:
    """The same calls on the sync client (in a thread) or the aio client (awaited)."""

    def __init__(self, client: Any, is_async: bool) -> None:
        self.client = client
        self.is_async = is_async

    async def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(self.client, name)
        if self.is_async:
            return await fn(*args, **kwargs)
        return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))

    async def pages(self, name: str, *args: Any, **kwargs: Any) -> list[list[Any]]:
        """Every page of a list operation, each as a list (pages show that paging happened)."""
        pager = getattr(self.client, name)(*args, **kwargs).by_page()
        if self.is_async:
            return [[item async for item in page] async for page in pager]
        return await asyncio.to_thread(lambda: [list(page) for page in pager])

    async def items(self, name: str, *args: Any, **kwargs: Any) -> list[Any]:
        return [item for page in await self.pages(name, *args, **kwargs) for item in page]

    async def poll(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Start a long-running operation and wait for it."""
        poller = await self(name, *args, polling_interval=0, **kwargs)
        if self.is_async:
            await poller.result()
        else:
            await asyncio.to_thread(poller.result)

    async def download(self, *args: Any) -> bytes:
        """A file's bytes from download_task_file (an iterator of chunks)."""
        chunks = await self("download_task_file", *args)
        if self.is_async:
            return b"".join([chunk async for chunk in chunks])
        return await asyncio.to_thread(lambda: b"".join(chunks))

    async def error(
        self, kind: type[HttpResponseError], name: str, *args: Any, **kwargs: Any
    ) -> tuple[int, str]:
        """Status and Batch error code of a call that must fail with `kind`."""
        with pytest.raises(kind) as info:
            await self(name, *args, **kwargs)
        error = info.value.error
        assert error is not None
        return int(info.value.status_code or 0), str(error.code)


@contextlib.asynccontextmanager
async def _api(emulator: Emulator, kind: str) -> AsyncIterator[Api]:
    credential = AzureNamedKeyCredential(emulator.account, emulator.key)
    if kind == "aio":
        async with AioBatchClient(emulator.url, credential) as aio_client:
            yield Api(aio_client, is_async=True)
    else:
        client = BatchClient(emulator.url, credential)
        try:
            yield Api(client, is_async=False)
        finally:
            client.close()


@pytest_asyncio.fixture(params=["sync", "aio"])
async def api(request: pytest.FixtureRequest, batch_emulator: Emulator) -> AsyncIterator[Api]:
    async with _api(batch_emulator, request.param) as client:
        yield client


def _job(job_id: str, **kw: Any) -> m.BatchJobCreateOptions:
    return m.BatchJobCreateOptions(id=job_id, pool_info=m.BatchPoolInfo(pool_id="pool-1"), **kw)


def _task(task_id: str, **kw: Any) -> m.BatchTaskCreateOptions:
    return m.BatchTaskCreateOptions(id=task_id, command_line=kw.pop("command_line", "echo"), **kw)


async def test_job_operations(api: Api) -> None:
    await api(
        "create_job",
        _job("job-1", priority=10, metadata=[m.BatchMetadataItem(name="a", value="b")]),
    )
    job = await api("get_job", "job-1")
    assert (job.id, job.state, job.priority) == ("job-1", m.BatchJobState.ACTIVE, 10)
    assert await api.error(ResourceExistsError, "create_job", _job("JOB-1")) == (409, "JobExists")
    assert "job-1" in [j.id for j in await api.items("list_jobs")]
    await api("update_job", "job-1", m.BatchJobUpdateOptions(priority=20))
    patched = await api("get_job", "job-1")
    assert (patched.priority, patched.metadata[0].name) == (20, "a")
    stale = {"etag": job.etag, "match_condition": MatchConditions.IfNotModified}
    replacement = m.BatchJob(pool_info=m.BatchPoolInfo(pool_id="pool-1"), priority=1)
    assert await api.error(ResourceModifiedError, "replace_job", "job-1", replacement, **stale) == (
        412,
        "ConditionNotMet",
    )
    fresh = {"etag": patched.etag, "match_condition": MatchConditions.IfNotModified}
    await api("replace_job", "job-1", replacement, **fresh)
    replaced = await api("get_job", "job-1")
    assert (replaced.priority, replaced.metadata) == (1, None)
    await api.poll("begin_delete_job", "job-1")
    assert await api.error(ResourceNotFoundError, "get_job", "job-1") == (404, "JobNotFound")


async def test_task_create_get_select_replace(api: Api) -> None:
    await api("create_job", _job("j"))
    constraints = m.BatchTaskConstraints(
        max_wall_clock_time=timedelta(hours=1), max_task_retry_count=2
    )
    await api("create_task", "j", _task("t1", display_name="\u00dcnicode", constraints=constraints))
    task = await api("get_task", "j", "t1")
    assert (task.display_name, task.state) == ("\u00dcnicode", m.BatchTaskState.ACTIVE)
    assert task.constraints.max_wall_clock_time == timedelta(hours=1)
    assert task.constraints.retention_time == timedelta(days=7)
    assert task.execution_info.retry_count == 0
    assert await api.error(ResourceExistsError, "create_task", "j", _task("T1")) == (
        409,
        "TaskExists",
    )
    assert await api.error(ResourceNotFoundError, "create_task", "nope", _task("a")) == (
        404,
        "JobNotFound",
    )
    assert await api.error(ResourceNotFoundError, "get_task", "j", "nope") == (404, "TaskNotFound")
    selected = await api("get_task", "j", "t1", select=["id", "constraints", "eTag"])
    assert selected.command_line is None
    stale = {"etag": "0x1", "match_condition": MatchConditions.IfNotModified}
    change = m.BatchTask(constraints=m.BatchTaskConstraints(retention_time=timedelta(days=1)))
    assert await api.error(ResourceModifiedError, "replace_task", "j", "t1", change, **stale) == (
        412,
        "ConditionNotMet",
    )
    fresh = {"etag": selected.etag, "match_condition": MatchConditions.IfNotModified}
    await api("replace_task", "j", "t1", change, **fresh)
    updated = await api("get_task", "j", "t1")
    assert updated.constraints.retention_time == timedelta(days=1)
    assert updated.constraints.max_task_retry_count == 0  # replaced: omitted means the default


async def test_create_tasks_and_paged_filtered_selected_list(api: Api) -> None:
    await api("create_job", _job("bulk"))
    tasks = [_task(f"bulk-{i:04d}", command_line=f"echo {i}") for i in range(250)]
    result = await api("create_tasks", "bulk", tasks)
    assert len(result.result_values) == 250
    assert {r.status for r in result.result_values} == {m.BatchTaskAddStatus.SUCCESS}
    pages = await api.pages(
        "list_tasks",
        "bulk",
        filter="startswith(id,'bulk-00') and state eq 'active'",
        select=["id", "state"],
        max_results=30,
    )
    assert len(pages) == 4
    listed = [t for page in pages for t in page]
    assert sorted(t.id for t in listed) == [f"bulk-{i:04d}" for i in range(100)]
    assert {t.command_line for t in listed} == {None}
    assert len(await api.items("list_tasks", "bulk")) == 250
    counts = await api("get_job_task_counts", "bulk")
    assert (counts.task_counts.active, counts.task_slot_counts.active) == (250, 250)
    assert await api.error(ResourceNotFoundError, "get_job_task_counts", "nope") == (
        404,
        "JobNotFound",
    )
    with pytest.raises(HttpResponseError) as info:
        await api.items("list_tasks", "bulk", filter="displayName eq 'x'")
    assert info.value.error is not None
    assert info.value.error.code == "InvalidQueryParameterValue"


async def test_terminate_reactivate_subtasks_delete(api: Api) -> None:
    await api("create_job", _job("life"))
    mi = m.MultiInstanceSettings(number_of_instances=3, coordination_command_line="coord")
    await api("create_task", "life", _task("mpi", multi_instance_settings=mi))
    assert [s.id for s in await api.items("list_subtasks", "life", "mpi")] == [1, 2]
    assert await api.error(ResourceExistsError, "reactivate_task", "life", "mpi") == (
        409,
        "TaskNotCompleted",
    )
    await api("terminate_task", "life", "mpi")
    assert (await api("get_task", "life", "mpi")).state == m.BatchTaskState.COMPLETED
    assert await api.error(ResourceExistsError, "terminate_task", "life", "mpi") == (
        409,
        "TaskCompleted",
    )
    await api("reactivate_task", "life", "mpi")
    assert (await api("get_task", "life", "mpi")).state == m.BatchTaskState.ACTIVE
    await api("delete_task", "life", "mpi")
    assert await api.error(ResourceNotFoundError, "get_task", "life", "mpi") == (
        404,
        "TaskNotFound",
    )


@pytest.mark.parametrize("kind", ["sync", "aio"])
async def test_task_files(batch_emulator_factory: EmulatorFactory, kind: str) -> None:
    emu = await batch_emulator_factory(run_tasks=True)
    async with _api(emu, kind) as api:
        await api("create_job", _job("j"))
        await api("create_task", "j", _task("t", command_line="echo hi"))
        for _ in range(10):
            await emu.advance(5)
            if (await api("get_task", "j", "t")).state == m.BatchTaskState.COMPLETED:
                break
        names = sorted(f.name for f in await api.items("list_task_files", "j", "t", recursive=True))
        assert names == ["stderr.txt", "stdout.txt", "wd"]
        props = await api("get_task_file_properties", "j", "t", "stdout.txt")
        data = await api.download("j", "t", "stdout.txt")
        assert (props.is_directory, props.content_length) == (False, len(data))
        assert b"echo hi" in data
        await api("delete_task_file", "j", "t", "stdout.txt")
        # The SDK does not read the body of a failed download or HEAD: the status is the code.
        for name in ("download_task_file", "get_task_file_properties"):
            with pytest.raises(ResourceNotFoundError) as info:
                await api(name, "j", "t", "stdout.txt")
            assert info.value.status_code == 404


def test_the_client_sends_2025_06_01() -> None:
    # "Default settings" means this version: if a later 15.x changed it, the emulator's table
    # (batchtasks/emulator/versions.py) must learn the new one.
    client = BatchClient("http://127.0.0.1:1", AzureNamedKeyCredential("a", "a2V5"))
    try:
        assert client._config.api_version == "2025-06-01"
    finally:
        client.close()
