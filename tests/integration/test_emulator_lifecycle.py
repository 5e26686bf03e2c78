"""Task lifecycle on the simulated clock: running, exit codes, retries, dependencies, subtasks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest_asyncio

from batchtasks.emulator import Emulator

from ._signing_helper import RawClient


@pytest_asyncio.fixture
async def running() -> AsyncIterator[tuple[Emulator, RawClient]]:
    async with (
        Emulator(in_memory=True, run_tasks=True, task_seconds=10) as emu,
        aiohttp.ClientSession() as s,
    ):
        yield emu, RawClient(s, emu.url, emu.account, emu.key)


async def _run_until_settled(emu: Emulator, raw: RawClient, job: str, task: str) -> dict[str, Any]:
    for _ in range(50):
        await emu.advance(5)
        body = (await raw.get_task(job, task)).json()
        if body["state"] == "completed":
            return dict(body)
    raise AssertionError(f"{task} did not complete: {body}")


async def test_success_runs_to_completion(running: tuple[Emulator, RawClient]) -> None:
    emu, raw = running
    await raw.create_job("j", poolInfo={"poolId": "pool-a"})
    await raw.add_task("j", {"id": "ok", "commandLine": "/bin/sh -c 'echo hi'"})
    await emu.advance(0)
    mid = (await raw.get_task("j", "ok")).json()
    assert mid["state"] == "running"
    assert mid["previousState"] == "active"
    assert mid["nodeInfo"]["poolId"] == "pool-a"
    assert "startTime" in mid["executionInfo"]
    done = await _run_until_settled(emu, raw, "j", "ok")
    info = done["executionInfo"]
    assert (info["exitCode"], info["result"]) == (0, "success")
    assert info["endTime"] >= info["startTime"]
    assert "failureInfo" not in info
    assert done["previousState"] == "running"
    react = await raw.send("POST", "/jobs/j/tasks/ok/reactivate")
    assert (react.status, react.code) == (409, "TaskSucceeded")


async def test_failure_is_retried_then_reactivated(running: tuple[Emulator, RawClient]) -> None:
    emu, raw = running
    await raw.create_job("j")
    await raw.add_task(
        "j", {"id": "bad", "commandLine": "sh -c 'exit 3'", "constraints": {"maxTaskRetryCount": 2}}
    )
    done = await _run_until_settled(emu, raw, "j", "bad")
    info = done["executionInfo"]
    assert (info["exitCode"], info["result"], info["retryCount"]) == (3, "failure", 2)
    assert info["failureInfo"]["category"] == "usererror"
    assert "lastRetryTime" in info
    failed = (
        await raw.send("GET", "/jobs/j/tasks", query={"$filter": "executionInfo/exitCode ne 0"})
    ).json()
    assert [t["id"] for t in failed["value"]] == ["bad"]
    assert (await raw.send("POST", "/jobs/j/tasks/bad/reactivate")).status == 204
    again = (await raw.get_task("j", "bad")).json()
    assert again["state"] == "active"
    assert again["executionInfo"] == {"retryCount": 0, "requeueCount": 0}


async def test_dependencies_are_honoured(running: tuple[Emulator, RawClient]) -> None:
    emu, raw = running
    await raw.create_job("deps", usesTaskDependencies=True)
    await raw.add_task("deps", {"id": "1", "commandLine": "exit 0"})
    await raw.add_task("deps", {"id": "2", "commandLine": "exit 1"})
    await raw.add_task(
        "deps", {"id": "after1", "commandLine": "x", "dependsOn": {"taskIds": ["1"]}}
    )
    await raw.add_task(
        "deps",
        {
            "id": "afterRange",
            "commandLine": "x",
            "dependsOn": {"taskIdRanges": [{"start": 1, "end": 2}]},
        },
    )
    await raw.add_task(
        "deps", {"id": "afterMissing", "commandLine": "x", "dependsOn": {"taskIds": ["nope"]}}
    )
    await emu.advance(0)
    assert (await raw.get_task("deps", "after1")).json()["state"] == "active"
    assert (await _run_until_settled(emu, raw, "deps", "after1"))["executionInfo"]["exitCode"] == 0
    await _run_until_settled(emu, raw, "deps", "2")
    for _ in range(5):
        await emu.advance(5)
    assert (await raw.get_task("deps", "afterRange")).json()["state"] == "active"
    assert (await raw.get_task("deps", "afterMissing")).json()["state"] == "active"


async def test_sleep_sets_run_time_and_admin_advance(running: tuple[Emulator, RawClient]) -> None:
    emu, raw = running
    await raw.create_job("j")
    await raw.add_task("j", {"id": "long", "commandLine": "sleep 3600"})
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{emu.url}/_emulator/advance", json={"seconds": 0}) as r:
            assert r.status == 200
        assert (await raw.get_task("j", "long")).json()["state"] == "running"
        async with s.post(f"{emu.url}/_emulator/advance", json={"seconds": 60}) as r:
            assert r.status == 200
        assert (await raw.get_task("j", "long")).json()["state"] == "running"
        async with s.post(f"{emu.url}/_emulator/advance", json={"seconds": 3600}) as r:
            assert (await r.json())["changed"] >= 1
        assert (await raw.get_task("j", "long")).json()["state"] == "completed"
        async with s.post(f"{emu.url}/_emulator/advance", json={"seconds": -1}) as r:
            assert r.status == 400


async def test_terminate_running_task(running: tuple[Emulator, RawClient]) -> None:
    emu, raw = running
    await raw.create_job("j")
    await raw.add_task("j", {"id": "t", "commandLine": "sleep 100"})
    await emu.advance(0)
    assert (await raw.send("POST", "/jobs/j/tasks/t/terminate")).status == 204
    task = (await raw.get_task("j", "t")).json()
    assert task["state"] == "completed"
    assert task["previousState"] == "running"
    assert task["executionInfo"]["result"] == "failure"


async def test_multi_instance_subtasks_follow_primary(running: tuple[Emulator, RawClient]) -> None:
    emu, raw = running
    await raw.create_job("j")
    await raw.add_task(
        "j",
        {
            "id": "mpi",
            "commandLine": "exit 0",
            "multiInstanceSettings": {"numberOfInstances": 3, "coordinationCommandLine": "c"},
        },
    )
    await emu.advance(0)
    subs = (await raw.send("GET", "/jobs/j/tasks/mpi/subtasksinfo")).json()["value"]
    assert [(s["id"], s["state"]) for s in subs] == [(1, "running"), (2, "running")]
    assert all("nodeInfo" in s and "startTime" in s for s in subs)
    await _run_until_settled(emu, raw, "j", "mpi")
    subs = (
        await raw.send(
            "GET", "/jobs/j/tasks/mpi/subtasksinfo", query={"$select": "id,state,exitCode"}
        )
    ).json()["value"]
    assert subs == [
        {"id": 1, "state": "completed", "exitCode": 0},
        {"id": 2, "state": "completed", "exitCode": 0},
    ]


async def test_lifecycle_off_keeps_tasks_active(raw: RawClient, batch_emulator: Emulator) -> None:
    await raw.create_job("j")
    await raw.add_task("j", {"id": "t", "commandLine": "exit 0"})
    assert await batch_emulator.advance(3600) == 0
    assert (await raw.get_task("j", "t")).json()["state"] == "active"


async def test_max_wall_clock_time_ends_the_task(running: tuple[Emulator, RawClient]) -> None:
    emu, raw = running
    await raw.create_job("j")
    body = {"id": "slow", "commandLine": "sleep 3600", "constraints": {"maxWallClockTime": "PT1M"}}
    await raw.add_task("j", body)
    await emu.advance(0)
    await emu.advance(30)
    assert (await raw.get_task("j", "slow")).json()["state"] == "running"
    await emu.advance(31)
    task = (await raw.get_task("j", "slow")).json()
    assert task["state"] == "completed"
    assert task["executionInfo"]["result"] == "failure"
    assert task["executionInfo"]["failureInfo"]["code"] == "MaxWallClockTimeExceeded"
    assert "exitCode" not in task["executionInfo"]


async def test_many_blocked_tasks_do_not_starve_others() -> None:
    async with (
        Emulator(in_memory=True, run_tasks=True, task_seconds=10) as emu,
        aiohttp.ClientSession() as s,
    ):
        raw = RawClient(s, emu.url, emu.account, emu.key)
        await raw.create_job("j", usesTaskDependencies=True)
        blocked = [
            {"id": f"b{i:04d}", "commandLine": "x", "dependsOn": {"taskIds": ["never"]}}
            for i in range(600)
        ]
        for start in range(0, 600, 100):
            chunk = {"value": blocked[start : start + 100]}
            assert (await raw.send("POST", "/jobs/j/addtaskcollection", body=chunk)).status == 200
        await raw.add_task("j", {"id": "zz-free", "commandLine": "x"})
        for _ in range(3):
            await emu.advance(0)
        assert (await raw.get_task("j", "zz-free")).json()["state"] == "running"


async def test_dependency_ranges(running: tuple[Emulator, RawClient]) -> None:
    emu, raw = running
    await raw.create_job("r", usesTaskDependencies=True)
    for task_id in ("7", "8", "09"):
        await raw.add_task("r", {"id": task_id, "commandLine": "exit 0"})
    await raw.add_task(
        "r",
        {"id": "ok", "commandLine": "x", "dependsOn": {"taskIdRanges": [{"start": 7, "end": 8}]}},
    )
    await raw.add_task(
        "r",
        {
            "id": "needs9",
            "commandLine": "x",
            "dependsOn": {"taskIdRanges": [{"start": 8, "end": 9}]},
        },
    )
    huge = {"taskIdRanges": [{"start": 0, "end": 2**31 - 1}]}
    await raw.add_task("r", {"id": "huge", "commandLine": "x", "dependsOn": huge})
    await _run_until_settled(emu, raw, "r", "8")
    assert (await _run_until_settled(emu, raw, "r", "ok"))["executionInfo"]["result"] == "success"
    # "09" is not the canonical form of 9, so the 8..9 range is not satisfied.
    assert (await raw.get_task("r", "needs9")).json()["state"] == "active"
    assert (await raw.get_task("r", "huge")).json()["state"] == "active"


async def test_job_stats_count_outcomes(running: tuple[Emulator, RawClient]) -> None:
    emu, raw = running
    await raw.create_job("s")
    await raw.add_task("s", {"id": "good", "commandLine": "exit 0"})
    await raw.add_task(
        "s", {"id": "bad", "commandLine": "exit 1", "constraints": {"maxTaskRetryCount": 1}}
    )
    await _run_until_settled(emu, raw, "s", "good")
    await _run_until_settled(emu, raw, "s", "bad")
    stats = (await raw.send("GET", "/jobs/s", query={"$expand": "stats"})).json()["stats"]
    assert (stats["numSucceededTasks"], stats["numFailedTasks"], stats["numTaskRetries"]) == (
        "1",
        "1",
        "1",
    )
    assert "stats" not in (await raw.send("GET", "/jobs/s")).json()
