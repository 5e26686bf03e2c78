"""The official azure-batch 14.2.0 SDK's own file operations against the emulator, side by side
with batchtasks: the same files, headers and bytes, and the same error codes.

`file.list_from_task`, `get_properties_from_task` (raw headers), `get_from_task` (a byte
generator, with `ocp_range` and `if_modified_since`) and `delete_from_task` are a client nobody
here wrote: what they see is what the service's clients see. SDK calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import azure.batch.models as bm
    from azure.batch import BatchServiceClient
    from azure.batch.batch_auth import SharedKeyCredentials

from batchtasks import BatchClient, SharedKeyCredential
from batchtasks.emulator import Emulator
from batchtasks.emulator.pytest_plugin import EmulatorFactory

pytestmark = pytest.mark.conformance
T = TypeVar("T")


@pytest_asyncio.fixture
async def emu(batch_emulator_factory: EmulatorFactory) -> Emulator:
    return await batch_emulator_factory(run_tasks=True)


@pytest_asyncio.fixture
async def sdk(emu: Emulator) -> AsyncIterator[BatchServiceClient]:
    client = BatchServiceClient(SharedKeyCredentials(emu.account, emu.key), batch_url=emu.url)
    try:
        yield client
    finally:
        client.close()


@pytest_asyncio.fixture
async def ours(emu: Emulator) -> AsyncIterator[BatchClient]:
    async with BatchClient(emu.url, SharedKeyCredential(emu.account, emu.key)) as client:
        yield client


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def error_code(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str | None:
    with pytest.raises(bm.BatchErrorException) as info:
        await call(fn, *args, **kwargs)
    error = info.value.error
    return None if error is None else str(error.code)


def _add(sdk: BatchServiceClient, job: str, task: str) -> None:
    sdk.job.add(
        bm.JobAddParameter(
            id=job, pool_info=bm.PoolInformation(pool_id="pool"), uses_task_dependencies=True
        )
    )
    sdk.task.add(job, bm.TaskAddParameter(id=task, command_line="echo hi; exit 0"))


async def ran_with_sdk(emu: Emulator, sdk: BatchServiceClient) -> Path:
    """Job `job` with task `task`, added and watched with the SDK until it completed."""
    await call(_add, sdk, "job", "task")
    for _ in range(10):
        await emu.advance(5)
        task = await call(sdk.task.get, "job", "task")
        if task.state == bm.TaskState.completed:
            return emu.nodes.task_dir(task.node_info.node_id, "job", "task")
    raise AssertionError("the task did not complete")


def _collect(chunks: Any) -> bytes:
    return b"".join(chunks)


def _download(sdk: BatchServiceClient, job: str, task: str, name: str, *options: Any) -> bytes:
    return _collect(sdk.file.get_from_task(job, task, name, *options))


async def test_list_and_properties_agree(
    emu: Emulator, sdk: BatchServiceClient, ours: BatchClient
) -> None:
    directory = await ran_with_sdk(emu, sdk)
    (directory / "wd" / "out").mkdir()
    (directory / "wd" / "out" / "r.csv").write_bytes(b"x,y\n")
    options = bm.FileListFromTaskOptions(max_results=2)
    theirs = await call(
        lambda: list(
            sdk.file.list_from_task(
                "job", "task", recursive=True, file_list_from_task_options=options
            )
        )
    )
    mine = [
        f async for f in ours.files.list_from_task("job", "task", recursive=True, max_results=2)
    ]
    assert [f.name for f in theirs] == [f.name for f in mine]
    assert [f.name for f in theirs] == [
        "stderr.txt",
        "stdout.txt",
        "wd",
        "wd/out",
        "wd/out/r.csv",
    ]
    for a, b in zip(theirs, mine, strict=True):
        assert (a.url, a.is_directory) == (b.url, b.is_directory)
        assert b.properties is not None
        assert a.properties.content_length == b.properties.content_length
        assert a.properties.last_modified == b.properties.last_modified
        assert a.properties.creation_time == b.properties.creation_time
        assert a.properties.file_mode == b.properties.file_mode
        assert a.properties.content_type == b.properties.content_type

    raw = await call(sdk.file.get_properties_from_task, "job", "task", "wd/out/r.csv", raw=True)
    props = await ours.files.get_properties_from_task("job", "task", "wd/out/r.csv")
    headers = raw.headers
    assert headers["Content-Length"] == props.content_length == 4
    assert headers["Content-Type"] == props.content_type == "application/octet-stream"
    assert headers["ocp-batch-file-isdirectory"] is False
    assert props.is_directory is False
    assert headers["ocp-batch-file-url"] == props.url
    assert headers["ocp-batch-file-mode"] == props.file_mode
    assert headers["Last-Modified"] == props.last_modified
    assert headers["ocp-creation-time"] == props.creation_time
    folder = await call(sdk.file.get_properties_from_task, "job", "task", "wd", raw=True)
    assert folder.headers["ocp-batch-file-isdirectory"] is True


async def test_download_bytes_and_ranges_agree(
    emu: Emulator, sdk: BatchServiceClient, ours: BatchClient
) -> None:
    directory = await ran_with_sdk(emu, sdk)
    data = os.urandom(1_500_000)
    (directory / "wd" / "blob").write_bytes(data)
    theirs = await call(_download, sdk, "job", "task", "wd/blob")
    mine = await ours.files.get_from_task("job", "task", "wd/blob").read()
    assert theirs == mine == data
    ranged = bm.FileGetFromTaskOptions(ocp_range="bytes=100-199")
    theirs = await call(_download, sdk, "job", "task", "wd/blob", ranged)
    mine = await ours.files.get_from_task(
        "job", "task", "wd/blob", ocp_range="bytes=100-199"
    ).read()
    assert theirs == mine == data[100:200]
    stdout = await call(_download, sdk, "job", "task", "stdout.txt")
    assert b"echo hi; exit 0" in stdout
    assert stdout == await ours.files.get_from_task("job", "task", "stdout.txt").read()


async def test_errors_agree(emu: Emulator, sdk: BatchServiceClient, ours: BatchClient) -> None:
    await ran_with_sdk(emu, sdk)
    # A task that never runs: it depends on a task that does not exist.
    never = bm.TaskDependencies(task_ids=["never"])
    waiting = bm.TaskAddParameter(id="waiting", command_line="exit 0", depends_on=never)
    await call(sdk.task.add, "job", waiting)
    cases = [
        ("nojob", "task", "stdout.txt", "JobNotFound"),
        ("job", "notask", "stdout.txt", "TaskNotFound"),
        ("job", "task", "missing.txt", "FileNotFound"),
        ("job", "waiting", "stdout.txt", "OperationInvalidForCurrentState"),
    ]
    for job, task, name, code in cases:
        assert await error_code(_download, sdk, job, task, name) == code
        with pytest.raises(Exception) as info:
            await ours.files.get_from_task(job, task, name).read()
        assert getattr(info.value, "code", None) == code
        assert await error_code(sdk.file.delete_from_task, job, task, name) == code
    listed = await error_code(lambda: list(sdk.file.list_from_task("job", "waiting")))
    assert listed == "OperationInvalidForCurrentState"
    bad = bm.FileGetFromTaskOptions(ocp_range="bytes=999999-")
    code = await error_code(_download, sdk, "job", "task", "stdout.txt", bad)
    assert code == "InvalidRange"
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    unchanged = bm.FileGetFromTaskOptions(if_modified_since=later)
    with pytest.raises(bm.BatchErrorException) as info:
        await call(_download, sdk, "job", "task", "stdout.txt", unchanged)
    assert info.value.response.status_code == 304


async def test_delete_agrees(emu: Emulator, sdk: BatchServiceClient, ours: BatchClient) -> None:
    directory = await ran_with_sdk(emu, sdk)
    (directory / "wd" / "a").mkdir()
    (directory / "wd" / "a" / "f").write_bytes(b"1")
    assert await error_code(sdk.file.delete_from_task, "job", "task", "wd/a") == (
        "OperationInvalidForCurrentState"
    )
    await call(sdk.file.delete_from_task, "job", "task", "wd/a", recursive=True)
    await ours.files.delete_from_task("job", "task", "stderr.txt")
    names = [f.name async for f in ours.files.list_from_task("job", "task", recursive=True)]
    assert names == ["stdout.txt", "wd"]
