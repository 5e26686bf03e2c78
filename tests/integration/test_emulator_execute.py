"""The executing emulator (``execute=True``): real processes, real exit codes and files.

Every test checks with psutil that no process it started is left running.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from batchtasks.emulator import Emulator

from ._execute_helper import (
    executing,
    nodes_root,
    run_one,
    survivors,
    task_dir,
    wait_no_survivors,
    wait_state,
)
from ._signing_helper import RawClient


async def test_output_environment_and_success() -> None:
    async with executing() as (emu, raw):
        await raw.create_job("j", poolInfo={"poolId": "pool-x"})
        reply = await raw.add_task(
            "j",
            {
                "id": "t1",
                "commandLine": "/bin/sh -c 'echo to-out; echo to-err >&2; env | sort'",
                "environmentSettings": [{"name": "GREETING", "value": "hello world"}],
            },
        )
        assert reply.status == 201
        body = await wait_state(raw, "j", "t1")
        info = body["executionInfo"]
        assert (info["exitCode"], info["result"]) == (0, "success")
        assert info["endTime"] >= info["startTime"]
        folder = task_dir(emu, body, "j")
        out = (folder / "stdout.txt").read_text()
        assert (folder / "stderr.txt").read_text() == "to-err\n"
        env = dict(line.split("=", 1) for line in out.splitlines()[1:])
        assert out.startswith("to-out\n")
        assert env["GREETING"] == "hello world"
        assert env["AZ_BATCH_JOB_ID"] == "j"
        assert env["AZ_BATCH_TASK_ID"] == "t1"
        assert env["AZ_BATCH_POOL_ID"] == "pool-x"
        assert env["AZ_BATCH_NODE_ID"] == body["nodeInfo"]["nodeId"]
        assert env["AZ_BATCH_ACCOUNT_NAME"] == emu.account
        assert env["AZ_BATCH_ACCOUNT_URL"] == emu.url
        assert env["AZ_BATCH_TASK_DIR"] == str(folder)
        assert env["AZ_BATCH_TASK_WORKING_DIR"] == str(folder / "wd")
        node_root = Path(env["AZ_BATCH_NODE_ROOT_DIR"])
        assert env["AZ_BATCH_NODE_SHARED_DIR"] == str(node_root / "shared")
        assert str(folder).startswith(env["AZ_BATCH_NODE_ROOT_DIR"])
        assert str(folder).endswith("/workitems/j/job-1/t1")
        assert "AZ_BATCH_HOST_LIST" not in env
        root = nodes_root(emu)
    assert survivors(root) == []


async def test_command_line_is_not_run_by_a_shell() -> None:
    async with executing() as (emu, raw):
        await raw.create_job("j")
        await raw.add_task("j", {"id": "t", "commandLine": "/bin/echo $HOME 'a  b' > x"})
        body = await wait_state(raw, "j", "t")
        assert body["executionInfo"]["exitCode"] == 0
        folder = task_dir(emu, body, "j")
        assert (folder / "stdout.txt").read_text() == "$HOME a  b > x\n"
        assert not (folder / "wd" / "x").exists()


async def test_exit_code_3_fails_with_failure_info() -> None:
    async with executing() as (_emu, raw):
        info = (await run_one(raw, {"id": "t", "commandLine": '/bin/sh -c "exit 3"'}))[
            "executionInfo"
        ]
        assert (info["exitCode"], info["result"]) == (3, "failure")
        assert info["failureInfo"]["category"] == "usererror"
        assert info["failureInfo"]["code"] == "FailureExitCode"
        assert info["retryCount"] == 0


async def test_retries_run_the_command_max_retry_count_plus_one_times(tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    command = f"/bin/sh -c 'echo $AZ_BATCH_TASK_DIR >> {log}; exit 1'"
    async with executing() as (_emu, raw):
        task = {"id": "t", "commandLine": command, "constraints": {"maxTaskRetryCount": 2}}
        info = (await run_one(raw, task))["executionInfo"]
    runs = log.read_text().splitlines()
    assert len(runs) == 3
    assert len(set(runs)) == 1  # a new process each time, in the same task directory
    assert (info["retryCount"], info["exitCode"], info["result"]) == (2, 1, "failure")
    assert info["lastRetryTime"] <= info["startTime"]


async def test_max_wall_clock_time_kills_the_process_group() -> None:
    async with executing() as (emu, raw):
        root = nodes_root(emu)
        command = "/bin/sh -c 'sleep 60 & sleep 60'"
        task = {"id": "t", "commandLine": command, "constraints": {"maxWallClockTime": "PT0.5S"}}
        info = (await run_one(raw, task))["executionInfo"]
        assert info["result"] == "failure"
        assert info["failureInfo"]["code"] == "MaxWallClockTimeExceeded"
        await wait_no_survivors(root)


async def test_terminate_and_delete_kill_the_process() -> None:
    async with executing() as (emu, raw):
        root = nodes_root(emu)
        await raw.create_job("j")
        for name in ("a", "b"):
            await raw.add_task("j", {"id": name, "commandLine": "/bin/sleep 60"})
        await wait_state(raw, "j", "a", ("running",))
        await wait_state(raw, "j", "b", ("running",))
        assert len(survivors(root)) == 2
        reply = await raw.send("POST", "/jobs/j/tasks/a/terminate")
        assert reply.status == 204
        reply = await raw.send("DELETE", "/jobs/j/tasks/b")
        assert reply.status == 200
        await wait_no_survivors(root)
        info = (await raw.get_task("j", "a")).json()["executionInfo"]
        assert info["failureInfo"]["code"] == "TaskEnded"


async def test_job_delete_kills_its_processes() -> None:
    async with executing() as (emu, raw):
        root = nodes_root(emu)
        await raw.create_job("j")
        await raw.add_task("j", {"id": "a", "commandLine": "/bin/sleep 60"})
        await wait_state(raw, "j", "a", ("running",))
        assert (await raw.send("DELETE", "/jobs/j")).status == 202
        await wait_no_survivors(root)


async def test_no_process_survives_the_emulator() -> None:
    async with executing(nodes=1, task_slots_per_node=3) as (emu, raw):
        root = nodes_root(emu)
        await raw.create_job("j")
        for n in range(3):
            await raw.add_task(
                "j", {"id": f"t{n}", "commandLine": "/bin/sh -c 'trap \"\" TERM; sleep 60'"}
            )
        for n in range(3):
            await wait_state(raw, "j", f"t{n}", ("running",))
        assert len(survivors(root)) >= 3
    assert survivors(root) == []  # stop() waited for every kill


async def test_dependent_task_starts_only_after_its_dependencies_succeeded() -> None:
    async with executing() as (emu, raw):
        await raw.create_job("j", usesTaskDependencies=True)
        shared = "$AZ_BATCH_NODE_ROOT_DIR/../marker"
        await raw.add_task(
            "j", {"id": "1", "commandLine": f"/bin/sh -c 'sleep 0.3; touch {shared}-1'"}
        )
        await raw.add_task("j", {"id": "2", "commandLine": f"/bin/sh -c 'touch {shared}-2'"})
        await raw.add_task(
            "j",
            {
                "id": "after",
                "commandLine": f"/bin/sh -c 'test -f {shared}-1 && test -f {shared}-2'",
                "dependsOn": {"taskIds": ["2"], "taskIdRanges": [{"start": 1, "end": 1}]},
            },
        )
        await raw.add_task("j", {"id": "bad", "commandLine": "/bin/sh -c 'exit 4'"})
        await raw.add_task(
            "j", {"id": "blocked", "commandLine": "/bin/true", "dependsOn": {"taskIds": ["bad"]}}
        )
        after = await wait_state(raw, "j", "after")
        first = (await raw.get_task("j", "1")).json()
        assert after["executionInfo"]["exitCode"] == 0
        assert after["executionInfo"]["startTime"] >= first["executionInfo"]["endTime"]
        await wait_state(raw, "j", "bad")
        await emu.advance(0)
        await emu.advance(0)
        assert (await raw.get_task("j", "blocked")).json()["state"] == "active"


async def test_exit_conditions_satisfy_dependents_and_terminate_the_job() -> None:
    async with executing() as (_emu, raw):
        await raw.create_job(
            "j", usesTaskDependencies=True, onTaskFailure="performexitoptionsjobaction"
        )
        await raw.add_task(
            "j",
            {
                "id": "soft",
                "commandLine": "/bin/sh -c 'exit 3'",
                "exitConditions": {
                    "exitCodes": [
                        {
                            "code": 3,
                            "exitOptions": {"jobAction": "none", "dependencyAction": "satisfy"},
                        }
                    ]
                },
            },
        )
        await raw.add_task(
            "j", {"id": "next", "commandLine": "/bin/true", "dependsOn": {"taskIds": ["soft"]}}
        )
        assert (await wait_state(raw, "j", "next"))["executionInfo"]["result"] == "success"
        await raw.add_task(
            "j",
            {
                "id": "fatal",
                "commandLine": "/bin/sh -c 'exit 9'",
                "exitConditions": {"default": {"jobAction": "terminate"}},
            },
        )
        await wait_state(raw, "j", "fatal")
        for _ in range(100):
            job = (await raw.send("GET", "/jobs/j")).json()
            if job["state"] == "completed":
                break
            await asyncio.sleep(0.05)
        assert job["state"] == "completed"
        assert job["executionInfo"]["terminateReason"] == "TaskFailed"


async def test_slots_are_never_exceeded(tmp_path: Path) -> None:
    # Each process marks itself running with a file, counts the marks, records the count and
    # removes its mark before exiting: a count can never exceed the processes really alive.
    marks, counts = tmp_path / "running", tmp_path / "counts"
    marks.mkdir()
    counts.mkdir()
    script = (
        f"touch {marks}/$AZ_BATCH_TASK_ID; ls {marks} | wc -l > {counts}/$AZ_BATCH_TASK_ID; "
        f"sleep 0.2; rm {marks}/$AZ_BATCH_TASK_ID"
    )
    async with executing(nodes=2, task_slots_per_node=2) as (emu, raw):
        await raw.create_job("j")
        tasks: list[dict[str, object]] = [
            {"id": f"t{n}", "commandLine": f"/bin/sh -c '{script}'"} for n in range(10)
        ]
        for task in tasks[::3]:
            task["requiredSlots"] = 2
        tasks.append({"id": "huge", "commandLine": "/bin/true", "requiredSlots": 3})
        reply = await raw.send("POST", "/jobs/j/addtaskcollection", body={"value": tasks})
        assert reply.status == 200
        # Steps asked for at the same time (admin advance) must not hand out the same slots twice.
        await asyncio.gather(*(emu.advance(0) for _ in range(5)))
        for n in range(10):
            assert (await wait_state(raw, "j", f"t{n}"))["executionInfo"]["exitCode"] == 0
        assert (await raw.get_task("j", "huge")).json()["state"] == "active"  # never fits
    seen = [int(f.read_text()) for f in counts.iterdir()]
    assert len(seen) == 10
    assert max(seen) <= 4


async def test_multi_instance_runs_coordination_everywhere_application_on_primary() -> None:
    async with executing(nodes=3, task_slots_per_node=1) as (emu, raw):
        await raw.create_job("j")
        coordination = (
            "/bin/sh -c 'echo $AZ_BATCH_IS_CURRENT_NODE_MASTER > "
            "$AZ_BATCH_TASK_SHARED_DIR/coord-$AZ_BATCH_NODE_ID'"
        )
        await raw.add_task(
            "j",
            {
                "id": "mpi",
                "commandLine": "/bin/sh -c 'ls $AZ_BATCH_TASK_SHARED_DIR; "
                "echo $AZ_BATCH_HOST_LIST'",
                "multiInstanceSettings": {
                    "numberOfInstances": 3,
                    "coordinationCommandLine": coordination,
                },
            },
        )
        body = await wait_state(raw, "j", "mpi")
        assert body["executionInfo"]["exitCode"] == 0
        out = (task_dir(emu, body, "j") / "stdout.txt").read_text().split()
        assert sorted(out[:3]) == [f"coord-tvmps_emulator_00000000{n}" for n in range(3)]
        assert out[-1] == "127.0.0.1,127.0.0.1,127.0.0.1"
        masters = sorted((task_dir(emu, body, "j") / name).read_text().strip() for name in out[:3])
        assert masters == ["false", "false", "true"]


async def test_resource_and_output_files(tmp_path: Path) -> None:
    source = tmp_path / "input.txt"
    source.write_text("one two three\n")
    results = tmp_path / "results"
    async with executing() as (emu, raw):
        await raw.create_job("j")
        await raw.add_task(
            "j",
            {
                "id": "t",
                "commandLine": "/bin/sh -c 'wc -w < data/input.txt > count.txt; "
                "test -s openapi.json'",
                "resourceFiles": [
                    {"httpUrl": source.as_uri(), "filePath": "data/input.txt"},
                    {"httpUrl": f"{emu.url}/_emulator/openapi.json", "filePath": "openapi.json"},
                ],
                "outputFiles": [
                    {
                        "filePattern": "count.txt",
                        "destination": {"container": {"containerUrl": results.as_uri()}},
                        "uploadOptions": {"uploadCondition": "taskSuccess"},
                    },
                    {
                        "filePattern": "../std*.txt",
                        "destination": {
                            "container": {"containerUrl": f"{emu.url}/logs", "path": "t"}
                        },
                        "uploadOptions": {"uploadCondition": "taskCompletion"},
                    },
                    {
                        "filePattern": "count.txt",
                        "destination": {
                            "container": {"containerUrl": results.as_uri(), "path": "no"}
                        },
                        "uploadOptions": {"uploadCondition": "taskFailure"},
                    },
                ],
            },
        )
        body = await wait_state(raw, "j", "t")
        assert body["executionInfo"]["result"] == "success", body
        assert (results / "count.txt").read_text().strip() == "3"
        assert not (results / "no").exists()
        logs = nodes_root(emu).parent / "containers" / "logs" / "t"
        assert sorted(p.name for p in logs.iterdir()) == ["stderr.txt", "stdout.txt"]


async def test_unreachable_resource_file_is_a_pre_processing_error() -> None:
    async with executing() as (_emu, raw):
        await raw.create_job("j")
        await raw.add_task(
            "j",
            {
                "id": "t",
                "commandLine": "/bin/true",
                "resourceFiles": [{"httpUrl": "https://example.com/x.txt", "filePath": "x.txt"}],
                "constraints": {"maxTaskRetryCount": 3},
            },
        )
        info = (await wait_state(raw, "j", "t"))["executionInfo"]
        assert info["result"] == "failure"
        assert "exitCode" not in info
        assert info["retryCount"] == 0  # pre-processing errors are not retried
        failure = info["failureInfo"]
        assert (failure["category"], failure["code"]) == ("servererror", "BlobDownloadMiscError")
        assert "example.com" in str(failure["details"])


async def test_retention_time_removes_the_task_directory() -> None:
    async with executing() as (emu, raw):
        await raw.create_job("j")
        await raw.add_task(
            "j", {"id": "t", "commandLine": "/bin/true", "constraints": {"retentionTime": "PT0.2S"}}
        )
        body = await wait_state(raw, "j", "t")
        folder = task_dir(emu, body, "j")
        for _ in range(100):
            if not folder.exists():
                break
            await asyncio.sleep(0.05)
        assert not folder.exists()


async def test_running_tasks_are_requeued_after_a_restart(tmp_path: Path) -> None:
    async with executing(location=tmp_path) as (emu, raw):
        root = nodes_root(emu)
        await raw.create_job("j")
        await raw.add_task("j", {"id": "t", "commandLine": "/bin/sh -c 'sleep 60'"})
        await wait_state(raw, "j", "t", ("running",))
        await emu.stop()
        assert survivors(root) == []
        await emu.start()
        raw.base = emu.url
        body = (await raw.get_task("j", "t")).json()
        assert body["executionInfo"]["requeueCount"] == 1
        assert "lastRequeueTime" in body["executionInfo"]
        body = await wait_state(raw, "j", "t", ("running",))
        assert (await raw.send("POST", "/jobs/j/tasks/t/terminate")).status == 204
        await wait_no_survivors(root)


def test_execute_refuses_a_non_loopback_bind() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Emulator(in_memory=True, execute=True, host="0.0.0.0")
    with pytest.raises(ValueError, match="clock speed"):
        Emulator(in_memory=True, execute=True, clock_speed=10)
    with pytest.raises(ValueError, match="at least one node"):
        Emulator(in_memory=True, execute=True, nodes=0)


async def test_the_pytest_fixture_runs_tasks(batch_emulator_executing: Emulator) -> None:
    emu = batch_emulator_executing
    async with aiohttp.ClientSession() as session:
        raw = RawClient(session, emu.url, emu.account, emu.key)
        body = await run_one(raw, {"id": "t", "commandLine": "/bin/sh -c 'exit 7'"})
    assert body["executionInfo"]["exitCode"] == 7
