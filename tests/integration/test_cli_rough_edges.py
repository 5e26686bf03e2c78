"""What a newcomer meets first, each seen on a fresh machine (issue 14): one test per rough edge.

Real processes (``python -m batchtasks`` / ``python -m batchtasks.emulator``) against the local
emulator in the test's own data folder (tests/conftest.py).
"""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from batchtasks.cli._progress import BulkReporter, BulkSummary, ProgressView
from tests.integration.test_cli_local_emulator import cli, env

TIMEOUT = 120


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=TIMEOUT, env=env(), check=False
    )


@pytest.mark.parametrize(
    "prefix",
    [["-m", "batchtasks", "emulator"], ["-m", "batchtasks.emulator"]],
    ids=["batchtasks emulator", "python -m batchtasks.emulator"],
)
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--port", "99999"], "must be 0 (any free port) to 65535"),
        (["--port", "-1"], "must be 0 (any free port) to 65535"),
        (["--port", "http"], "not a port number"),
        (["--location", "/proc/nope"], "cannot create the emulator location /proc/nope"),
        (["--clock-speed", "0"], "clock speed must be positive"),
    ],
)
def test_bad_emulator_arguments_end_in_one_line(
    prefix: list[str], args: list[str], says: str
) -> None:
    proc = run([sys.executable, *prefix, *args])
    assert proc.returncode == 2
    assert says in one_line_error(proc)


def test_a_location_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    plain = tmp_path / "file"
    plain.write_text("x", encoding="utf-8")
    proc = run([sys.executable, "-m", "batchtasks", "emulator", "--location", str(plain)])
    assert proc.returncode == 2
    assert "exists and is not a directory" in one_line_error(proc)


def test_update_without_options_refuses_and_keeps_the_constraints() -> None:
    assert cli("job", "add", "--job-id", "u", "--pool-id", "p").returncode == 0
    task = {"id": "t", "commandLine": "x", "constraints": {"maxTaskRetryCount": 4}}
    assert cli("task", "add", "--job-id", "u", "--json-file", "-", stdin=json.dumps(task))
    proc = cli("task", "update", "--job-id", "u", "--task-id", "t")
    assert proc.returncode == 2
    assert "needs at least one of" in one_line_error(proc)
    got = cli("task", "get", "--job-id", "u", "--task-id", "t", "-o", "json")
    assert json.loads(got.stdout)["constraints"]["maxTaskRetryCount"] == 4


@pytest.mark.parametrize(("typed", "meant"), [("1h", "PT1H"), ("30 min", "PT30M"), ("2d", "P2D")])
def test_a_duration_error_shows_the_iso_form(typed: str, meant: str) -> None:
    proc = cli("task", "update", "--job-id", "u", "--task-id", "t", "--max-wall-clock-time", typed)
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert f"did you mean {meant}?" in line
    assert "PT1H" in line
    assert "day" not in line.split("is not")[0]  # no pydantic jargon before the advice


def test_a_duration_in_a_task_file_is_explained_too() -> None:
    task = {"id": "t", "commandLine": "x", "constraints": {"maxWallClockTime": "1h"}}
    proc = cli("task", "add", "--job-id", "u", "--json-file", "-", stdin=json.dumps(task))
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert "constraints.maxWallClockTime: expected an ISO 8601 duration such as PT1H" in line


def test_a_bad_id_has_no_pydantic_prefix() -> None:
    proc = cli("task", "add", "--job-id", "u", "--task-id", "bad id!", "--command-line", "x")
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert "Value error" not in line
    assert "id:" in line


def test_an_empty_list_says_so() -> None:
    assert cli("job", "add", "--job-id", "quiet", "--pool-id", "p").returncode == 0
    proc = cli("task", "list", "--job-id", "quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "no tasks in job 'quiet'\n"
    filtered = cli("task", "list", "--job-id", "quiet", "--filter", "state eq 'completed'")
    assert filtered.stdout == "no tasks in job 'quiet' matching \"state eq 'completed'\"\n"
    assert cli("task", "list", "--job-id", "quiet", "-o", "json").stdout == "[]\n"


def test_a_refused_connection_fails_at_once_in_plain_words() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [
        "job", "list", "--account-endpoint", f"http://127.0.0.1:{port}",
        "--account-name", "a", "--account-key", "a2V5",
    ]  # fmt: skip
    proc = cli(*argv)
    assert proc.returncode == 1
    line = one_line_error(proc)
    assert f"connection refused by 127.0.0.1:{port}" in line
    assert "ssl:default" not in line
    logged = cli("--debug", *argv)  # one DEBUG line per attempt
    attempts = [line for line in logged.stderr.splitlines() if "GET /jobs ->" in line]
    assert len(attempts) == 1, logged.stderr  # no silent retries


def test_insecure_http_advice_names_the_flag_that_exists() -> None:
    base = ["job", "list", "--account-name", "a", "--account-key", "a2V5"]
    refused = cli(*base, "--account-endpoint", "http://batch.example.invalid")
    assert refused.returncode == 2
    line = one_line_error(refused)
    assert "--allow-insecure-http" in line
    assert "allow_insecure_http=True" not in line
    # The flag exists and does what the advice says: the request is now attempted.
    insecure = ["--account-endpoint", "http://batch.example.invalid", "--allow-insecure-http"]
    allowed = cli(*base, *insecure)
    assert allowed.returncode == 1
    assert "cannot resolve host 'batch.example.invalid'" in one_line_error(allowed)


@pytest.mark.parametrize(
    ("argv", "texts"),
    [
        (["sample-tasks", "--help"], ["render and ETL", "How many tasks", "same seed", "in front"]),
        (["task", "list", "--help"], ["List the tasks of a job, a page at a time"]),
    ],
)
def test_help_describes_the_command_and_its_options(argv: list[str], texts: list[str]) -> None:
    proc = cli(*argv)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for fragment in texts:
        assert fragment in text


def _big_task_file(path: Path, megabytes: int) -> None:
    pad = "x" * 900
    with path.open("w", encoding="utf-8") as out:
        for n in range(megabytes * 1000):
            out.write(json.dumps({"id": f"t{n}", "commandLine": "echo", "displayName": pad}))
            out.write("\n")


@pytest.mark.parametrize("output", ["json", "table"])
def test_ctrl_c_while_a_big_file_is_checked_still_reports(tmp_path: Path, output: str) -> None:
    path = tmp_path / "big.jsonl"
    _big_task_file(path, 60)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "batchtasks", "add-collection", "--job-id", "big"),
            *("--json-file", str(path), "-o", output),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()  # the sign of life, before the check is done
    assert first.startswith(f"checking {path} ("), first
    assert first.endswith(" MB) before anything is sent\n"), first
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    if output == "json":
        report = json.loads(out)
        assert report["stopReason"] == "interrupted while checking the input; nothing was sent"
        assert report["added"] == 0
        assert report["notAttempted"] == report["tasks"]
    else:
        assert "interrupted while checking the input" in out
    assert "local emulator" not in err  # nothing was started


def test_progress_bar_and_summary_name_outcomes_alike() -> None:
    from batchtasks import Outcome

    summary = BulkSummary(job_id="j")
    view = ProgressView(10, "adding", stream=io.StringIO())
    reporter = BulkReporter(summary, view)

    class Fake:
        def __init__(self, outcome: Outcome) -> None:
            self.outcome = outcome
            self.task_id = "t"
            self.error_code = None
            self.attempts = 1
            self.reason = str(outcome)
            self.result = type("R", (), {"error": None})()

    for kind in [Outcome.ADDED] * 3 + [Outcome.UNKNOWN] * 4 + [Outcome.NOT_ATTEMPTED] * 3:
        reporter.on_result(Fake(kind))  # type: ignore[arg-type]
    reporter.finish()
    fields = view._progress.tasks[0].fields
    assert fields["failed"] == summary.failed == 0
    assert fields["other"] == "4 unknown, 3 not attempted"
    assert fields["added"] == summary.added_total == 3


def test_the_not_added_table_keeps_codes_whole_at_80_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    summary = BulkSummary(job_id="j", tasks=2, unknown=2)
    summary.failures = [
        {
            "taskId": f"render-forest-00000{n}",
            "outcome": "unknown",
            "code": "TaskAddOutcomeUnknown",
            "message": "the request was sent and its answer lost; the task may or may not "
            "have been added (connection reset by peer while reading the response)",
        }
        for n in range(2)
    ]
    out = io.StringIO()
    summary.write("table", out)
    text = out.getvalue()
    assert "tasks not added" in text
    assert "failed tasks" not in text
    assert text.count("TaskAddOutcomeUnknown") == 2
    assert text.count("render-forest-000001") == 1
    assert max(len(line) for line in text.splitlines()) <= 80
