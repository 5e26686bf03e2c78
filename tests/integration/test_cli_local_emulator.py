"""The local emulator the CLI uses when no account is configured: its state lasts between commands.

Every test runs real ``python -m batchtasks`` processes with BATCHTASKS_EMULATOR_LOCATION pointing
at the test's own folder (tests/conftest.py), never at the user's data folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from batchtasks.emulator.datadir import LOCATION_ENV, default_location

TIMEOUT = 120


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_BATCH_")}
    clean["PYTHONIOENCODING"] = "utf-8"
    clean["COLUMNS"] = "200"
    return clean


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "batchtasks", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        env=env(),
        check=False,
    )


def tasks_jsonl(count: int, prefix: str = "t") -> str:
    return "".join(
        json.dumps({"id": f"{prefix}{n}", "commandLine": f"echo {n}"}) + "\n" for n in range(count)
    )


def listed_ids(job: str) -> list[str]:
    proc = cli("task", "list", "--job-id", job, "--select", "id", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    return sorted(task["id"] for task in json.loads(proc.stdout))


def test_the_data_folder_comes_from_the_environment_in_tests() -> None:
    folder = default_location()
    assert str(folder) == os.environ[LOCATION_ENV]
    assert "pytest" in str(folder)  # never the user's own folder


def test_the_default_folder_is_per_user(monkeypatch: pytest.MonkeyPatch) -> None:
    environ = {"XDG_DATA_HOME": "/data/me"}
    folder = default_location(environ)
    if sys.platform.startswith("linux"):
        assert folder == Path("/data/me/batchtasks/emulator")
    assert folder.parts[-2:] == ("batchtasks", "emulator")
    assert default_location({LOCATION_ENV: "/x/y"}) == Path("/x/y")


def test_commands_one_after_another_see_the_same_jobs_and_tasks() -> None:
    added = cli("job", "add", "--job-id", "renders", "--pool-id", "p1")
    assert added.returncode == 0, added.stderr
    notice = f"using the local emulator with its data in {os.environ[LOCATION_ENV]}"
    assert notice in added.stderr
    bulk = cli("add-collection", "--job-id", "renders", "--json-file", "-", stdin=tasks_jsonl(250))
    assert bulk.returncode == 0, bulk.stderr
    assert listed_ids("renders") == sorted(f"t{n}" for n in range(250))
    assert (Path(os.environ[LOCATION_ENV]) / "batchtasks-emulator.sqlite3").is_file()


def test_add_collection_into_a_missing_job_creates_it_and_says_so() -> None:
    proc = cli("add-collection", "--job-id", "big", "--json-file", "-", stdin=tasks_jsonl(30))
    assert proc.returncode == 0, proc.stderr
    assert "job 'big' did not exist in the local emulator: created it" in proc.stderr
    assert len(listed_ids("big")) == 30
    again = cli("add-collection", "--job-id", "big", "--json-file", "-", stdin=tasks_jsonl(5, "u"))
    assert again.returncode == 0, again.stderr
    assert "did not exist" not in again.stderr


def test_concurrent_commands_on_one_folder_lose_nothing() -> None:
    procs = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "batchtasks", "add-collection", "--job-id", "shared"),
                *("--json-file", "-", "--no-progress", "-o", "json", "--max-concurrency", "4"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
        )
        for _ in range(3)
    ]
    outputs = [
        proc.communicate(tasks_jsonl(600, prefix=f"p{index}-"), timeout=TIMEOUT)
        for index, proc in enumerate(procs)
    ]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert json.loads(out)["added"] == 600
    assert len(listed_ids("shared")) == 1800


def test_emulator_reset_wipes_the_local_state() -> None:
    assert cli("job", "add", "--job-id", "gone", "--pool-id", "p").returncode == 0
    reset = cli("emulator", "reset")
    assert reset.returncode == 0, reset.stderr
    assert f"deleted 1 jobs and 0 tasks from {os.environ[LOCATION_ENV]}" in reset.stderr
    jobs = cli("job", "list", "-o", "json")
    assert json.loads(jobs.stdout) == []


def test_emulator_reset_leaves_a_folder_without_emulator_data_alone(tmp_path: Path) -> None:
    keep = tmp_path / "mine.txt"
    keep.write_text("mine", encoding="utf-8")
    (tmp_path / "nodes").mkdir()
    proc = cli("emulator", "reset", "--location", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert f"nothing to reset: no emulator data in {tmp_path}" in proc.stderr
    assert keep.read_text(encoding="utf-8") == "mine"
    assert (tmp_path / "nodes").is_dir()


def test_a_served_emulator_on_the_same_folder_sees_the_cli_state() -> None:
    assert cli("job", "add", "--job-id", "seen", "--pool-id", "p").returncode == 0
    server = subprocess.Popen(
        [sys.executable, "-m", "batchtasks", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        # It says where its data lives: the same default folder as the CLI.
        assert f"data {os.environ[LOCATION_ENV]}" in line, line
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        proc = cli(
            "job", "get", "--job-id", "seen", "-o", "json", "--account-endpoint", url.group(0),
            "--account-name", "batchdev", "--account-key",
            "vQ8lG5NEfsVvxCIT5tkez1NtYManOYIam2/m3QXsXQdaeuffJB85t9qjJzTXtmWeHs8jAyL6JFtfPxbzETdmog==",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["id"] == "seen"
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_a_bad_task_on_a_pipe_gives_advice_that_works() -> None:
    good = tasks_jsonl(300)
    lines = good.splitlines(keepends=True)
    broken = "".join(lines[:280]) + '{"id": "t280"}\n' + "".join(lines[281:])
    first = cli("add-collection", "--job-id", "fix", "--json-file", "-", stdin=broken)
    assert first.returncode == 2
    assert "re-run the fixed file with --skip-existing" in first.stderr
    # Taking the advice against the same local state adds the rest, and only once.
    second = cli(
        "add-collection", "--job-id", "fix", "--json-file", "-", "--skip-existing",
        "-o", "json", stdin=good,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["added"] + report["alreadyExisted"] == 300
    assert report["alreadyExisted"] == 280
    assert len(listed_ids("fix")) == 300


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no tasks"),
        ("\n\n  \n", "no tasks"),
        ("[]", "no tasks"),
        ("hello, these are not tasks\n", "malformed JSON"),
        ('"a string"\n', "expected a task object"),
    ],
)
@pytest.mark.parametrize("via", ["file", "stdin"])
def test_input_without_tasks_creates_nothing(
    tmp_path: Path, content: str, message: str, via: str
) -> None:
    path = tmp_path / "input.jsonl"
    path.write_text(content, encoding="utf-8")
    source = str(path) if via == "file" else "-"
    proc = cli(
        "add-collection", "--job-id", "empty", "--json-file", source,
        "--create-job", "--pool-id", "p", stdin=content if via == "stdin" else None,
    )  # fmt: skip
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "local emulator" not in proc.stderr  # nothing was started
    assert "Traceback" not in proc.stderr
    assert json.loads(cli("job", "list", "-o", "json").stdout) == []


def test_a_damaged_database_is_one_line_and_reset_removes_it() -> None:
    folder = Path(os.environ[LOCATION_ENV])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "batchtasks-emulator.sqlite3").write_text("not a database", encoding="utf-8")
    for argv in (["job", "list"], ["emulator", "--port", "0"]):
        proc = cli(*argv)
        assert proc.returncode in (1, 2)
        assert "Traceback" not in proc.stderr
        assert "is not usable (file is not a database)" in proc.stderr
        assert "'batchtasks emulator reset' removes a damaged one" in proc.stderr
    assert cli("emulator", "reset").returncode == 0
    jobs = cli("job", "list", "-o", "json")
    assert jobs.returncode == 0, jobs.stderr
    assert json.loads(jobs.stdout) == []
