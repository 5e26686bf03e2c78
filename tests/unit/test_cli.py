"""CLI units: argument parsing, account selection, error messages and exit codes, task files,
sample tasks, the bulk summary, and that the package works without rich."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

import batchtasks
from batchtasks.cli import main
from batchtasks.cli._account import AccountSettings, connection_pool_size, resolve_account
from batchtasks.cli._bulk import TaskFile
from batchtasks.cli._debug import SecretMask
from batchtasks.cli._errors import InputError, UsageError, describe_error
from batchtasks.cli._parser import build_parser
from batchtasks.cli._progress import BulkReporter, BulkSummary, ProgressView
from batchtasks.cli._render import flatten, require_rich
from batchtasks.cli._sample import sample_tasks
from batchtasks.models import TaskAddParameter

REPO = Path(__file__).resolve().parents[2]
KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="


# --- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["add-collection", "--job-id", "j", "--json-file", "-"],
        ["task", "list", "--job-id", "j", "--filter", "state eq 'active'", "--select", "id,state"],
        ["task", "get", "--job-id", "j", "--task-id", "t", "-o", "json"],
        ["task", "update", "--job-id", "j", "--task-id", "t", "--max-task-retry-count", "2"],
        ["job", "add", "--job-id", "j", "--pool-id", "p"],
        ["job", "list", "--output", "json"],
        ["demo", "--tasks", "10", "--no-faults"],
        ["sample-tasks", "--count", "3"],
    ],
)
def test_every_command_parses(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert args.command == argv[0]


def test_debug_is_accepted_before_or_after_the_command() -> None:
    parser = build_parser()
    assert parser.parse_args(["--debug", "job", "list"]).debug is True
    assert parser.parse_args(["job", "list", "--debug"]).debug is True
    assert parser.parse_args(["job", "list"]).debug is False


def test_usage_errors_exit_2_with_argparse_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["task", "get", "--job-id", "j"]) == 2
    assert "--task-id" in capsys.readouterr().err
    assert main(["demo", "--tasks", "0"]) == 2
    assert "must be at least 1" in capsys.readouterr().err
    assert main(["nonsense"]) == 2
    assert main(["task", "list", "--job-id", "j", "--max-results", "1001"]) == 2
    assert "at most 1000" in capsys.readouterr().err


def test_version_and_help_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert batchtasks.__version__ in capsys.readouterr().out
    assert main(["add-collection", "--help"]) == 0
    assert "--max-concurrency" in capsys.readouterr().out


def test_create_job_without_pool_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    file = tmp_path / "t.jsonl"
    file.write_text('{"id": "a", "commandLine": "echo"}\n')
    code = main(["add-collection", "--job-id", "j", "--json-file", str(file), "--create-job"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "batchtasks: error: --create-job needs --pool-id (the pool the new job runs on)"
    )


# --- account selection ------------------------------------------------------------------------


def test_nothing_configured_means_the_embedded_emulator() -> None:
    settings = resolve_account(endpoint=None, account_name=None, key=None, environ={})
    assert settings == AccountSettings(endpoint=None)
    assert settings.auth_kind == "emulator"


def test_flags_win_over_environment() -> None:
    env = {
        "AZURE_BATCH_ENDPOINT": "https://envacct.westus.batch.azure.com",
        "AZURE_BATCH_ACCOUNT": "envacct",
        "AZURE_BATCH_ACCESS_KEY": "ZW52",
    }
    settings = resolve_account(
        endpoint="http://127.0.0.1:1234/", account_name="flagacct", key=KEY, environ=env
    )
    assert settings.endpoint == "http://127.0.0.1:1234"
    assert settings.account_name == "flagacct"
    assert settings.key == KEY
    from_env = resolve_account(endpoint=None, account_name=None, key=None, environ=env)
    assert (from_env.endpoint, from_env.account_name, from_env.key) == (
        env["AZURE_BATCH_ENDPOINT"],
        "envacct",
        "ZW52",
    )


def test_account_name_comes_from_a_batch_host_and_bare_hosts_get_https() -> None:
    settings = resolve_account(
        endpoint="myacct.westeurope.batch.azure.com", account_name=None, key=KEY, environ={}
    )
    assert settings.endpoint == "https://myacct.westeurope.batch.azure.com"
    assert settings.account_name == "myacct"
    assert settings.auth_kind == "shared-key"


def test_incomplete_configurations_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="no endpoint"):
        resolve_account(endpoint=None, account_name=None, key=KEY, environ={})
    with pytest.raises(UsageError, match="account name"):
        resolve_account(endpoint="http://127.0.0.1:9", account_name=None, key=KEY, environ={})
    with pytest.raises(UsageError, match="invalid account endpoint"):
        resolve_account(endpoint="ftp://x", account_name="a", key=KEY, environ={})


def test_endpoint_without_key_means_entra_id() -> None:
    settings = resolve_account(
        endpoint="https://a.b.batch.azure.com", account_name=None, key=None, environ={}
    )
    assert settings.auth_kind == "entra-id"


def test_entra_id_without_azure_identity_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    monkeypatch.setitem(sys.modules, "azure.identity.aio", None)
    monkeypatch.setenv("AZURE_BATCH_ENDPOINT", "https://acct.westus.batch.azure.com")
    monkeypatch.delenv("AZURE_BATCH_ACCESS_KEY", raising=False)
    monkeypatch.delenv("AZURE_BATCH_ACCOUNT", raising=False)
    assert main(["job", "list"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'batchtasks[identity]'" in err
    assert err.count("\n") == 1


def test_connection_pool_grows_only_beyond_the_default() -> None:
    assert connection_pool_size(None) is None
    assert connection_pool_size(8) is None
    assert connection_pool_size(64) is None
    assert connection_pool_size(65) == 65


def test_settings_repr_never_shows_the_key() -> None:
    settings = AccountSettings(endpoint="https://a.b.batch.azure.com", account_name="a", key=KEY)
    assert KEY not in repr(settings)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "code", "fragment"),
    [
        (UsageError("bad flag"), 2, "bad flag"),
        (InputError("tasks.jsonl:3: malformed JSON"), 2, "tasks.jsonl:3"),
        (
            batchtasks.NotFoundError(status=404, code="JobNotFound", message="The job is gone."),
            1,
            "JobNotFound",
        ),
        (
            batchtasks.AuthenticationError(status=403, code="AuthenticationFailed"),
            1,
            "check the account name and key",
        ),
        (batchtasks.BatchConnectionError("refused"), 1, "could not reach"),
        (batchtasks.BatchTimeoutError("slow"), 1, "timed out"),
        (batchtasks.TaskValidationError("commandLine: required", task_id="t1"), 2, "'t1'"),
        (FileNotFoundError(2, "No such file", "x.json"), 2, "x.json"),
        (RuntimeError("boom\nsecond line"), 1, "unexpected RuntimeError: boom second line"),
        (ValueError("max_results must be 1..1000"), 2, "invalid argument: max_results"),
    ],
)
def test_errors_are_one_line_with_their_exit_code(
    exc: BaseException, code: int, fragment: str
) -> None:
    message, exit_code = describe_error(exc)
    assert exit_code == code
    assert fragment in message
    assert "\n" not in message


def test_secret_mask_hides_keys_in_log_records() -> None:
    mask = SecretMask()
    mask.secrets.add(KEY)
    record = logging.LogRecord("batchtasks", logging.DEBUG, __file__, 1, "key=%s", (KEY,), None)
    assert mask.filter(record)
    assert KEY not in record.getMessage()
    assert "***" in record.getMessage()


# --- task files -------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "tasks.jsonl") -> TaskFile:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return TaskFile(str(path))


def check(source: TaskFile) -> int:
    with source.open() as stream:
        return source.check(stream)


def test_task_file_yields_models_and_counts(tmp_path: Path) -> None:
    source = write(
        tmp_path, '{"id": "a", "commandLine": "echo a"}\n{"id": "b", "commandLine": "echo b"}\n'
    )
    assert source.rereadable()
    with source.open() as stream:
        assert source.check(stream) == 2
        tasks = list(source.tasks(stream))
    assert [t.id for t in tasks] == ["a", "b"]
    assert all(isinstance(t, TaskAddParameter) for t in tasks)


def test_invalid_task_names_line_and_task(tmp_path: Path) -> None:
    source = write(tmp_path, '{"id": "a", "commandLine": "x"}\n\n{"id": "render-7"}\n')
    with pytest.raises(InputError) as info:
        check(source)
    assert str(info.value).startswith(f"{source.name}:3: invalid task 'render-7': ")
    assert "commandLine" in str(info.value)


def test_bad_task_id_and_non_objects_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r":1: invalid task 'bad id!'"):
        check(write(tmp_path, '[{"id": "bad id!", "commandLine": "x"}]', "a.json"))
    with pytest.raises(InputError, match=r":2: expected a task object, got list"):
        check(write(tmp_path, '{"id": "a", "commandLine": "x"}\n[1]\n', "b.jsonl"))


def test_duplicate_ids_are_caught_ignoring_case(tmp_path: Path) -> None:
    text = '[\n{"id": "Task-1", "commandLine": "x"},\n{"id": "task-1", "commandLine": "y"}\n]'
    with pytest.raises(InputError, match=r":3: duplicate task id 'task-1' \(first at line 2\)"):
        check(write(tmp_path, text, "d.json"))


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        TaskFile(str(tmp_path / "nope.jsonl")).open()


def test_stdin_is_not_rereadable() -> None:
    assert not TaskFile("-").rereadable()


# --- sample tasks -----------------------------------------------------------------------------


def test_sample_tasks_are_valid_unique_and_reproducible() -> None:
    first = list(sample_tasks(400, seed=3))
    assert first == list(sample_tasks(400, seed=3))
    assert first != list(sample_tasks(400, seed=4))
    ids = [t["id"] for t in first]
    assert len({i.casefold() for i in ids}) == 400
    for task in first:
        TaskAddParameter.model_validate(task)
    assert any(not t["displayName"].isascii() for t in first)
    assert any("constraints" in t for t in first)
    assert any("storageContainerUrl" in t["resourceFiles"][0] for t in first)


def test_checked_in_sample_file_is_what_the_generator_writes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sample-tasks", "--count", "1000", "--seed", "1"]) == 0
    generated = capsys.readouterr().out
    assert (REPO / "examples" / "tasks.jsonl").read_text(encoding="utf-8") == generated


def test_sample_tasks_as_one_json_array(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample-tasks", "--count", "5", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["id"] for t in data] == [t["id"] for t in sample_tasks(5)]


# --- summary and progress ---------------------------------------------------------------------


def outcome(task_id: str, kind: str, index: int = 0) -> batchtasks.TaskAddOutcome:
    raw = None
    if kind == "failed":
        raw = {
            "taskId": task_id,
            "status": "clienterror",
            "error": {
                "code": "InvalidPropertyValue",
                "message": {"lang": "en-US", "value": "The value is bad.\nRequestId:r\nTime:t"},
            },
        }
    elif kind.startswith("added"):
        raw = {"taskId": task_id, "status": "success"}
    return batchtasks.TaskAddOutcome(
        task_id,
        index,
        batchtasks.Outcome(kind),
        attempts=1,
        raw=raw,
        reason=f"{kind} reason",
        code=None if raw else f"{kind}-code",
    )


def test_reporter_accounts_for_every_outcome() -> None:
    summary = BulkSummary(job_id="j")
    reporter = BulkReporter(summary, ProgressView(None, "x", enabled=False))
    kinds = ["added"] * 5 + ["added_on_retry"] * 2 + ["already_exists", "unknown", "not_attempted"]
    for index, kind in enumerate(kinds):
        reporter.on_result(outcome(f"t{index}", kind, index))
    reporter.on_result(outcome("bad", "failed", 10))
    summary = reporter.finish()
    data = summary.to_json()
    assert (data["tasks"], data["added"], data["addedOnRetry"], data["alreadyExisted"]) == (
        11,
        5,
        2,
        1,
    )
    assert (data["failed"], data["unknown"], data["notAttempted"]) == (1, 1, 1)
    assert summary.unsuccessful == 3
    assert [(f["taskId"], f["outcome"]) for f in data["failures"]] == [
        ("t8", "unknown"),
        ("t9", "not_attempted"),
        ("bad", "failed"),
    ]
    assert data["failures"][2]["code"] == "InvalidPropertyValue"
    assert data["failures"][2]["message"] == "The value is bad."
    assert data["failures"][0]["code"] == "unknown-code"
    assert data["failures"][0]["message"] == "unknown reason"


def test_summary_table_lists_the_counts_and_failures() -> None:
    summary = BulkSummary(job_id="j", tasks=3, added=2, failed=1, retries=4, requests=2)
    summary.failures.append({"taskId": "t9", "outcome": "failed", "code": "X", "message": "m"})
    summary.wall_time = 1.5
    out = io.StringIO()
    summary.write("table", out)
    text = out.getvalue()
    for fragment in ("bulk add to job j", "added on retry", "retries", "t9", "tasks not added"):
        assert fragment in text


def test_flatten_uses_odata_paths() -> None:
    assert flatten({"id": "t", "executionInfo": {"exitCode": 1, "retryCount": 0}, "e": {}}) == {
        "id": "t",
        "executionInfo/exitCode": 1,
        "executionInfo/retryCount": 0,
        "e": {},
    }


# --- rich is optional for the package ---------------------------------------------------------


def test_require_rich_explains_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    with pytest.raises(UsageError, match=r"pip install 'batchtasks\[cli\]'"):
        require_rich()


def test_package_and_cli_import_without_rich() -> None:
    code = (
        "import sys; sys.modules['rich'] = None\n"
        "import batchtasks, batchtasks.cli, batchtasks.cli._commands, batchtasks.cli._bulk\n"
        "from batchtasks.cli import main\n"
        "sys.exit(main(['sample-tasks', '--count', '2']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 2


def test_table_output_without_rich_fails_with_the_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    summary = BulkSummary(job_id="j")
    with pytest.raises(UsageError, match="batchtasks\\[cli\\]"):
        summary.write("table")
    summary.write("json")
    assert json.loads(capsys.readouterr().out)["jobId"] == "j"


def test_plain_http_to_a_remote_host_is_refused_as_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AZURE_BATCH_ENDPOINT", "http://batch.example.com")
    monkeypatch.setenv("AZURE_BATCH_ACCOUNT", "acct")
    monkeypatch.setenv("AZURE_BATCH_ACCESS_KEY", KEY)
    assert main(["job", "list", "-o", "json"]) == 2
    err = capsys.readouterr().err
    assert "refusing plain http" in err
    assert KEY not in err


@pytest.mark.parametrize(
    "endpoint",
    [
        "acct.westus.batch.azure.com",
        "https://acct.westus.batch.azure.com/",
        "ACCT.westus.batch.azure.com",
        "http://127.0.0.1:10100",
    ],
)
def test_library_and_cli_read_an_endpoint_the_same_way(endpoint: str) -> None:
    from batchtasks import BatchClient, SharedKeyCredential
    from batchtasks.cli._account import resolve_account

    settings = resolve_account(endpoint=endpoint, account_name="acct", key=KEY, environ={})
    assert settings.endpoint is not None
    credential = SharedKeyCredential("acct", KEY)
    library = BatchClient(endpoint, credential).endpoint
    assert BatchClient(settings.endpoint, credential).endpoint == library
