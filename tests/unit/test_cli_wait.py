"""The parser of ``task wait`` and ``job task-counts`` (the commands run in tests/integration)."""

from __future__ import annotations

import pytest

from batchtasks.cli._parser import build_parser


def test_task_wait_arguments() -> None:
    args = build_parser().parse_args(
        ["task", "wait", "--job-id", "j", "--task-id", "a", "--task-id", "b", "--timeout", "5"]
    )
    assert (args.command, args.verb, args.job_id) == ("task", "wait", "j")
    assert (args.task_ids, args.timeout, args.poll_interval) == (["a", "b"], 5.0, 1.0)
    assert (args.filter, args.no_progress, args.output) == (None, False, "table")


def test_job_task_counts_arguments() -> None:
    args = build_parser().parse_args(["job", "task-counts", "--job-id", "j", "-o", "json"])
    assert (args.command, args.verb, args.job_id, args.output) == (
        "job",
        "task-counts",
        "j",
        "json",
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["task", "wait"],
        ["task", "wait", "--job-id", "j", "--timeout", "0"],
        ["task", "wait", "--job-id", "j", "--poll-interval", "soon"],
        ["job", "task-counts"],
    ],
)
def test_bad_arguments_are_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(argv)
    assert info.value.code == 2
    assert "error:" in capsys.readouterr().err
