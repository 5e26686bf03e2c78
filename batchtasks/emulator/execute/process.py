"""One command line run as a real process: split, started, watched, stopped.

The command line is split like a POSIX shell splits words (`shlex`) and executed directly, not
under a shell, as on a Linux Batch node (users write ``/bin/sh -c "..."`` for shell features).
Each process starts a new session, so it leads its own process group: stopping it (maxWallClockTime,
terminate, delete, shutdown) signals the whole group, SIGTERM first and SIGKILL after a grace
period, and whatever the group still holds when the main process exits is killed too. stdout and
stderr go straight to the task's ``stdout.txt`` / ``stderr.txt`` (no copy through the emulator);
the size of every file a task writes is capped with RLIMIT_FSIZE (``ulimit -f``: the process gets
SIGXFSZ past it), so a runaway writer cannot fill the disk. Must not know about task states or
HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProcessResult", "run_command"]


@dataclass(frozen=True)
class ProcessResult:
    """How one process ended.

    Attributes:
        exit_code: its exit code; a process ended by signal N reports 128 + N, as a shell does
            (None when it never started).
        launch_error: ``CommandProgramNotFound`` / ``CommandLaunchFailed`` when it never started.
        message: why it never started, or how it was stopped.
        timed_out: stopped at its deadline (maxWallClockTime).
        stopped: stopped on request (terminate, delete, shutdown).
    """

    exit_code: int | None
    launch_error: str | None = None
    message: str = ""
    timed_out: bool = False
    stopped: bool = False


def split_command(command_line: str) -> list[str]:
    """The argv of a command line (POSIX word splitting, no shell).

    Raises:
        ValueError: unbalanced quotes, or nothing to run.
    """
    argv = shlex.split(command_line)
    if not argv:
        raise ValueError("the command line is empty")
    return argv


async def run_command(
    command_line: str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdout: Path,
    stderr: Path,
    append: bool,
    deadline: float | None,
    stop: asyncio.Event,
    kill_grace: float,
    file_size_limit: int,
) -> ProcessResult:
    """Run `command_line` to its end, its deadline (loop time) or until `stop` is set.

    Args:
        append: add to stdout/stderr files (the application command after the coordination
            command); else they start empty.
    """
    try:
        argv = split_command(command_line)
    except ValueError as exc:
        return ProcessResult(None, "CommandLaunchFailed", f"cannot split the command line: {exc}")
    program = _resolve(argv[0], cwd, env.get("PATH", os.defpath))
    if isinstance(program, ProcessResult):
        return program
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if append else os.O_TRUNC)
    out = os.open(stdout, flags, 0o644)
    err = os.open(stderr, flags, 0o644)
    try:
        # The shell only sets the file size limit and replaces itself with the program, with the
        # argv exactly as split ("$@"): no word of the command line is interpreted by it. Set
        # here, the limit holds from the first byte (prlimit from the parent after the start
        # leaves a gap; a preexec_fn would cost a full fork per task).
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            f'ulimit -f {max(file_size_limit // 512, 1)} && exec "$@"',
            argv[0],
            program,
            *argv[1:],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
        )
    except OSError as exc:
        return ProcessResult(None, "CommandLaunchFailed", f"{argv[0]!r}: {exc.strerror}")
    finally:
        os.close(out)
        os.close(err)
    return await _watch(proc, deadline, stop, kill_grace)


def _resolve(name: str, cwd: Path, path: str) -> str | ProcessResult:
    """The program file `name` names (searched on `path` when it has no slash), as exec would
    find it; or the launch failure the service reports."""
    if "/" in name:
        found: str | None = str(cwd / name)
    else:
        found = shutil.which(name, mode=os.F_OK, path=path)
    if found is None or not os.path.isfile(found):
        return ProcessResult(None, "CommandProgramNotFound", f"{name!r} was not found")
    if not os.access(found, os.X_OK):
        return ProcessResult(None, "CommandLaunchFailed", f"{name!r} is not executable")
    return found


async def _watch(
    proc: asyncio.subprocess.Process, deadline: float | None, stop: asyncio.Event, grace: float
) -> ProcessResult:
    loop = asyncio.get_running_loop()
    waiter = asyncio.ensure_future(proc.wait())
    stopper = asyncio.ensure_future(stop.wait())
    timeout = None if deadline is None else max(deadline - loop.time(), 0.0)
    try:
        await asyncio.wait({waiter, stopper}, timeout=timeout, return_when="FIRST_COMPLETED")
    finally:
        stopper.cancel()
    timed_out = stopped = False
    if not waiter.done():
        timed_out = not stop.is_set()
        stopped = not timed_out
        _signal_group(proc.pid, signal.SIGTERM)
        done, _ = await asyncio.wait({waiter}, timeout=grace)
        if not done:
            _signal_group(proc.pid, signal.SIGKILL)
    code = await waiter
    # Children that outlived the main process (forked and left behind) go with it.
    _signal_group(proc.pid, signal.SIGKILL)
    return ProcessResult(128 - code if code < 0 else code, timed_out=timed_out, stopped=stopped)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
