"""``batchtasks job task-counts`` and ``batchtasks task wait``: their arguments and commands.

``task wait`` follows a job with `tasks.watch` and draws a live bar of the job's tasks by state
(rich, on stderr), then prints the summary; the exit code is 1 when a task failed (each failed
task is listed with its exit code and failure info) or the timeout passed. This module uses only
the public API and must never print the account key.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import TYPE_CHECKING, Any

from batchtasks.cli._errors import EXIT_FAILURE, EXIT_OK

if TYPE_CHECKING:
    from batchtasks import WaitSummary

__all__ = ["add_job_task_counts", "add_task_wait", "run_job_task_counts", "run_task_wait"]

_COUNT_NAMES = ("active", "running", "completed", "succeeded", "failed")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value:g}")
    return value


def add_job_task_counts(verbs: Any, common: argparse.ArgumentParser) -> None:
    """Register ``job task-counts`` on the job command's subparsers."""
    p = verbs.add_parser(
        "task-counts", parents=[common], help="Count a job's tasks (and task slots) by state."
    )
    p.add_argument("--job-id", required=True, help="Job id.")


def add_task_wait(verbs: Any, common: argparse.ArgumentParser) -> None:
    """Register ``task wait`` on the task command's subparsers."""
    p = verbs.add_parser(
        "wait",
        parents=[common],
        help="Wait until a job's tasks complete, with live progress by state.",
        description=(
            "Wait until every task of the job (or the named ones) has completed, showing the "
            "job's tasks by state. Exit code 1 when a task failed (they are listed) or the "
            "timeout passed."
        ),
    )
    p.add_argument("--job-id", required=True, help="Job id.")
    p.add_argument(
        "--task-id",
        action="append",
        dest="task_ids",
        metavar="ID",
        help="Wait only for this task (repeat for more).",
    )
    p.add_argument("--filter", metavar="ODATA", help="Wait only for the tasks of this $filter.")
    p.add_argument("--timeout", type=_positive_float, metavar="SECONDS", help="Give up after.")
    p.add_argument(
        "--poll-interval",
        type=_positive_float,
        default=1.0,
        metavar="SECONDS",
        help="Seconds between polls while tasks change (default 1; backs off to 30).",
    )
    p.add_argument("--no-progress", action="store_true", help="Do not draw the live bar.")


async def run_job_task_counts(args: argparse.Namespace) -> int:
    """``job task-counts``: one row per state with the task and slot counts."""
    from batchtasks.cli._account import open_client
    from batchtasks.cli._render import write_json, write_table
    from batchtasks.cli._shared import settings_from_args

    async with open_client(settings_from_args(args)) as client:
        result = await client.jobs.get_task_counts(args.job_id)
    if args.output == "json":
        write_json(result)
        return EXIT_OK
    tasks, slots = result.task_counts, result.task_slot_counts
    rows = [
        {"state": name, "tasks": getattr(tasks, name), "slots": getattr(slots, name)}
        for name in _COUNT_NAMES
    ]
    write_table(rows, ["state", "tasks", "slots"], title=f"job {args.job_id}")
    return EXIT_OK


async def run_task_wait(args: argparse.Namespace) -> int:
    """``task wait``: watch, draw the bar, print the summary; 1 on failure or timeout."""
    from batchtasks import WaitTimeoutError
    from batchtasks.cli._account import open_client
    from batchtasks.cli._progress import StateView
    from batchtasks.cli._shared import settings_from_args

    options: dict[str, Any] = {
        "task_ids": args.task_ids,
        "filter": args.filter,
        "timeout": args.timeout,
        "poll_interval": args.poll_interval,
        "max_poll_interval": max(30.0, args.poll_interval),
    }
    async with open_client(settings_from_args(args)) as client:
        first = await client.jobs.get_task_counts(args.job_id)
        total = len(args.task_ids) if args.task_ids else first.task_counts.total
        view = StateView(
            total, f"job {args.job_id}", enabled=not args.no_progress and sys.stderr.isatty()
        )
        watch = client.tasks.watch(args.job_id, **options)

        async def refresh() -> None:
            while True:
                counts = watch.summary.task_counts or first.task_counts
                shown = counts.to_wire()
                if args.task_ids:  # the bar counts the named tasks; the columns the job
                    shown["completed"] = watch.summary.reached
                view.update(shown)
                await asyncio.sleep(0.2)

        timed_out = False
        with view:
            painter = asyncio.create_task(refresh())
            try:
                async with watch:
                    async for _task in watch:
                        pass
            except WaitTimeoutError:
                timed_out = True
            finally:
                painter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await painter
        summary = watch.summary
    _report(summary, args.output, timed_out=timed_out, timeout=args.timeout)
    return EXIT_FAILURE if timed_out or summary.failed else EXIT_OK


def _report(summary: WaitSummary, output: str, *, timed_out: bool, timeout: float | None) -> None:
    from batchtasks.cli._render import write_json, write_table

    if output == "json":
        write_json(
            {
                "jobId": summary.job_id,
                "timedOut": timed_out,
                "completed": summary.reached,
                "succeeded": summary.succeeded,
                "failed": summary.failed,
                "pendingTaskIds": summary.pending_task_ids,
                "taskCounts": summary.task_counts.to_wire() if summary.task_counts else None,
                "failures": [
                    {
                        "taskId": f.task_id,
                        "exitCode": f.exit_code,
                        "failureInfo": f.failure_info.to_wire() if f.failure_info else None,
                    }
                    for f in summary.failures
                ],
                "elapsedSeconds": round(summary.elapsed, 3),
            }
        )
    else:
        print(summary.describe().splitlines()[0], file=sys.stderr)
        if summary.failures:
            rows = [
                {
                    "taskId": f.task_id,
                    "exitCode": f.exit_code,
                    "code": f.failure_info.code if f.failure_info else None,
                    "message": f.failure_info.message if f.failure_info else None,
                }
                for f in summary.failures
            ]
            write_table(rows, ["taskId", "exitCode", "code", "message"], title="failed tasks")
    if timed_out:
        print(f"batchtasks: timed out after {timeout:g} s", file=sys.stderr)
    elif summary.failed:
        names = ", ".join(f.task_id for f in summary.failures[:10])
        more = f" and {summary.failed - 10} more" if summary.failed > 10 else ""
        print(f"batchtasks: {summary.failed} task(s) failed: {names}{more}", file=sys.stderr)
