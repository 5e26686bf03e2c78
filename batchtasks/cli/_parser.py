"""The argparse command line of ``batchtasks``: every command, option and help text.

Parsing only: this module must not import rich or the client, nor read the environment (account
resolution happens in `batchtasks.cli._account`). Options that every service command shares
(account, output, debug) come from one parent parser so that they read the same everywhere.
"""

from __future__ import annotations

import argparse

from batchtasks import __version__
from batchtasks.cli._durations import iso_duration
from batchtasks.cli._files import add_file_commands
from batchtasks.cli._wait import add_job_task_counts, add_task_wait
from batchtasks.emulator.safeargs import SecretSafeArgumentParser

__all__ = ["build_parser"]

_DESCRIPTION = (
    "Command line for the Azure Batch Task API and its local emulator. "
    "With no account configured, commands run against the local emulator, whose jobs and tasks "
    "are kept in a per-user data folder ('batchtasks emulator reset' wipes them)."
)
_ACCOUNT_HELP = (
    "Account selection, as in the Azure CLI: flags, else the environment variables "
    "AZURE_BATCH_ENDPOINT, AZURE_BATCH_ACCOUNT, AZURE_BATCH_ACCESS_KEY. An endpoint without a "
    "key uses Microsoft Entra ID (azure-identity's DefaultAzureCredential). Nothing configured: "
    "the local emulator (its data kept in a per-user folder, or $BATCHTASKS_EMULATOR_LOCATION)."
)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _page_size(text: str) -> int:
    value = _positive_int(text)
    if value > 1000:
        raise argparse.ArgumentTypeError(
            f"must be at most 1000 (the service's page limit), got {value}"
        )
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _common_parent(*, account: bool = True) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    if account:
        group = parent.add_argument_group("account", _ACCOUNT_HELP)
        group.add_argument("--account-endpoint", metavar="URL", help="Batch account endpoint.")
        group.add_argument("--account-name", metavar="NAME", help="Batch account name.")
        group.add_argument(
            "--account-key",
            metavar="KEY",
            help="Shared Key (prefer AZURE_BATCH_ACCESS_KEY: command lines are visible to ps).",
        )
        group.add_argument(
            "--allow-insecure-http",
            action="store_true",
            help="Allow a plain http:// endpoint beyond loopback (keys and signatures would "
            "travel unencrypted).",
        )
    parent.add_argument(
        "--output",
        "-o",
        choices=("table", "json"),
        default="table",
        help="table for people (default) or json for programs.",
    )
    parent.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log requests at DEBUG level to stderr and show tracebacks.",
    )
    return parent


def _add_ids(parser: argparse.ArgumentParser, *, task: bool) -> None:
    parser.add_argument("--job-id", required=True, help="Job id.")
    if task:
        parser.add_argument("--task-id", required=True, help="Task id.")


def _add_list_query(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--filter", metavar="ODATA", help="OData $filter, e.g. \"state eq 'active'\"."
    )
    parser.add_argument("--select", metavar="PROPS", help="OData $select, e.g. id,state.")
    parser.add_argument("--expand", metavar="PROPS", help="OData $expand (stats).")
    parser.add_argument("--max-results", type=_page_size, metavar="N", help="Page size (1..1000).")


def _add_task_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = _common_parent()
    task = sub.add_parser("task", help="Operate on tasks.", description="Operate on tasks.")
    verbs = task.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("add", parents=[common], help="Add one task.")
    _add_ids(p, task=False)
    p.add_argument("--json-file", metavar="FILE", help="The task as a JSON object ('-': stdin).")
    p.add_argument("--task-id", help="Task id (without --json-file).")
    p.add_argument("--command-line", help="Command line (without --json-file).")
    p.add_argument("--display-name", help="Display name (without --json-file).")

    p = verbs.add_parser("get", parents=[common], help="Show one task.")
    _add_ids(p, task=True)
    p.add_argument("--select", metavar="PROPS", help="OData $select.")
    p.add_argument("--expand", metavar="PROPS", help="OData $expand (stats).")

    p = verbs.add_parser(
        "list",
        parents=[common],
        help="List the tasks of a job.",
        description="List the tasks of a job, a page at a time (--max-results per page), "
        "optionally filtered with an OData $filter and narrowed with $select.",
    )
    _add_ids(p, task=False)
    _add_list_query(p)

    p = verbs.add_parser(
        "list-subtasks", parents=[common], help="List the subtasks of a multi-instance task."
    )
    _add_ids(p, task=True)
    p.add_argument("--select", metavar="PROPS", help="OData $select.")

    for verb, text in (
        ("delete", "Delete a task."),
        ("terminate", "Terminate a task (it moves to completed)."),
        ("reactivate", "Reactivate a task that completed with a failure."),
    ):
        p = verbs.add_parser(verb, parents=[common], help=text)
        _add_ids(p, task=True)

    add_task_wait(verbs, common)
    add_file_commands(verbs, common, _add_ids)

    p = verbs.add_parser(
        "update",
        parents=[common],
        help="Replace a task's constraints (omitted ones return to their defaults).",
        description="Replace a task's constraints, as the service does: the constraints you "
        "leave out return to their defaults. At least one option is required.",
    )
    _add_ids(p, task=True)
    p.add_argument(
        "--max-wall-clock-time",
        type=iso_duration,
        metavar="DURATION",
        help="ISO 8601 duration, e.g. PT1H (1 hour), PT30M, P2D.",
    )
    p.add_argument(
        "--retention-time",
        type=iso_duration,
        metavar="DURATION",
        help="ISO 8601 duration, e.g. P7D (7 days), PT12H.",
    )
    p.add_argument(
        "--max-task-retry-count",
        type=int,
        metavar="N",
        help="Retries after failure (-1: no limit).",
    )


def _add_job_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = _common_parent()
    job = sub.add_parser("job", help="Operate on jobs.", description="Operate on jobs.")
    verbs = job.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("add", parents=[common], help="Create a job.")
    p.add_argument("--job-id", help="Job id (required without --json-file).")
    p.add_argument("--pool-id", help="Pool to run on (required without --json-file).")
    p.add_argument("--display-name", help="Display name.")
    p.add_argument("--priority", type=int, help="-1000..1000 (default 0).")
    p.add_argument(
        "--uses-task-dependencies", action="store_true", help="Allow tasks to use dependsOn."
    )
    p.add_argument("--json-file", metavar="FILE", help="The job as a JSON object ('-': stdin).")

    for verb, text in (("get", "Show a job."), ("delete", "Delete a job and its tasks.")):
        p = verbs.add_parser(verb, parents=[common], help=text)
        _add_ids(p, task=False)

    add_job_task_counts(verbs, common)

    p = verbs.add_parser("list", parents=[common], help="List jobs.")
    p.add_argument("--filter", metavar="ODATA", help="OData $filter.")
    p.add_argument("--select", metavar="PROPS", help="OData $select.")
    p.add_argument("--max-results", type=_page_size, metavar="N", help="Page size (1..1000).")


def _add_bulk_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-concurrency",
        type=_positive_int,
        default=8,
        metavar="N",
        help="add_collection requests in flight at once (default 8).",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="Do not draw the live progress bar."
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the ``batchtasks`` argument parser.

    Returns:
        The parser; ``args.command`` (and ``args.verb`` for task/job) name what to run.
    """
    # Usage errors quote what they could not use: never a key (or a URL's user-info).
    parser: argparse.ArgumentParser = SecretSafeArgumentParser(
        prog="batchtasks", description=_DESCRIPTION
    )
    parser.add_argument("--version", action="version", version=f"batchtasks {__version__}")
    parser.add_argument(
        "--debug", action="store_true", default=False, help="Debug logging and tracebacks."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "add-collection",
        parents=[_common_parent()],
        help="Bulk-add tasks from a JSON array or JSON Lines file.",
        description=(
            "Bulk-add tasks from a file: a JSON array or JSON Lines of task objects in the "
            "service's shape (id, commandLine, ...). The file is streamed, not loaded whole. "
            "Exit code 1 when any task failed, 2 for bad input."
        ),
    )
    p.add_argument("--job-id", required=True, help="Job to add the tasks to.")
    p.add_argument(
        "--json-file", required=True, metavar="FILE", help="Task file, or '-' for stdin."
    )
    _add_bulk_options(p)
    p.add_argument("--create-job", action="store_true", help="Create the job first if missing.")
    p.add_argument("--pool-id", help="Pool for --create-job.")
    p.add_argument(
        "--skip-existing",
        action="store_true",
        help="Count tasks that already exist (TaskExists) as added, e.g. when re-running a file.",
    )

    _add_task_commands(sub)
    _add_job_commands(sub)

    p = sub.add_parser(
        "demo",
        parents=[_common_parent(account=False)],
        help="Bulk-submit generated tasks to an embedded emulator and show what happened.",
        description=(
            "Start an embedded emulator (tasks run on its simulated clock, faults injected), "
            "bulk-submit generated render/ETL tasks with live progress, then summarise and "
            "list the tasks by state."
        ),
    )
    p.add_argument("--tasks", type=_positive_int, default=5000, metavar="N", help="default 5000.")
    p.add_argument(
        "--faults",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Inject transient faults so retries are visible (default: on).",
    )
    p.add_argument("--seed", type=int, default=7, help="Seed for the generated tasks.")
    _add_bulk_options(p)

    p = sub.add_parser(
        "sample-tasks",
        help="Write generated sample tasks as JSON Lines (input for add-collection).",
        description="Write generated render and ETL tasks in the service's task shape to "
        "stdout, as JSON Lines (or one JSON array), e.g. 'batchtasks sample-tasks --count 1000 "
        "| batchtasks add-collection --job-id J --json-file -'. The same seed gives the same "
        "tasks.",
    )
    p.add_argument(
        "--count",
        type=_non_negative_int,
        default=1000,
        metavar="N",
        help="How many tasks to write (default 1000).",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="Seed of the generator: the same seed writes the same tasks (default 0).",
    )
    p.add_argument(
        "--id-prefix",
        default="",
        metavar="TEXT",
        help="Text put in front of every task id, e.g. to add the same tasks to a job twice.",
    )
    p.add_argument(
        "--format", choices=("jsonl", "json"), default="jsonl", help="JSON Lines or one array."
    )

    sub.add_parser(
        "emulator",
        help="Run the Batch emulator (see 'batchtasks emulator --help').",
        add_help=False,
    )
    return parser
