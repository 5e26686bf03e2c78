"""``batchtasks add-collection``: stream a task file into ``client.tasks.add_collection``.

A regular file is read twice, both times streamed: first to check every task (JSON shape, fields,
duplicate ids) so that bad input stops the command before anything is sent, and to learn the
total for the progress bar; then to submit. Standard input can be read only once, so it is checked
as it is submitted: a bad task stops the input there, every task already sent is still accounted
for, and the command ends with the input error (exit code 2).

Reading and validation run in a worker thread, in batches, so the event loop keeps the requests
moving while a slow pipe is read. This module must use only the public API.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import stat
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from pydantic import ValidationError

from batchtasks.cli._account import open_client
from batchtasks.cli._errors import EXIT_FAILURE, EXIT_OK, CliError, InputError, UsageError
from batchtasks.cli._input import iter_json_items
from batchtasks.cli._progress import BulkReporter, BulkSummary, ProgressView
from batchtasks.cli._render import rich_available
from batchtasks.cli._shared import describe_validation_error, settings_from_args

if TYPE_CHECKING:
    from batchtasks import BatchClient

__all__ = ["TaskFile", "run_add_collection", "submit"]

_BATCH = 256


class TaskFile:
    """A task file (or stdin) read as validated `TaskAddParameter` models, with line numbers.

    Args:
        path: a file path, or ``-`` for standard input.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = "<stdin>" if path == "-" else path

    def open(self) -> contextlib.AbstractContextManager[IO[bytes]]:
        """Open the source for binary reading (leaving stdin open when the block ends)."""
        if self.path == "-":
            return contextlib.nullcontext(sys.stdin.buffer)
        try:
            return open(self.path, "rb")
        except FileNotFoundError:
            raise InputError(f"{self.name}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{self.name}: is a directory") from None
        except PermissionError:
            raise InputError(f"{self.name}: permission denied") from None

    def rereadable(self) -> bool:
        """True for a regular file (which can be checked in full before anything is sent)."""
        if self.path == "-":
            return False
        try:
            return stat.S_ISREG(os.stat(self.path).st_mode)
        except OSError:
            return False

    def tasks(self, stream: IO[bytes]) -> Iterator[Any]:
        """Yield each task as a validated model; raise `InputError` naming the line and task."""
        from batchtasks.models import TaskAddParameter

        seen: dict[str, int] = {}
        for item in iter_json_items(stream, name=self.name):
            where = f"{self.name}:{item.line}"
            value = item.value
            if not isinstance(value, dict):
                raise InputError(
                    f"{where}: expected a task object, got {type(value).__name__} "
                    "(the file holds a JSON array of tasks, or one task per line)"
                )
            task_id = value.get("id")
            label = f"task {task_id!r}" if isinstance(task_id, str) else f"task #{item.index + 1}"
            try:
                task = TaskAddParameter.model_validate(value)
            except ValidationError as exc:
                raise InputError(
                    f"{where}: invalid {label}: {describe_validation_error(exc)}"
                ) from None
            key = task.id.casefold()
            first = seen.get(key)
            if first is not None:
                raise InputError(
                    f"{where}: duplicate task id {task.id!r} (first at line {first}); "
                    "task ids are unique per job, ignoring case"
                )
            seen[key] = item.line
            yield task

    def check(self, stream: IO[bytes]) -> int:
        """Read the whole (seekable) file once, validating every task, and rewind it.

        Returns:
            The number of tasks.
        """
        count = sum(1 for _ in self.tasks(stream))
        stream.seek(0)
        return count


@dataclass
class _InputState:
    error: InputError | None = None
    read: int = 0


def _take(tasks: Iterator[Any], count: int) -> tuple[list[Any], InputError | None]:
    """Up to `count` tasks, and the input error that ended the input early, if any."""
    batch: list[Any] = []
    try:
        for task in tasks:
            batch.append(task)
            if len(batch) >= count:
                break
    except InputError as exc:
        return batch, exc
    return batch, None


async def _stream(tasks: Iterator[Any], state: _InputState) -> AsyncIterator[Any]:
    """Yield tasks read in a worker thread; a bad task ends the input (kept in `state`)."""
    while True:
        batch, error = await asyncio.to_thread(_take, tasks, _BATCH)
        state.read += len(batch)
        for task in batch:
            yield task
        if error is not None:
            state.error = error
            return
        if not batch:
            return


async def submit(
    client: BatchClient,
    job_id: str,
    tasks: Any,
    *,
    total: int | None,
    max_concurrency: int,
    progress: bool,
    task_exists_is_success: bool = False,
    description: str = "adding tasks",
    summary: BulkSummary | None = None,
) -> BulkSummary:
    """Bulk-add `tasks` with a live progress bar and count every outcome.

    Args:
        client: an open `batchtasks.BatchClient`.
        job_id: the job.
        tasks: an iterable or async iterable of tasks.
        total: the number of tasks if known (for the bar).
        max_concurrency: add_collection requests in flight.
        progress: draw the bar.
        task_exists_is_success: count TaskExists as added.
        description: the bar's label.
        summary: the summary to fill (default: a new one). If the run is cancelled (Ctrl-C),
            it still holds every task reported so far and ``stop_reason`` says so.

    Returns:
        The filled `BulkSummary` (wall time included).
    """
    summary = BulkSummary(job_id=job_id) if summary is None else summary
    # Without rich (JSON output only), there is simply no bar.
    with ProgressView(total, description, enabled=progress and rich_available()) as view:
        reporter = BulkReporter(summary, view)
        try:
            result = await client.tasks.add_collection(
                job_id,
                tasks,
                max_concurrency=max_concurrency,
                task_exists_is_success=task_exists_is_success,
                on_result=reporter.on_result,
                on_progress=reporter.on_progress,
                collect_results=False,
                raise_on_failure=False,
            )
        except asyncio.CancelledError:
            # The engine reports every task read so far before it lets the cancellation through.
            reporter.finish()
            summary.stop_reason = "interrupted"
            raise
        reporter.finish()
    summary.apply_result(result)
    return summary


async def _ensure_job(client: BatchClient, args: argparse.Namespace) -> None:
    import batchtasks
    from batchtasks.models import JobAddParameter

    if args.create_job:
        job = JobAddParameter.model_validate(
            {"id": args.job_id, "poolInfo": {"poolId": args.pool_id}}
        )
        try:
            await client.jobs.add(job)
            print(f"created job {args.job_id!r} on pool {args.pool_id!r}", file=sys.stderr)
        except batchtasks.AlreadyExistsError:
            pass
        return
    try:
        await client.jobs.get(args.job_id, select="id")
    except batchtasks.NotFoundError:
        raise CliError(
            f"job {args.job_id!r} not found: create it with 'batchtasks job add' "
            "or pass --create-job --pool-id POOL"
        ) from None


async def run_add_collection(args: argparse.Namespace) -> int:
    """Run ``add-collection``; return 0, 1 (some task not added) or raise an input error."""
    if args.create_job and not args.pool_id:
        raise UsageError("--create-job needs --pool-id (the pool the new job runs on)")
    if args.pool_id and not args.create_job:
        raise UsageError("--pool-id is only used with --create-job")
    settings = settings_from_args(args)
    source = TaskFile(args.json_file)
    state = _InputState()
    summary = BulkSummary(job_id=args.job_id)
    # The file is opened (and, when it can be, checked in full) before anything is started.
    with source.open() as stream:
        total = await asyncio.to_thread(source.check, stream) if source.rereadable() else None
        async with open_client(settings, concurrency=args.max_concurrency) as client:
            await _ensure_job(client, args)
            try:
                await submit(
                    client,
                    args.job_id,
                    _stream(source.tasks(stream), state),
                    total=total,
                    max_concurrency=args.max_concurrency,
                    progress=not args.no_progress,
                    task_exists_is_success=args.skip_existing,
                    summary=summary,
                )
            except asyncio.CancelledError:
                # Ctrl-C: still say what happened to every task that was read.
                summary.write(args.output)
                raise
    if state.error is not None:
        summary.input_error = str(state.error)
    summary.write(args.output)
    if state.error is not None:
        raise InputError(
            f"{state.error}; input stopped there; the {summary.tasks:,} tasks before it are "
            "accounted for above (re-run the fixed file with --skip-existing)"
        )
    return EXIT_FAILURE if summary.unsuccessful else EXIT_OK
