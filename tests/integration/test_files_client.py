"""`client.files` end to end against the emulator: every operation, every error case, resumption
through a proxy that drops connections, and the ``task files`` CLI."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import pytest_asyncio

from batchtasks import (
    BadRequestError,
    BatchClient,
    BatchServiceError,
    ConditionNotMetError,
    ConflictError,
    DownloadError,
    NotFoundError,
    RetryPolicy,
    SharedKeyCredential,
)
from batchtasks.emulator import Emulator
from batchtasks.emulator.pytest_plugin import EmulatorFactory

from ._dropping_proxy import DroppingProxy


async def _no_sleep(seconds: float) -> None:
    return None


FAST_RETRY = RetryPolicy(max_attempts=4, sleep=_no_sleep)


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest_asyncio.fixture
async def emu(batch_emulator_factory: EmulatorFactory) -> Emulator:
    return await batch_emulator_factory(run_tasks=True)


def make_client(emu: Emulator, url: str | None = None) -> BatchClient:
    credential = SharedKeyCredential(emu.account, emu.key)
    return BatchClient(url or emu.url, credential, retry_policy=FAST_RETRY)


@pytest_asyncio.fixture
async def client(emu: Emulator) -> AsyncIterator[BatchClient]:
    async with make_client(emu) as client:
        yield client


async def ran(emu: Emulator, client: BatchClient, command: str = "exit 0") -> tuple[str, str, Path]:
    """A new job with one task that ran to completion: (job, task, task directory)."""
    job, task = uid("job"), uid("task")
    await client.jobs.add({"id": job, "poolInfo": {"poolId": "pool"}})
    await client.tasks.add(job, {"id": task, "commandLine": command})
    for _ in range(10):
        await emu.advance(5)
        got = await client.tasks.get(job, task)
        if got.state == "completed":
            assert got.node_info is not None
            assert got.node_info.node_id is not None
            return job, task, emu.nodes.task_dir(got.node_info.node_id, job, task)
    raise AssertionError("the task did not complete")


async def test_list_properties_download_delete(emu: Emulator, client: BatchClient) -> None:
    job, task, directory = await ran(emu, client, "echo hi; exit 0")
    (directory / "wd" / "out").mkdir()
    (directory / "wd" / "out" / "result.csv").write_bytes(b"a,b\n1,2\n")
    files = client.files
    top = [f.name async for f in files.list_from_task(job, task)]
    assert top == ["stderr.txt", "stdout.txt", "wd"]
    deep = {f.name: f async for f in files.list_from_task(job, task, recursive=True)}
    assert set(deep) == {"stderr.txt", "stdout.txt", "wd", "wd/out", "wd/out/result.csv"}
    entry = deep["wd/out/result.csv"]
    assert entry.is_directory is False
    assert entry.properties is not None
    assert entry.properties.content_length == 8
    some = [
        f.name
        async for f in files.list_from_task(
            job, task, recursive=True, filter="startswith(name,'wd/')", max_results=1
        )
    ]
    assert some == ["wd/out", "wd/out/result.csv"]

    props = await files.get_properties_from_task(job, task, "wd/out/result.csv")
    assert props.content_length == 8
    assert props.is_directory is False
    assert props.content_type == "application/octet-stream"
    assert props.url is not None
    assert props.url.endswith("/files/wd/out/result.csv")
    assert props.last_modified is not None
    assert props.creation_time is not None
    assert props.file_mode is not None
    assert (await files.get_properties_from_task(job, task, "wd")).is_directory is True

    stdout = await files.get_from_task(job, task, "stdout.txt").read()
    assert b"exit code: 0" in stdout
    async with files.get_from_task(job, task, "wd/out/result.csv") as download:
        assert download.size == 8
        assert [c async for c in download] == [b"a,b\n1,2\n"]
    part = await files.get_from_task(job, task, "wd/out/result.csv", ocp_range="bytes=4-").read()
    assert part == b"1,2\n"

    await files.delete_from_task(job, task, "stdout.txt")
    with pytest.raises(ConflictError):
        await files.delete_from_task(job, task, "wd/out")
    raw = await files.with_raw_response.delete_from_task(job, task, "wd/out", recursive=True)
    assert raw.status == 200
    assert [f.name async for f in files.list_from_task(job, task, recursive=True)] == [
        "stderr.txt",
        "wd",
    ]


async def test_to_file_writes_atomically(
    emu: Emulator, client: BatchClient, tmp_path: Path
) -> None:
    job, task, directory = await ran(emu, client)
    data = os.urandom(3 * 1024 * 1024 + 17)
    (directory / "wd" / "blob").write_bytes(data)
    target = tmp_path / "blob"
    assert await client.files.get_from_task(job, task, "wd/blob").to_file(target) == len(data)
    assert target.read_bytes() == data
    assert not (tmp_path / "blob.partial").exists()
    # A failed download leaves an existing file untouched and no partial file behind.
    target.write_bytes(b"keep me")
    with pytest.raises(NotFoundError):
        await client.files.get_from_task(job, task, "wd/missing").to_file(target)
    assert target.read_bytes() == b"keep me"
    assert not (tmp_path / "blob.partial").exists()


async def test_errors(emu: Emulator, client: BatchClient) -> None:
    job, task, _ = await ran(emu, client)
    first_job = job
    files = client.files
    cases: list[tuple[str, str, str, type[BatchServiceError], str | None]] = [
        ("no-such-job", task, "stdout.txt", NotFoundError, "JobNotFound"),
        (job, "no-such-task", "stdout.txt", NotFoundError, "TaskNotFound"),
        (job, task, "nothing.txt", NotFoundError, "FileNotFound"),
    ]
    for job_id, task_id, name, error, code in cases:
        with pytest.raises(error) as info:
            await files.get_from_task(job_id, task_id, name).read()
        assert info.value.code == code
        with pytest.raises(error):  # HEAD answers carry no body, so no code
            await files.get_properties_from_task(job_id, task_id, name)
        with pytest.raises(error) as info:
            await files.delete_from_task(job_id, task_id, name)
        assert info.value.code == code
    with pytest.raises(NotFoundError) as info:
        [f async for f in files.list_from_task("no-such-job", task)]
    assert info.value.code == "JobNotFound"

    # A task that never ran has no files yet (it waits for a task that does not exist).
    await client.jobs.add(
        {"id": "deps", "poolInfo": {"poolId": "pool"}, "usesTaskDependencies": True}
    )
    job = "deps"
    never = {"taskIds": ["never"]}
    await client.tasks.add(job, {"id": "waiting", "commandLine": "exit 0", "dependsOn": never})
    with pytest.raises(ConflictError) as conflict:
        [f async for f in files.list_from_task(job, "waiting")]
    assert conflict.value.code == "OperationInvalidForCurrentState"
    with pytest.raises(ConflictError):
        await files.get_from_task(job, "waiting", "stdout.txt").read()

    # Ranges outside the file.
    job = first_job
    size = (await files.get_properties_from_task(job, task, "stdout.txt")).content_length
    assert size
    with pytest.raises(BatchServiceError) as bad:
        await files.get_from_task(job, task, "stdout.txt", ocp_range=f"bytes={size}-").read()
    assert (bad.value.status, bad.value.code) == (416, "InvalidRange")


async def test_conditions(emu: Emulator, client: BatchClient) -> None:
    job, task, _ = await ran(emu, client)
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    earlier = datetime.now(timezone.utc) - timedelta(hours=1)
    files = client.files
    with pytest.raises(ConditionNotMetError) as info:
        await files.get_from_task(job, task, "stdout.txt", if_modified_since=later).read()
    assert info.value.status == 304
    with pytest.raises(ConditionNotMetError):
        await files.get_properties_from_task(job, task, "stdout.txt", if_modified_since=later)
    with pytest.raises(ConditionNotMetError) as info:
        await files.get_from_task(job, task, "stdout.txt", if_unmodified_since=earlier).read()
    assert info.value.status == 412
    fresh = files.get_from_task(job, task, "stdout.txt", if_modified_since=earlier)
    assert b"exit code" in await fresh.read()


async def test_paths_cannot_leave_the_task_directory(
    emu: Emulator, client: BatchClient, tmp_path: Path
) -> None:
    job, task, directory = await ran(emu, client)
    (tmp_path / "secret").write_text("outside")
    (directory / "wd" / "link").symlink_to(tmp_path / "secret")
    for name in ("../../../../secret", "/etc/passwd", "wd/link", "wd/../../x"):
        with pytest.raises(BadRequestError) as info:
            await client.files.get_from_task(job, task, name).read()
        assert info.value.code == "InvalidUri", name
    with pytest.raises(BadRequestError):
        await client.files.delete_from_task(job, task, "wd/link")
    assert (tmp_path / "secret").exists()
    for name in ("..", "."):
        with pytest.raises(ValueError, match="file_path"):
            client.files.get_from_task(job, task, name)


async def test_download_resumes_after_dropped_connections(
    emu: Emulator, client: BatchClient, tmp_path: Path
) -> None:
    job, task, directory = await ran(emu, client)
    data = os.urandom(5 * 1024 * 1024)
    (directory / "wd" / "data").write_bytes(data)
    async with (
        DroppingProxy(emu.port, cut_after=[1_000_000, 2_500_000, 100]) as proxy,
        make_client(emu, proxy.url) as through,
    ):
        got = await through.files.get_from_task(job, task, "wd/data").read()
        assert proxy.cuts == 3
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    # A range download resumes inside its range (a new client: a new connection to cut).
    async with (
        DroppingProxy(emu.port, cut_after=[600_000]) as proxy,
        make_client(emu, proxy.url) as through,
    ):
        part = await through.files.get_from_task(
            job, task, "wd/data", ocp_range="bytes=1000-2000999"
        ).read()
        assert part == data[1000:2_001_000]
        assert proxy.cuts == 1


async def test_download_gives_up_after_the_retry_budget(emu: Emulator, client: BatchClient) -> None:
    job, task, directory = await ran(emu, client)
    (directory / "wd" / "data").write_bytes(os.urandom(2 * 1024 * 1024))
    # After the first 100 kB, every connection breaks before its status line is complete.
    async with (
        DroppingProxy(emu.port, cut_after=[100_000] + [5] * 10) as proxy,
        make_client(emu, proxy.url) as through,
    ):
        with pytest.raises(DownloadError) as info:
            await through.files.get_from_task(job, task, "wd/data").read()
    assert info.value.expected == 2 * 1024 * 1024
    assert 0 < info.value.received < 2 * 1024 * 1024
    # The first connection, then max_attempts resumptions; aiohttp itself retries an idempotent
    # request once on a fresh disconnect, so each resumption may take up to two connections.
    assert 1 + FAST_RETRY.max_attempts <= proxy.connections <= 1 + 2 * FAST_RETRY.max_attempts


async def _cli(emu: Emulator, *args: str) -> tuple[int, bytes, bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_BATCH_")}
    env.update(
        AZURE_BATCH_ENDPOINT=emu.url,
        AZURE_BATCH_ACCOUNT=emu.account,
        AZURE_BATCH_ACCESS_KEY=emu.key,
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "batchtasks",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out, err


async def test_cli_task_files(emu: Emulator, client: BatchClient, tmp_path: Path) -> None:
    job, task, directory = await ran(emu, client)
    data = os.urandom(300_000)
    (directory / "wd" / "blob").write_bytes(data)
    ids = ("--job-id", job, "--task-id", task)
    code, out, err = await _cli(emu, "task", "files", "list", *ids, "--recursive", "-o", "json")
    assert code == 0, err
    assert b'"wd/blob"' in out
    # The table shows each file's size (the columns are the flattened property paths).
    code, out, err = await _cli(emu, "task", "files", "list", *ids, "--recursive", "--filter",
                                "startswith(name,'wd/')")  # fmt: skip
    assert code == 0, err
    assert b"300000" in out
    code, out, err = await _cli(emu, "task", "files", "get", *ids, "--file-path", "wd/blob")
    assert (code, out) == (0, data), err
    target = tmp_path / "copy"
    code, _, err = await _cli(
        emu, "task", "files", "get", *ids, "--file-path", "wd/blob", "--destination", str(target)
    )
    assert code == 0, err
    assert target.read_bytes() == data
    code, out, err = await _cli(
        emu, "task", "files", "show", *ids, "--file-path", "wd/blob", "-o", "json"
    )
    assert code == 0, err
    assert b'"contentLength": 300000' in out
    code, _, err = await _cli(emu, "task", "files", "delete", *ids, "--file-path", "wd/blob")
    assert code == 0, err
    assert not (directory / "wd" / "blob").exists()
    code, _, err = await _cli(emu, "task", "files", "get", *ids, "--file-path", "wd/blob")
    assert code == 1
    assert b"FileNotFound" in err


async def test_cancelling_or_leaving_a_download_releases_everything(
    emu: Emulator, client: BatchClient, tmp_path: Path
) -> None:
    job, task, directory = await ran(emu, client)
    (directory / "wd" / "big").write_bytes(os.urandom(32 * 1024 * 1024))

    # Leaving `async with` after one chunk drops the unread rest; the client goes on working.
    async with client.files.get_from_task(job, task, "wd/big") as download:
        async for _chunk in download:
            break
    assert download.received < download.size  # type: ignore[operator]

    # Cancelling to_file mid-way leaves no partial file and nothing running.
    started = asyncio.Event()
    target = tmp_path / "big"

    async def slow_file() -> int:
        download = client.files.get_from_task(job, task, "wd/big")
        await download
        started.set()
        return await download.to_file(target)

    running = asyncio.create_task(slow_file())
    await started.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert not target.exists()
    assert not (tmp_path / "big.partial").exists()
    # The connection pool is usable afterwards.
    assert (await client.files.get_properties_from_task(job, task, "wd/big")).content_length
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not [t for t in pending if "to_file" in repr(t) or "chunks" in repr(t)]
