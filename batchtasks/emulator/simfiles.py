"""The files a *simulated* task leaves on its virtual node: ``stdout.txt``, ``stderr.txt``, ``wd/``.

Nothing is executed in simulated mode, so the outputs say what the simulation decided:

* when the task starts, its directory is created with an empty ``stdout.txt`` and ``stderr.txt``
  and an empty working directory ``wd/`` (as a node does before it runs the command);
* when it ends (each attempt, before a retry), ``stdout.txt`` holds three lines — the task ID, the
  command line (not executed) and the simulated exit code — and ``stderr.txt`` is empty for exit
  code 0, or holds one line naming the failure (the non-zero exit code, or
  ``MaxWallClockTimeExceeded``).

Called by `lifecycle` from its database thread (plain blocking writes). Must not do HTTP or SQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .nodefs import NodeFiles

__all__ = ["task_finished", "task_started"]


def task_started(nodes: NodeFiles | None, task: dict[str, Any]) -> None:
    """Create the directory of a task that starts running, with empty outputs."""
    directory = _directory(nodes, task)
    if directory is None:
        return
    (directory / "wd").mkdir(parents=True, exist_ok=True)
    (directory / "stdout.txt").write_bytes(b"")
    (directory / "stderr.txt").write_bytes(b"")


def task_finished(nodes: NodeFiles | None, task: dict[str, Any], exit_code: int | None) -> None:
    """Write the outputs of a task whose simulated run just ended (before any retry).

    Args:
        exit_code: the simulated exit code; None when the task ran past its wall-clock limit.
    """
    directory = _directory(nodes, task)
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    shown = "none (maximum wall-clock time exceeded)" if exit_code is None else exit_code
    stdout = (
        f"batchtasks emulator: simulated run of task {task['id']}\n"
        f"command line (not executed): {task.get('commandLine', '')}\n"
        f"exit code: {shown}\n"
    )
    (directory / "stdout.txt").write_text(stdout, encoding="utf-8")
    if exit_code == 0:
        stderr = ""
    elif exit_code is None:
        stderr = "simulated failure: MaxWallClockTimeExceeded\n"
    else:
        stderr = f"simulated failure: exit code {exit_code}\n"
    (directory / "stderr.txt").write_text(stderr, encoding="utf-8")


def _directory(nodes: NodeFiles | None, task: dict[str, Any]) -> Path | None:
    # nodeInfo.taskRootDirectory is "workitems/{job}/job-1/{task}": the job ID as stored.
    info = task.get("nodeInfo") or {}
    parts = str(info.get("taskRootDirectory", "")).split("/")
    if nodes is None or not info.get("nodeId") or len(parts) != 4:
        return None
    return nodes.task_dir(info["nodeId"], parts[1], task["id"])
