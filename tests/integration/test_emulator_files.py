"""The emulator's task-file routes over loopback, with an independent signer (no client code).

Covers list (recursive, $filter, paging), content (ocp-range, conditions, streaming of a body
larger than one chunk), properties (HEAD), delete (recursive), the simulated stdout/stderr, the
error codes (missing job, task, file; a task that never ran; bad ranges) and path escapes.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import shutil
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
import pytest_asyncio

from batchtasks.emulator import Emulator
from batchtasks.emulator.pytest_plugin import EmulatorFactory

from ._signing_helper import RawClient


@pytest_asyncio.fixture
async def running(batch_emulator_factory: EmulatorFactory) -> Emulator:
    return await batch_emulator_factory(run_tasks=True)


@pytest_asyncio.fixture
async def rc(running: Emulator) -> AsyncIterator[RawClient]:
    async with aiohttp.ClientSession() as session:
        yield RawClient(session, running.url, running.account, running.key)


async def run_task(emu: Emulator, rc: RawClient, job: str, task: str, cmd: str) -> Path:
    """Add a task, run it to completion, and return its directory on the virtual node."""
    reply = await rc.add_task(job, {"id": task, "commandLine": cmd})
    assert reply.status == 201, reply.body
    for _ in range(10):
        await emu.advance(5)
        got = (await rc.get_task(job, task)).json()
        if got["state"] == "completed":
            node = got["nodeInfo"]["nodeId"]
            return emu.nodes.task_dir(node, job, task)
    raise AssertionError("task did not complete")


def files_path(job: str, task: str, name: str = "") -> str:
    base = f"/jobs/{job}/tasks/{task}/files"
    return f"{base}/{quote(name, safe='/')}" if name else base


async def test_simulated_task_leaves_stdout_and_stderr(running: Emulator, rc: RawClient) -> None:
    await rc.create_job("j")
    directory = await run_task(running, rc, "j", "ok", "echo hi && exit 0")
    await run_task(running, rc, "j", "bad", "exit 3")
    out = await rc.send("GET", files_path("j", "ok", "stdout.txt"))
    assert out.status == 200
    text = out.body.decode()
    assert "task ok" in text
    assert "echo hi && exit 0" in text
    assert "exit code: 0" in text
    assert (await rc.send("GET", files_path("j", "ok", "stderr.txt"))).body == b""
    err = await rc.send("GET", files_path("j", "bad", "stderr.txt"))
    assert err.body == b"simulated failure: exit code 3\n"
    assert (directory / "wd").is_dir()


async def test_list_recursive_filter_and_paging(running: Emulator, rc: RawClient) -> None:
    await rc.create_job("j")
    directory = await run_task(running, rc, "j", "t", "exit 0")
    (directory / "wd" / "sub").mkdir()
    (directory / "wd" / "a.txt").write_bytes(b"a" * 10)
    (directory / "wd" / "sub" / "b.txt").write_bytes(b"b")
    top = await rc.send("GET", files_path("j", "t"))
    assert top.status == 200
    names = [f["name"] for f in top.json()["value"]]
    assert names == ["stderr.txt", "stdout.txt", "wd"]
    wd = next(f for f in top.json()["value"] if f["name"] == "wd")
    assert wd["isDirectory"] is True
    assert wd["url"].endswith("/jobs/j/tasks/t/files/wd")
    deep = await rc.send("GET", files_path("j", "t"), query={"recursive": "true"})
    entries = {f["name"]: f for f in deep.json()["value"]}
    assert set(entries) == {
        "stderr.txt",
        "stdout.txt",
        "wd",
        "wd/a.txt",
        "wd/sub",
        "wd/sub/b.txt",
    }
    props = entries["wd/a.txt"]["properties"]
    assert props["contentLength"] == 10
    assert props["contentType"] == "application/octet-stream"
    assert props["fileMode"].startswith("0o100")
    assert entries["wd/a.txt"]["isDirectory"] is False
    filtered = await rc.send(
        "GET",
        files_path("j", "t"),
        query={"recursive": "true", "$filter": "startswith(name,'wd/s')"},
    )
    assert [f["name"] for f in filtered.json()["value"]] == ["wd/sub", "wd/sub/b.txt"]
    # Paging carries `recursive` and the filter into the next link.
    seen: list[str] = []
    page = await rc.send(
        "GET", files_path("j", "t"), query={"recursive": "true", "maxresults": "2"}
    )
    while True:
        assert page.status == 200, page.body
        seen += [f["name"] for f in page.json()["value"]]
        link = page.json().get("odata.nextLink")
        if not link:
            break
        page = await rc.send("GET", link)
    assert seen == sorted(entries)


async def test_list_rejects_unknown_filters_and_bad_recursive(
    running: Emulator, rc: RawClient
) -> None:
    await rc.create_job("j")
    await run_task(running, rc, "j", "t", "exit 0")
    bad = await rc.send("GET", files_path("j", "t"), query={"$filter": "name eq 'x'"})
    assert (bad.status, bad.code) == (400, "InvalidQueryParameterValue")
    bad = await rc.send("GET", files_path("j", "t"), query={"recursive": "yes"})
    assert (bad.status, bad.code) == (400, "InvalidQueryParameterValue")


async def test_get_range_and_properties(running: Emulator, rc: RawClient) -> None:
    await rc.create_job("j")
    directory = await run_task(running, rc, "j", "t", "exit 0")
    data = os.urandom(700_000)  # more than two 256 KiB chunks
    (directory / "wd" / "data.bin").write_bytes(data)
    name = "wd/data.bin"
    whole = await rc.send("GET", files_path("j", "t", name))
    assert whole.status == 200
    assert whole.body == data
    assert whole.headers["Content-Length"] == str(len(data))
    assert whole.headers["Content-Type"] == "application/octet-stream"
    assert whole.headers["ocp-batch-file-isdirectory"] == "false"
    assert whole.headers["ocp-batch-file-url"].endswith("/jobs/j/tasks/t/files/wd/data.bin")
    assert "request-id" in whole.headers
    assert "ocp-creation-time" in whole.headers
    part = await rc.send("GET", files_path("j", "t", name), headers={"ocp-range": "bytes=10-19"})
    assert (part.status, part.body) == (200, data[10:20])
    assert part.headers["Content-Length"] == "10"
    tail = await rc.send("GET", files_path("j", "t", name), headers={"ocp-range": "bytes=699990-"})
    assert tail.body == data[699_990:]
    past = await rc.send(
        "GET", files_path("j", "t", name), headers={"ocp-range": "bytes=10-99999999"}
    )
    assert past.body == data[10:]
    head = await rc.send("HEAD", files_path("j", "t", name))
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Length"] == str(len(data))
    assert head.headers["ocp-batch-file-mode"].startswith("0o100")
    modified = email.utils.parsedate_to_datetime(head.headers["Last-Modified"])
    on_disk = (directory / "wd/data.bin").stat().st_mtime
    assert abs(modified - datetime.fromtimestamp(on_disk, timezone.utc)) < timedelta(seconds=1)
    folder = await rc.send("HEAD", files_path("j", "t", "wd"))
    assert folder.headers["ocp-batch-file-isdirectory"] == "true"


@pytest.mark.parametrize(
    ("value", "status", "code"),
    [
        ("bytes=700000-700001", 416, "InvalidRange"),
        ("bytes=20-10", 416, "InvalidRange"),
        ("bytes=abc", 400, "InvalidHeaderValue"),
        ("items=0-1", 400, "InvalidHeaderValue"),
    ],
)
async def test_bad_ranges(
    running: Emulator, rc: RawClient, value: str, status: int, code: str
) -> None:
    await rc.create_job("j")
    directory = await run_task(running, rc, "j", "t", "exit 0")
    (directory / "wd" / "f").write_bytes(b"x" * 700_000)
    reply = await rc.send("GET", files_path("j", "t", "wd/f"), headers={"ocp-range": value})
    assert (reply.status, reply.code) == (status, code)


async def test_conditions(running: Emulator, rc: RawClient) -> None:
    await rc.create_job("j")
    await run_task(running, rc, "j", "t", "exit 0")
    later = email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(hours=1), True)
    earlier = email.utils.format_datetime(datetime.now(timezone.utc) - timedelta(hours=1), True)
    path = files_path("j", "t", "stdout.txt")
    not_modified = await rc.send("GET", path, headers={"If-Modified-Since": later})
    assert (not_modified.status, not_modified.body) == (304, b"")
    assert (await rc.send("HEAD", path, headers={"If-Modified-Since": later})).status == 304
    assert (await rc.send("GET", path, headers={"If-Modified-Since": earlier})).status == 200
    changed = await rc.send("GET", path, headers={"If-Unmodified-Since": earlier})
    assert (changed.status, changed.code) == (412, "ConditionNotMet")
    assert (await rc.send("GET", path, headers={"If-Unmodified-Since": later})).status == 200
    both = await rc.send(
        "GET", path, headers={"If-Unmodified-Since": later, "If-Modified-Since": earlier}
    )
    assert both.code == "MultipleConditionHeadersNotSupported"
    bad = await rc.send("GET", path, headers={"If-Modified-Since": "yesterday"})
    assert bad.code == "InvalidHeaderValue"


async def test_errors_missing_job_task_file_and_not_run(running: Emulator, rc: RawClient) -> None:
    await rc.create_job("j", usesTaskDependencies=True)
    await run_task(running, rc, "j", "t", "exit 0")
    # A task that never runs: it depends on a task that does not exist.
    waiting = {"id": "waiting", "commandLine": "exit 0", "dependsOn": {"taskIds": ["never"]}}
    assert (await rc.add_task("j", waiting)).status == 201
    cases = [
        ("GET", files_path("nojob", "t"), 404, "JobNotFound"),
        ("GET", files_path("j", "notask"), 404, "TaskNotFound"),
        ("GET", files_path("j", "notask", "stdout.txt"), 404, "TaskNotFound"),
        ("GET", files_path("j", "t", "wd/none.txt"), 404, "FileNotFound"),
        ("HEAD", files_path("j", "t", "none.txt"), 404, None),
        ("DELETE", files_path("j", "t", "none.txt"), 404, "FileNotFound"),
        ("GET", files_path("j", "waiting"), 409, "OperationInvalidForCurrentState"),
        ("GET", files_path("j", "waiting", "stdout.txt"), 409, "OperationInvalidForCurrentState"),
        ("GET", files_path("j", "t", "wd"), 404, "FileNotFound"),
    ]
    for method, path, status, code in cases:
        reply = await rc.send(method, path)
        assert (reply.status, reply.code) == (status, code), (method, path, reply.body)


async def test_delete_file_and_directories(running: Emulator, rc: RawClient) -> None:
    await rc.create_job("j")
    directory = await run_task(running, rc, "j", "t", "exit 0")
    (directory / "wd" / "sub").mkdir()
    (directory / "wd" / "sub" / "x").write_bytes(b"x")
    (directory / "wd" / "empty").mkdir()
    assert (await rc.send("DELETE", files_path("j", "t", "stdout.txt"))).status == 200
    assert not (directory / "stdout.txt").exists()
    refused = await rc.send("DELETE", files_path("j", "t", "wd/sub"))
    assert (refused.status, refused.code) == (409, "OperationInvalidForCurrentState")
    assert (directory / "wd" / "sub" / "x").exists()
    assert (await rc.send("DELETE", files_path("j", "t", "wd/empty"))).status == 200
    gone = await rc.send("DELETE", files_path("j", "t", "wd/sub"), query={"recursive": "true"})
    assert gone.status == 200
    assert not (directory / "wd" / "sub").exists()


async def test_task_and_job_delete_remove_files(running: Emulator, rc: RawClient) -> None:
    await rc.create_job("j")
    first = await run_task(running, rc, "j", "a", "exit 0")
    second = await run_task(running, rc, "j", "b", "exit 0")
    assert (await rc.send("DELETE", "/jobs/j/tasks/a")).status == 200
    assert not first.exists()
    assert second.exists()
    assert (await rc.send("DELETE", "/jobs/j")).status == 202
    for _ in range(100):  # the job is purged in the background
        if not second.exists():
            break
        await asyncio.sleep(0.02)
    assert not second.exists()


async def test_missing_task_directory_is_unavailable(running: Emulator, rc: RawClient) -> None:
    await rc.create_job("j")
    directory = await run_task(running, rc, "j", "t", "exit 0")
    shutil.rmtree(directory)
    reply = await rc.send("GET", files_path("j", "t"))
    assert (reply.status, reply.code) == (409, "TaskFilesUnavailable")


async def test_paths_cannot_leave_the_task_directory(
    running: Emulator, rc: RawClient, tmp_path: Path
) -> None:
    await rc.create_job("j")
    directory = await run_task(running, rc, "j", "t", "exit 0")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (directory / "wd" / "link").symlink_to(secret)
    (directory / "wd" / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    # Encoded so that no URL normalisation removes the dots before the emulator sees them.
    for raw in ("..%2F..%2Fsecret.txt", "wd%2F..%2F..%2Fx", "%2Fetc%2Fpasswd", "wd%5C..%5Cx"):
        url = f"{rc.base}/jobs/j/tasks/t/files/{raw}?api-version=2024-02-01.19.0"
        reply = await rc.send("GET", url)
        assert (reply.status, reply.code) == (400, "InvalidUri"), raw
    for name in ("wd/link", "wd/dirlink/secret.txt"):
        reply = await rc.send("GET", files_path("j", "t", name))
        assert (reply.status, reply.code) == (400, "InvalidUri"), name
        assert b"outside" not in reply.body
    listed = await rc.send("GET", files_path("j", "t"), query={"recursive": "true"})
    names = [f["name"] for f in listed.json()["value"]]
    assert "wd/link" not in names
    assert not any("secret" in n for n in names)
    refused = await rc.send("DELETE", files_path("j", "t", "wd/link"))
    assert refused.status == 400
    assert secret.exists()
