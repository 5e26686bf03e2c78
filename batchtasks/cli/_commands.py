"""The CLI's commands: ``task ...`` and ``job ...`` mirroring the library, and the dispatcher.

Each command is a thin async function: resolve the account, open a client, call one library
method, print the result. Bulk add and the demo live in their own modules. This module must use
only the public API, and must never print the account key.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from batchtasks.cli._account import open_client
from batchtasks.cli._errors import EXIT_OK, InputError, UsageError
from batchtasks.cli._output import done as _done
from batchtasks.cli._output import print_list as _print_list
from batchtasks.cli._output import print_one as _print_one
from batchtasks.cli._render import (
    require_rich,
)
from batchtasks.cli._runner import run_async
from batchtasks.cli._shared import describe_validation_error, settings_from_args

if TYPE_CHECKING:
    from batchtasks import BatchClient
    from batchtasks.models import JobAddParameter, TaskAddParameter, TaskConstraints

__all__ = ["read_json_document", "run_command"]

TASK_COLUMNS = ("id", "state", "executionInfo/exitCode", "displayName", "commandLine")
JOB_COLUMNS = ("id", "state", "poolInfo/poolId", "priority", "creationTime")
SUBTASK_COLUMNS = ("id", "state", "exitCode", "nodeInfo/nodeId")


def read_json_document(path: str) -> Any:
    """Read one (small) JSON document from a file or ``-`` (stdin), with a line on error."""
    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.buffer.read().decode("utf-8-sig")
        else:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not valid UTF-8 at byte {exc.start}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name}:{exc.lineno}: malformed JSON: {exc.msg} (column {exc.colno})"
        ) from None


def _task_from_args(args: argparse.Namespace) -> TaskAddParameter:
    from batchtasks.models import TaskAddParameter

    if args.json_file:
        if args.task_id or args.command_line or args.display_name:
            raise UsageError("give either --json-file or --task-id/--command-line, not both")
        data = read_json_document(args.json_file)
        if not isinstance(data, Mapping):
            raise InputError(f"{args.json_file}: expected one JSON object (a task)")
    else:
        if not args.task_id or not args.command_line:
            raise UsageError("task add needs --json-file, or --task-id and --command-line")
        data = {"id": args.task_id, "commandLine": args.command_line}
        if args.display_name:
            data["displayName"] = args.display_name
    try:
        return TaskAddParameter.model_validate(dict(data))
    except ValidationError as exc:
        raise InputError(
            f"invalid task {data.get('id')!r}: {describe_validation_error(exc)}"
        ) from None


def _job_from_args(args: argparse.Namespace) -> JobAddParameter:
    from batchtasks.models import JobAddParameter

    if args.json_file:
        data = read_json_document(args.json_file)
        if not isinstance(data, Mapping):
            raise InputError(f"{args.json_file}: expected one JSON object (a job)")
        data = dict(data)
    else:
        if not args.job_id or not args.pool_id:
            raise UsageError("job add needs --job-id and --pool-id (or --json-file)")
        data = {"id": args.job_id, "poolInfo": {"poolId": args.pool_id}}
    if args.json_file and args.job_id:
        data["id"] = args.job_id
    if args.display_name:
        data["displayName"] = args.display_name
    if args.priority is not None:
        data["priority"] = args.priority
    if args.uses_task_dependencies:
        data["usesTaskDependencies"] = True
    try:
        return JobAddParameter.model_validate(data)
    except ValidationError as exc:
        raise InputError(
            f"invalid job {data.get('id')!r}: {describe_validation_error(exc)}"
        ) from None


async def _run_task(args: argparse.Namespace, client: BatchClient, payload: Any) -> int:
    if args.verb == "files":
        from batchtasks.cli._files import run_files

        return await run_files(args, client)
    tasks = client.tasks
    verb = args.verb
    if verb == "add":
        task = payload
        await tasks.add(args.job_id, task)
        _done(f"added task {task.id!r} to job {args.job_id!r}")
    elif verb == "get":
        found = await tasks.get(args.job_id, args.task_id, select=args.select, expand=args.expand)
        _print_one(found, args, f"task {args.task_id}")
    elif verb == "list":
        pager = tasks.list(
            args.job_id,
            filter=args.filter,
            select=args.select,
            expand=args.expand,
            max_results=args.max_results,
        )
        await _print_list(pager, args, TASK_COLUMNS, f"tasks in job {args.job_id!r}")
    elif verb == "list-subtasks":
        subtasks = tasks.list_subtasks(args.job_id, args.task_id, select=args.select)
        await _print_list(subtasks, args, SUBTASK_COLUMNS, f"subtasks of task {args.task_id!r}")
    elif verb == "update":
        await tasks.update(args.job_id, args.task_id, constraints=payload)
        _done(f"updated task {args.task_id!r} of job {args.job_id!r}")
    else:
        operation: Callable[[str, str], Awaitable[Any]] = getattr(tasks, verb)
        await operation(args.job_id, args.task_id)
        past = {"delete": "deleted", "terminate": "terminated", "reactivate": "reactivated"}[verb]
        _done(f"{past} task {args.task_id!r} of job {args.job_id!r}")
    return EXIT_OK


def _constraints(args: argparse.Namespace) -> TaskConstraints:
    from batchtasks.models import TaskConstraints

    data: dict[str, Any] = {}
    if args.max_wall_clock_time:
        data["maxWallClockTime"] = args.max_wall_clock_time
    if args.retention_time:
        data["retentionTime"] = args.retention_time
    if args.max_task_retry_count is not None:
        data["maxTaskRetryCount"] = args.max_task_retry_count
    if not data:
        # The service would reset every constraint to its default: never by accident.
        raise UsageError(
            "task update needs at least one of --max-wall-clock-time, --retention-time, "
            "--max-task-retry-count (the constraints you leave out return to their defaults)"
        )
    try:
        return TaskConstraints.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"invalid constraints: {describe_validation_error(exc)}") from None


async def _run_job(args: argparse.Namespace, client: BatchClient, payload: Any) -> int:
    jobs = client.jobs
    if args.verb == "add":
        job = payload
        await jobs.add(job)
        _done(f"added job {job.id!r}")
    elif args.verb == "get":
        _print_one(await jobs.get(args.job_id), args, f"job {args.job_id}")
    elif args.verb == "delete":
        await jobs.delete(args.job_id)
        _done(f"deleting job {args.job_id!r} (the service removes it and its tasks)")
    else:
        pager = jobs.list(filter=args.filter, select=args.select, max_results=args.max_results)
        await _print_list(pager, args, JOB_COLUMNS, "jobs")
    return EXIT_OK


async def _run_resource(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    # The body of an add is read (once: it may be stdin) and checked before anything starts.
    payload: TaskAddParameter | JobAddParameter | TaskConstraints | None = None
    if args.verb == "add":
        payload = _task_from_args(args) if args.command == "task" else _job_from_args(args)
    elif args.command == "task" and args.verb == "update":
        payload = _constraints(args)
    async with open_client(settings) as client:
        if args.command == "task":
            return await _run_task(args, client, payload)
        return await _run_job(args, client, payload)


def _run_sample_tasks(args: argparse.Namespace) -> int:
    from batchtasks.cli._sample import sample_tasks

    out = sys.stdout
    tasks = sample_tasks(args.count, seed=args.seed, id_prefix=args.id_prefix)
    if args.format == "jsonl":
        for task in tasks:
            out.write(json.dumps(task, ensure_ascii=False) + "\n")
    else:
        out.write("[")
        for index, task in enumerate(tasks):
            out.write(",\n  " if index else "\n  ")
            out.write(json.dumps(task, ensure_ascii=False))
        out.write("\n]\n")
    out.flush()
    return EXIT_OK


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command and return its exit code (exceptions propagate to `main`)."""
    if getattr(args, "output", None) == "table":
        require_rich()  # fail before doing anything, not when the results are ready to print
    if args.command == "sample-tasks":
        return _run_sample_tasks(args)
    if args.command == "add-collection":
        from batchtasks.cli._bulk import run_add_collection

        return run_async(run_add_collection(args))
    if args.command == "demo":
        from batchtasks.cli._demo import run_demo

        return run_async(run_demo(args))
    if (args.command, args.verb) in (("task", "wait"), ("job", "task-counts")):
        from batchtasks.cli._wait import run_job_task_counts, run_task_wait

        return run_async(run_task_wait(args) if args.verb == "wait" else run_job_task_counts(args))
    return run_async(_run_resource(args))
