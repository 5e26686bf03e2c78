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
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from pydantic import ValidationError

from batchtasks.cli._account import open_client
from batchtasks.cli._errors import EXIT_FAILURE, EXIT_OK, CliError, InputError, UsageError
from batchtasks.cli._input import iter_json_items
from batchtasks.cli._progress import BulkReporter, BulkSummary, CheckView, ProgressView
from batchtasks.cli._render import rich_available
from batchtasks.cli._shared import describe_validation_error, settings_from_args

if TYPE_CHECKING:
    from batchtasks import BatchClient

__all__ = ["TaskFile", "run_add_collection", "submit"]

_BATCH = 256
#: Files up to this size are checked without a progress bar (well under a second).
_QUIET_CHECK_BYTES = 4 * 1024 * 1024


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

    def check(self, stream: IO[bytes], progress: CheckProgress | None = None) -> int:
        """Read the whole (seekable) file once, validating every task, and rewind it.

        Args:
            stream: the open file.
            progress: counters to keep up to date for a progress bar, and the flag that stops
                the check early (Ctrl-C).

        Returns:
            The number of tasks.

        Raises:
            InputError: a bad task, or a file without any task.
            CheckStopped: `progress.stop` was set.
        """
        progress = progress or CheckProgress()
        for _ in self.tasks(stream):
            progress.tasks += 1
            if progress.tasks % _BATCH == 0:
                progress.position = stream.tell()
                if progress.stop.is_set():
                    raise CheckStopped
        stream.seek(0)
        if progress.tasks == 0:
            raise InputError(f"{self.name}: {_NO_TASKS}")
        return progress.tasks


_NO_TASKS = (
    "no tasks (expected a JSON array of task objects, or one task object per line); "
    "nothing was sent"
)


class CheckStopped(Exception):
    """The check of a file was stopped (Ctrl-C) before its end."""


@dataclass
class CheckProgress:
    """How far the check of a file has come (written by the checking thread)."""

    tasks: int = 0
    position: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


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


async def _stream(tasks: Iterator[Any], state: _InputState, first: list[Any]) -> AsyncIterator[Any]:
    """Yield `first`, then tasks read in a worker thread; a bad task ends the input (kept in
    `state`)."""
    state.read += len(first)
    for task in first:
        yield task
    while state.error is None:
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


async def _ensure_job(client: BatchClient, args: argparse.Namespace, *, local: bool) -> None:
    """Make sure the job exists: create it with --create-job, or, in the local emulator, when
    it is missing (and say so); against an account a missing job stays an error."""
    import batchtasks
    from batchtasks.models import JobAddParameter

    async def create(pool_id: str) -> bool:
        job = JobAddParameter.model_validate({"id": args.job_id, "poolInfo": {"poolId": pool_id}})
        try:
            await client.jobs.add(job)
        except batchtasks.AlreadyExistsError:
            return False
        return True

    if args.create_job:
        if await create(args.pool_id):
            print(f"created job {args.job_id!r} on pool {args.pool_id!r}", file=sys.stderr)
        return
    try:
        await client.jobs.get(args.job_id, select="id")
    except batchtasks.NotFoundError:
        if not local:
            raise CliError(
                f"job {args.job_id!r} not found: create it with 'batchtasks job add' "
                "or pass --create-job --pool-id POOL"
            ) from None
        if await create(LOCAL_POOL_ID):
            print(
                f"job {args.job_id!r} did not exist in the local emulator: created it on pool "
                f"{LOCAL_POOL_ID!r} (against an account, a missing job is an error)",
                file=sys.stderr,
            )


#: The pool of a job the local emulator creates for add-collection (it has no real pools).
LOCAL_POOL_ID = "local-pool"


async def _checked_total(
    source: TaskFile, stream: IO[bytes], *, progress: bool, summary: BulkSummary, output: str
) -> int:
    """Check the whole file in a worker thread, with a bar that shows how far it has come.

    Ctrl-C stops the check at once and still prints the report (nothing was sent: every task
    read so far is not attempted) before the cancellation goes on.
    """
    state = CheckProgress()
    size = os.fstat(stream.fileno()).st_size
    worker = asyncio.ensure_future(asyncio.to_thread(source.check, stream, state))
    # A bar only for a check that takes a while: a small file is checked in a blink.
    enabled = progress and rich_available() and size > _QUIET_CHECK_BYTES
    if size > _QUIET_CHECK_BYTES:  # a sign of life even where no bar is drawn (a log, a pipe)
        print(
            f"checking {source.name} ({size / 1e6:,.1f} MB) before anything is sent",
            file=sys.stderr,
            flush=True,
        )
    with CheckView(size, f"checking {source.name}", enabled=enabled) as view:
        try:
            while not worker.done():
                await asyncio.wait({worker}, timeout=0.1)
                view.update(state.position, state.tasks)
            view.update(size, state.tasks)
            return worker.result()
        except asyncio.CancelledError:
            state.stop.set()
            with contextlib.suppress(CheckStopped, CliError):
                await worker
            summary.tasks = summary.not_attempted = state.tasks
            summary.stop_reason = "interrupted while checking the input; nothing was sent"
            summary.write(output)
            raise


async def _first_tasks(tasks: Iterator[Any], name: str, state: _InputState) -> list[Any]:
    """Read the start of a pipe before anything is started: a pipe without a single valid task
    must not create a job or start an emulator. A bad task after good ones is kept in `state`
    (the tasks before it are sent, then the input error is reported)."""
    first, error = await asyncio.to_thread(_take, tasks, _BATCH)
    if not first:
        raise error or InputError(f"{name}: {_NO_TASKS}")
    state.error = error
    return first


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
    progress = not args.no_progress
    # The file is opened (and, when it can be, checked in full) before anything is started.
    with source.open() as stream:
        if source.rereadable():
            total: int | None = await _checked_total(
                source, stream, progress=progress, summary=summary, output=args.output
            )
            tasks = source.tasks(stream)
            first: list[Any] = []
        else:
            total = None
            tasks = source.tasks(stream)
            first = await _first_tasks(tasks, source.name, state)
        async with open_client(
            settings, concurrency=args.max_concurrency, run_tasks=False
        ) as client:
            await _ensure_job(client, args, local=settings.endpoint is None)
            try:
                await submit(
                    client,
                    args.job_id,
                    _stream(tasks, state, first),
                    total=total,
                    max_concurrency=args.max_concurrency,
                    progress=progress,
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
        raise InputError(f"{state.error}; input stopped there; {_rerun_advice(summary)}")
    return EXIT_FAILURE if summary.unsuccessful else EXIT_OK


def _rerun_advice(summary: BulkSummary) -> str:
    """What to do next, true for where the tasks went (the local emulator keeps them too)."""
    if summary.added_total == 0:
        return f"the {summary.tasks:,} tasks before it were not added: re-run the fixed file"
    return (
        f"the {summary.tasks:,} tasks before it are accounted for above and the "
        f"{summary.added_total:,} added stay in job {summary.job_id!r}: re-run the fixed file "
        "with --skip-existing"
    )
