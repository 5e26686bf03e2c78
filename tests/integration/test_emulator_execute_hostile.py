"""Hostile input to the executing emulator: each ends with the service's answer and nothing
left running (checked with psutil)."""

from __future__ import annotations

from pathlib import Path

from ._execute_helper import executing, nodes_root, run_one, survivors, task_dir, wait_state


async def test_a_command_that_does_not_exist() -> None:
    async with executing() as (emu, raw):
        await raw.create_job("j")
        await raw.add_task("j", {"id": "t", "commandLine": "no-such-program-xyz --flag"})
        info = (await wait_state(raw, "j", "t"))["executionInfo"]
        assert info["result"] == "failure"
        assert "exitCode" not in info
        failure = info["failureInfo"]
        assert (failure["category"], failure["code"]) == ("usererror", "CommandProgramNotFound")
        assert "no-such-program-xyz" in str(failure["details"])
        await raw.add_task("j", {"id": "q", "commandLine": "/bin/echo 'unbalanced"})
        failure = (await wait_state(raw, "j", "q"))["executionInfo"]["failureInfo"]
        assert failure["code"] == "CommandLaunchFailed"
        root = nodes_root(emu)
    assert survivors(root) == []


async def test_a_64_kb_command_line() -> None:
    word = "x" * 65_536
    async with executing() as (emu, raw):
        await raw.create_job("j")
        reply = await raw.add_task("j", {"id": "t", "commandLine": f"/bin/echo {word}"})
        assert reply.status == 201
        body = await wait_state(raw, "j", "t")
        assert body["executionInfo"]["exitCode"] == 0
        assert (task_dir(emu, body, "j") / "stdout.txt").read_text() == word + "\n"


async def test_resource_file_paths_cannot_leave_the_task_directory(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("x")
    async with executing() as (emu, raw):
        await raw.create_job("j")
        reply = await raw.add_task(
            "j",
            {
                "id": "dots",
                "commandLine": "/bin/true",
                "resourceFiles": [{"httpUrl": source.as_uri(), "filePath": "../../escape.txt"}],
            },
        )
        assert (reply.status, reply.code) == (400, "InvalidPropertyValue")
        await raw.add_task(
            "j",
            {
                "id": "absolute",
                "commandLine": "/bin/true",
                "resourceFiles": [{"httpUrl": source.as_uri(), "filePath": str(tmp_path / "o")}],
            },
        )
        info = (await wait_state(raw, "j", "absolute"))["executionInfo"]
        assert info["failureInfo"]["code"] == "ResourceFileCreateFailed"
        assert not (tmp_path / "o").exists()
        assert list(nodes_root(emu).rglob("escape.txt")) == []


async def test_a_process_that_forks_children_and_exits() -> None:
    async with executing() as (emu, raw):
        root = nodes_root(emu)
        await raw.create_job("j")
        await raw.add_task(
            "j", {"id": "t", "commandLine": "/bin/sh -c 'sleep 60 & sleep 60 & echo forked'"}
        )
        body = await wait_state(raw, "j", "t")
        assert body["executionInfo"]["exitCode"] == 0
        assert survivors(root) == []  # the children went with the process group


async def test_a_process_that_ignores_sigterm() -> None:
    async with executing(kill_grace=0.2) as (emu, raw):
        root = nodes_root(emu)
        command = "/bin/sh -c 'trap \"\" TERM; sleep 60; echo survived'"
        task = {"id": "t", "commandLine": command, "constraints": {"maxWallClockTime": "PT0.3S"}}
        body = await run_one(raw, task)
        info = body["executionInfo"]
        assert info["failureInfo"]["code"] == "MaxWallClockTimeExceeded"
        assert info["exitCode"] == 128 + 9  # SIGKILL after the grace period
        assert "survived" not in (task_dir(emu, body, "j") / "stdout.txt").read_text()
        assert survivors(root) == []


async def test_a_process_that_writes_1_gb_to_stdout() -> None:
    limit = 1 << 20
    async with executing(file_size_limit=limit) as (emu, raw):
        root = nodes_root(emu)
        await raw.create_job("j")
        await raw.add_task("j", {"id": "t", "commandLine": "/usr/bin/head -c 1073741824 /dev/zero"})
        body = await wait_state(raw, "j", "t")
        info = body["executionInfo"]
        assert (info["exitCode"], info["result"]) == (128 + 25, "failure")  # SIGXFSZ
        folder = task_dir(emu, body, "j")
        assert (folder / "stdout.txt").stat().st_size <= limit
        assert "file size limit" in (folder / "stderr.txt").read_text()
        assert survivors(root) == []
