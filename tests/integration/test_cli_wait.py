"""``batchtasks job task-counts`` and ``batchtasks task wait`` as real processes against an
emulator process whose tasks run (100x clock): exit codes, failed tasks named, JSON output."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from batchtasks import BatchClient, SharedKeyCredential

from .test_cli_commands import ACCOUNT, KEY, EmulatorProcess, clean_env

TIMEOUT = 120


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    argv = [sys.executable, "-m", "batchtasks.emulator", "--port", "0", "--in-memory"]
    argv += ["--account", ACCOUNT, "--key", KEY, "--run-tasks", "--clock-speed", "100"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        found = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline())
        assert found
        yield EmulatorProcess(found.group(0), proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _setup(emu: EmulatorProcess, job: str, commands: dict[str, str]) -> None:
    async def go() -> None:
        async with BatchClient(emu.url, SharedKeyCredential(ACCOUNT, KEY)) as client:
            await client.jobs.add({"id": job, "poolInfo": {"poolId": "p"}})
            await client.tasks.add_collection(
                job, [{"id": i, "commandLine": c} for i, c in commands.items()]
            )

    asyncio.run(go())


def cli(emu: EmulatorProcess, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "batchtasks", *args]
    argv += ["--account-endpoint", emu.url, "--account-name", ACCOUNT, "--account-key", KEY]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=TIMEOUT, env=clean_env(), check=False
    )


def test_wait_fails_naming_the_failed_tasks_then_counts(emulator: EmulatorProcess) -> None:
    tasks = {f"ok{i}": f"sleep {i * 20}" for i in range(6)}
    tasks |= {"bad1": "sleep 30 && exit 3", "bad2": "exit 9"}
    _setup(emulator, "cw1", tasks)
    proc = cli(emulator, "task", "wait", "--job-id", "cw1", "--poll-interval", "0.1")
    assert proc.returncode == 1, proc.stderr
    assert "8 task(s) completed, 6 succeeded, 2 failed" in proc.stderr
    assert "2 task(s) failed: " in proc.stderr
    assert "bad1" in proc.stdout
    assert "bad2" in proc.stdout
    assert "FailureExitCode" in proc.stdout
    assert KEY not in proc.stdout + proc.stderr

    counts = cli(emulator, "job", "task-counts", "--job-id", "cw1", "-o", "json")
    assert counts.returncode == 0, counts.stderr
    body = json.loads(counts.stdout)
    assert body["taskCounts"] == {
        "active": 0, "running": 0, "completed": 8, "succeeded": 6, "failed": 2,
    }  # fmt: skip
    assert body["taskSlotCounts"]["completed"] == 8
    table = cli(emulator, "job", "task-counts", "--job-id", "cw1")
    assert table.returncode == 0
    assert re.search(r"succeeded\s*│\s*6", table.stdout), table.stdout


def test_wait_for_named_tasks_json_and_timeout(emulator: EmulatorProcess) -> None:
    _setup(emulator, "cw2", {"a": "sleep 10", "b": "sleep 20", "slow": "sleep 100000"})
    proc = cli(
        emulator, "task", "wait", "--job-id", "cw2", "--task-id", "a", "--task-id", "b",
        "--poll-interval", "0.1", "-o", "json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["completed"], report["failed"], report["pendingTaskIds"]) == (2, 0, [])

    late = cli(
        emulator, "task", "wait", "--job-id", "cw2", "--timeout", "1", "--poll-interval", "0.1",
        "-o", "json",
    )  # fmt: skip
    assert late.returncode == 1
    report = json.loads(late.stdout)
    assert report["timedOut"] is True
    assert report["completed"] == 2
    assert report["taskCounts"]["running"] == 1
    assert "timed out after 1 s" in late.stderr


def test_wait_on_a_missing_job_is_one_error_line(emulator: EmulatorProcess) -> None:
    proc = cli(emulator, "task", "wait", "--job-id", "nope")
    assert proc.returncode == 1
    assert "JobNotFound" in proc.stderr
    assert "Traceback" not in proc.stderr
    bad = cli(emulator, "task", "wait", "--job-id", "nope", "--timeout", "-1")
    assert bad.returncode == 2
