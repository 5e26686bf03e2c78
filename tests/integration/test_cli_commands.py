"""The ``batchtasks`` CLI end to end: real processes against an emulator process.

One emulator subprocess (``python -m batchtasks.emulator --port 0``) serves the module, with its
own non-default key so that the tests can check the key is never printed; each test uses its
own job ids. Every CLI run is a fresh ``python -m batchtasks`` process, as a user would run it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from batchtasks.cli import main
from batchtasks.cli._sample import sample_tasks

KEY = base64.b64encode(bytes(range(100, 164))).decode()
ACCOUNT = "clitest"
TIMEOUT = 120


@dataclass(frozen=True)
class EmulatorProcess:
    url: str
    process: subprocess.Popen[str]


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "batchtasks.emulator",
            "--port",
            "0",
            "--in-memory",
            "--account",
            ACCOUNT,
            "--key",
            KEY,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert found, (
            f"emulator did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}"
        )
        yield EmulatorProcess(found.group(0), proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_BATCH_")}
    env["PYTHONIOENCODING"] = "utf-8"
    env["COLUMNS"] = "200"
    return env


def cli(
    *args: str,
    emu: EmulatorProcess | None = None,
    stdin: str | None = None,
    key: str = KEY,
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "batchtasks", *args]
    if emu is not None:
        argv += ["--account-endpoint", emu.url, "--account-name", ACCOUNT, "--account-key", key]
    return subprocess.run(
        argv,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(),
        check=False,
        encoding="utf-8",
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("batchtasks: error: ")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return errors[0]


def write_tasks(path: Path, count: int, *, prefix: str = "") -> list[dict[str, object]]:
    tasks = list(sample_tasks(count, seed=5, id_prefix=prefix))
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")
    return tasks


def test_add_collection_from_a_file_creates_the_job_and_adds_every_task(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    file = tmp_path / "tasks.jsonl"
    tasks = write_tasks(file, 250)
    proc = cli(
        "add-collection", "--job-id", "cli-file", "--json-file", str(file),
        "--create-job", "--pool-id", "pool-1", "--max-concurrency", "4", "--output", "json",
        emu=emulator,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["tasks"] == 250
    assert report["added"] + report["addedOnRetry"] == 250
    assert report["failed"] == report["unknown"] == report["notAttempted"] == 0
    assert report["requests"] >= 3  # at most 100 tasks per request

    etl = sorted(str(t["id"]) for t in tasks if str(t["id"]).startswith("etl-"))
    listed = cli(
        "task", "list", "--job-id", "cli-file", "--filter", "startswith(id,'etl-')",
        "--select", "id,state", "--output", "json",
        emu=emulator,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert sorted(t["id"] for t in json.loads(listed.stdout)) == etl
    assert {t["state"] for t in json.loads(listed.stdout)} == {"active"}


def test_add_collection_reads_a_json_array_from_stdin_with_a_table_summary(
    emulator: EmulatorProcess,
) -> None:
    assert (
        cli("job", "add", "--job-id", "cli-stdin", "--pool-id", "p", emu=emulator).returncode == 0
    )
    body = json.dumps(
        [{"id": f"s{n}", "commandLine": "echo ☃", "displayName": "ünï"} for n in range(30)]
    )
    proc = cli(
        "add-collection", "--job-id", "cli-stdin", "--json-file", "-", emu=emulator, stdin=body
    )
    assert proc.returncode == 0, proc.stderr
    assert "bulk add to job cli-stdin" in proc.stdout
    assert re.search(r"added\s+│\s+30\b", proc.stdout), proc.stdout


def test_rerunning_a_file_fails_with_task_exists_unless_skip_existing(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    file = tmp_path / "again.jsonl"
    write_tasks(file, 20, prefix="again-")
    common = ["add-collection", "--job-id", "cli-again", "--json-file", str(file), "-o", "json"]
    first = cli(*common, "--create-job", "--pool-id", "p", emu=emulator)
    assert first.returncode == 0, first.stderr

    second = cli(*common, emu=emulator)
    assert second.returncode == 1
    report = json.loads(second.stdout)
    assert report["failed"] == 20
    assert {f["code"] for f in report["failures"]} == {"TaskExists"}

    third = cli(*common, "--skip-existing", emu=emulator)
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["alreadyExisted"] == 20


def test_bad_input_in_a_file_stops_before_anything_is_sent(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    file = tmp_path / "bad.jsonl"
    lines = [json.dumps({"id": f"ok-{n}", "commandLine": "echo"}) for n in range(5)]
    lines.insert(3, '{"id": "broken", "commandLine": "echo",}')
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = cli(
        "add-collection", "--job-id", "cli-bad", "--json-file", str(file),
        "--create-job", "--pool-id", "p",
        emu=emulator,
    )  # fmt: skip
    assert proc.returncode == 2
    assert assert_one_line_error(proc).startswith(f"batchtasks: error: {file}:4: malformed JSON")
    # Nothing was sent, not even the job.
    assert cli("job", "get", "--job-id", "cli-bad", emu=emulator).returncode == 1


def test_invalid_task_on_stdin_stops_the_input_and_accounts_for_what_was_sent(
    emulator: EmulatorProcess,
) -> None:
    assert cli("job", "add", "--job-id", "cli-pipe", "--pool-id", "p", emu=emulator).returncode == 0
    lines = [json.dumps({"id": f"p{n}", "commandLine": "echo"}) for n in range(12)]
    lines.append(json.dumps({"id": "no-command"}))
    proc = cli(
        "add-collection", "--job-id", "cli-pipe", "--json-file", "-", "-o", "json",
        emu=emulator, stdin="\n".join(lines) + "\n",
    )  # fmt: skip
    assert proc.returncode == 2
    message = assert_one_line_error(proc)
    assert "<stdin>:13: invalid task 'no-command': commandLine" in message
    report = json.loads(proc.stdout)
    assert report["tasks"] == report["added"] == 12
    assert report["inputError"].startswith("<stdin>:13:")


def test_missing_job_is_a_clear_error(emulator: EmulatorProcess, tmp_path: Path) -> None:
    file = tmp_path / "t.jsonl"
    write_tasks(file, 3)
    proc = cli("add-collection", "--job-id", "no-such-job", "--json-file", str(file), emu=emulator)
    assert proc.returncode == 1
    assert "job 'no-such-job' not found" in assert_one_line_error(proc)
    got = cli("task", "get", "--job-id", "no-such-job", "--task-id", "t", emu=emulator)
    assert got.returncode == 1
    assert "JobNotFound" in assert_one_line_error(got)


def test_wrong_key_is_an_authentication_error_and_no_key_is_printed(
    emulator: EmulatorProcess,
) -> None:
    wrong = base64.b64encode(b"x" * 64).decode()
    proc = cli("job", "list", "--debug", emu=emulator, key=wrong)
    assert proc.returncode == 1
    assert "authentication failed" in proc.stderr
    assert "Traceback" in proc.stderr  # --debug shows it
    for text in (proc.stdout, proc.stderr):
        assert wrong not in text
        assert KEY not in text


def test_debug_logs_requests_but_never_the_key(emulator: EmulatorProcess) -> None:
    proc = cli("job", "list", "--output", "json", "--debug", emu=emulator)
    assert proc.returncode == 0, proc.stderr
    assert "DEBUG batchtasks" in proc.stderr
    assert KEY not in proc.stderr + proc.stdout
    quiet = cli("job", "list", "--output", "json", emu=emulator)
    assert "DEBUG" not in quiet.stderr


Run = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def local(emulator: EmulatorProcess, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run the CLI in process (`main(argv)`, as the console script calls it) for tests with many
    small commands, where interpreter start-up would dominate."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [*args, "--account-endpoint", emulator.url, "--account-name", ACCOUNT]
        argv += ["--account-key", KEY]
        code = main(argv)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(argv, code, out, err)

    return run


def test_a_missing_file_fails_before_anything_is_created(local: Run, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.jsonl")
    proc = local(
        "add-collection", "--job-id", "never", "--json-file", missing,
        "--create-job", "--pool-id", "p",
    )  # fmt: skip
    assert proc.returncode == 2
    assert assert_one_line_error(proc) == f"batchtasks: error: {missing}: no such file"
    assert local("job", "get", "--job-id", "never").returncode == 1


def test_task_and_job_commands_mirror_the_library(local: Run, tmp_path: Path) -> None:
    run = local
    job = "cli-ops"
    assert run("job", "add", "--job-id", job, "--pool-id", "p", "--priority", "5").returncode == 0
    shown = run("job", "get", "--job-id", job, "-o", "json")
    assert json.loads(shown.stdout)["priority"] == 5
    jobs = run("job", "list", "--filter", f"id eq '{job}'")
    assert job in jobs.stdout

    task_file = tmp_path / "task.json"
    task_file.write_text(json.dumps({"id": "t1", "commandLine": "echo 1", "displayName": "Ünï"}))
    assert run("task", "add", "--job-id", job, "--json-file", str(task_file)).returncode == 0
    added = run("task", "add", "--job-id", job, "--task-id", "t2", "--command-line", "echo 2")
    assert added.returncode == 0, added.stderr

    got = run("task", "get", "--job-id", job, "--task-id", "t1", "-o", "json")
    assert json.loads(got.stdout)["displayName"] == "Ünï"
    table = run("task", "get", "--job-id", job, "--task-id", "t1")
    assert "commandLine" in table.stdout
    assert "echo 1" in table.stdout

    updated = run(
        "task", "update", "--job-id", job, "--task-id", "t1",
        "--max-task-retry-count", "3", "--max-wall-clock-time", "PT1H",
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    constraints = json.loads(
        run("task", "get", "--job-id", job, "--task-id", "t1", "-o", "json").stdout
    )["constraints"]
    assert constraints["maxTaskRetryCount"] == 3
    assert constraints["maxWallClockTime"] == "PT1H"

    subtasks = run("task", "list-subtasks", "--job-id", job, "--task-id", "t1", "-o", "json")
    assert json.loads(subtasks.stdout) == []

    assert run("task", "terminate", "--job-id", job, "--task-id", "t1").returncode == 0
    again = run("task", "terminate", "--job-id", job, "--task-id", "t1")
    assert again.returncode == 1
    assert "TaskCompleted" in assert_one_line_error(again)

    listing = run("task", "list", "--job-id", job)
    assert re.search(r"t1\s*│\s*completed", listing.stdout), listing.stdout
    assert re.search(r"t2\s*│\s*active", listing.stdout), listing.stdout

    assert run("task", "delete", "--job-id", job, "--task-id", "t2").returncode == 0
    gone = run("task", "get", "--job-id", job, "--task-id", "t2")
    assert gone.returncode == 1
    assert "TaskNotFound" in gone.stderr
    assert run("job", "delete", "--job-id", job).returncode == 0


def test_local_emulator_when_nothing_is_configured() -> None:
    proc = cli("job", "list", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    folder = os.environ["BATCHTASKS_EMULATOR_LOCATION"]
    notices = [line for line in proc.stderr.splitlines() if "no Azure Batch account" in line]
    assert notices == [
        "no Azure Batch account configured; using the local emulator with its data in "
        f"{folder} ('batchtasks emulator reset' wipes it)"
    ]
    assert json.loads(proc.stdout) == []


def test_emulator_subcommand_delegates() -> None:
    proc = cli("emulator", "--help")
    assert proc.returncode == 0
    assert "--fault-seed" in proc.stdout


def test_demo_runs_end_to_end_with_a_small_number_of_tasks() -> None:
    proc = cli("demo", "--tasks", "300", "--output", "json", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "embedded emulator at http://127.0.0.1:" in proc.stderr
    report = json.loads(proc.stdout)
    summary = report["summary"]
    assert summary["tasks"] == 300
    assert summary["added"] + summary["addedOnRetry"] == 300
    assert report["allCompleted"] is True
    assert report["tasksByState"] == {"active": 0, "preparing": 0, "running": 0, "completed": 300}


def test_demo_table_output_and_progress() -> None:
    proc = cli("demo", "--tasks", "150", "--no-faults")
    assert proc.returncode == 0, proc.stderr
    fragments = ("added on retry", "retries", "requests", "tasks/s", "one $filter query per row")
    for fragment in fragments:
        assert fragment in proc.stdout
    assert "150 added" in proc.stderr  # the progress bars
    assert "150 completed" in proc.stderr


FAKE_IDENTITY = '''
import sys, time, types

class AccessToken:
    def __init__(self, token, expires_on):
        self.token, self.expires_on = token, expires_on

class DefaultAzureCredential:
    """Stands in for azure.identity.aio.DefaultAzureCredential (not installed in tests)."""
    def __init__(self, **kwargs):
        self.closed = False
    async def get_token(self, *scopes, **kwargs):
        assert scopes == ("https://batch.core.windows.net//.default",), scopes
        return AccessToken("entra-token-for-tests", int(time.time()) + 3600)
    async def close(self):
        self.closed = True
    async def __aenter__(self):
        return self
    async def __aexit__(self, *exc):
        await self.close()

identity = types.ModuleType("azure.identity")
aio = types.ModuleType("azure.identity.aio")
aio.DefaultAzureCredential = DefaultAzureCredential
identity.aio = aio
sys.modules["azure.identity"] = identity
sys.modules["azure.identity.aio"] = aio
'''


def test_endpoint_without_key_uses_entra_id_through_azure_identity(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(FAKE_IDENTITY, encoding="utf-8")
    server = subprocess.Popen(
        [
            sys.executable, "-m", "batchtasks.emulator", "--port", "0", "--in-memory",
            "--accept-bearer", "entra-token-for-tests",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        found = re.search(r"http://127\.0\.0\.1:\d+", server.stdout.readline())
        assert found
        env = clean_env()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
        env["AZURE_BATCH_ENDPOINT"] = found.group(0)
        add = ["job", "add", "--job-id", "entra", "--pool-id", "p"]
        run = subprocess.run(
            [sys.executable, "-m", "batchtasks", *add],
            capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        listed = subprocess.run(
            [sys.executable, "-m", "batchtasks", "job", "list", "-o", "json"],
            capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False,
        )  # fmt: skip
        assert [job["id"] for job in json.loads(listed.stdout)] == ["entra"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()


def test_ctrl_c_during_add_collection_still_accounts_for_every_task_read(tmp_path: Path) -> None:
    file = tmp_path / "slow.jsonl"
    write_tasks(file, 3000, prefix="slow-")
    # A slow service (0.4 s per request, one request at a time) so that the run is mid-way
    # when interrupted.
    server = subprocess.Popen(
        [
            sys.executable, "-m", "batchtasks.emulator", "--port", "0", "--in-memory",
            "--latency-ms", "400",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        found = re.search(r"http://127\.0\.0\.1:\d+", server.stdout.readline())
        assert found
        from batchtasks.emulator import DEV_ACCOUNT, DEV_KEY

        env = clean_env()
        env.update(
            AZURE_BATCH_ENDPOINT=found.group(0),
            AZURE_BATCH_ACCOUNT=DEV_ACCOUNT,
            AZURE_BATCH_ACCESS_KEY=DEV_KEY,
        )
        run = subprocess.Popen(
            [
                sys.executable, "-m", "batchtasks", "add-collection", "--job-id", "slow",
                "--json-file", str(file), "--create-job", "--pool-id", "p",
                "--max-concurrency", "1", "-o", "json",
            ],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        assert run.stderr is not None
        assert "created job 'slow'" in run.stderr.readline()  # submitting from here on
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=TIMEOUT)
        assert run.returncode == 130, err
        assert "batchtasks: interrupted" in err
        report = json.loads(out)
        assert report["stopReason"] == "interrupted"
        parts = ("added", "addedOnRetry", "failed", "unknown", "notAttempted")
        assert sum(report[p] for p in parts) == report["tasks"]
        assert report["tasks"] < 3000

        listed = subprocess.run(
            [sys.executable, "-m", "batchtasks", "task", "list", "--job-id", "slow", "-o", "json"],
            capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False,
        )  # fmt: skip
        in_job = len(json.loads(listed.stdout))
        added = report["added"] + report["addedOnRetry"]
        assert added <= in_job <= added + report["unknown"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()


def test_without_rich_json_output_works_and_tables_ask_for_the_extra(tmp_path: Path) -> None:
    file = tmp_path / "t.jsonl"
    write_tasks(file, 120)
    code = (
        "import sys; sys.modules['rich'] = None\n"
        "from batchtasks.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True, text=True, timeout=TIMEOUT, env=clean_env(), check=False,
        )  # fmt: skip

    ok = run(
        "add-collection", "--job-id", "j", "--json-file", str(file),
        "--create-job", "--pool-id", "p", "-o", "json",
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["added"] == 120

    table = run("job", "list")
    assert table.returncode == 2
    assert "pip install 'batchtasks[cli]'" in assert_one_line_error(table)
    assert "embedded emulator" not in table.stderr  # refused before starting anything


def test_list_errors_leave_stdout_empty_and_empty_lists_are_valid_json(local: Run) -> None:
    missing = local("task", "list", "--job-id", "no-such-job-here", "-o", "json")
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert "JobNotFound" in assert_one_line_error(missing)

    assert local("job", "add", "--job-id", "empty-job", "--pool-id", "p").returncode == 0
    empty = local("task", "list", "--job-id", "empty-job", "-o", "json")
    assert empty.returncode == 0
    assert json.loads(empty.stdout) == []


def test_task_add_reads_the_task_from_stdin(emulator: EmulatorProcess) -> None:
    assert cli("job", "add", "--job-id", "cli-one", "--pool-id", "p", emu=emulator).returncode == 0
    task = json.dumps({"id": "from-stdin", "commandLine": "echo hi"})
    added = cli("task", "add", "--job-id", "cli-one", "--json-file", "-", emu=emulator, stdin=task)
    assert added.returncode == 0, added.stderr
    bad = cli(
        "task", "add", "--job-id", "cli-one", "--json-file", "-",
        emu=emulator, stdin='{"id": "x",\n "commandLine": }',
    )  # fmt: skip
    assert bad.returncode == 2
    assert assert_one_line_error(bad).startswith("batchtasks: error: <stdin>:2: malformed JSON")


def test_the_shipped_sample_file_adds_cleanly(emulator: EmulatorProcess) -> None:
    sample = Path(__file__).resolve().parents[2] / "examples" / "tasks.jsonl"
    proc = cli(
        "add-collection", "--job-id", "cli-sample", "--json-file", str(sample),
        "--create-job", "--pool-id", "p", "-o", "json", "--no-progress",
        emu=emulator,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["tasks"] == report["added"] == 1000


def test_concurrency_beyond_the_default_connection_pool(local: Run, tmp_path: Path) -> None:
    file = tmp_path / "wide.jsonl"
    write_tasks(file, 300, prefix="wide-")
    proc = local(
        "add-collection", "--job-id", "cli-wide", "--json-file", str(file),
        "--create-job", "--pool-id", "p", "--max-concurrency", "80", "-o", "json", "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["added"] == 300
