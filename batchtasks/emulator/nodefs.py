"""Where the emulator's (virtual) compute nodes keep task files: the node directory layout.

The layout is a Linux Batch node's (Batch docs, "Files and directories in Azure Batch"):
``AZ_BATCH_NODE_ROOT_DIR/workitems/{job}/job-1/{task}/`` holds ``stdout.txt``, ``stderr.txt`` and
the working directory ``wd/`` (``AZ_BATCH_TASK_WORKING_DIR``); ``AZ_BATCH_NODE_ROOT_DIR/shared``
is the node's shared directory. Each virtual node has its own root under the emulator's node
directory (``{location}/nodes/{node_id}``, or a temporary directory for an in-memory emulator).

This module is the one place that turns (node, job, task, file path) into a path on disk, and the
only place that decides whether a path stays inside its task directory. Must not do HTTP or SQL.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

__all__ = ["NodeFiles", "PathEscapesError"]


class PathEscapesError(ValueError):
    """A file path that would leave its task directory (``..``, absolute, NUL, backslash)."""


class NodeFiles:
    """The directory tree of every virtual node of one emulator.

    Args:
        root: the directory that holds one sub-directory per node.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def node_root(self, node_id: str) -> Path:
        """``AZ_BATCH_NODE_ROOT_DIR`` of `node_id`."""
        return self.root / _segment(node_id)

    def shared_dir(self, node_id: str) -> Path:
        """``AZ_BATCH_NODE_SHARED_DIR`` of `node_id`."""
        return self.node_root(node_id) / "shared"

    def job_dir(self, node_id: str, job_id: str) -> Path:
        """The directory of `job_id`'s tasks on `node_id` (``workitems/{job}/job-1``)."""
        return self.node_root(node_id) / "workitems" / _segment(job_id) / "job-1"

    def task_dir(self, node_id: str, job_id: str, task_id: str) -> Path:
        """``AZ_BATCH_TASK_DIR``: holds ``stdout.txt``, ``stderr.txt`` and ``wd/``."""
        return self.job_dir(node_id, job_id) / _segment(task_id)

    def resolve(self, node_id: str, job_id: str, task_id: str, file_path: str) -> Path:
        """The path on disk of `file_path`, relative to the task directory.

        ``""`` and ``"."`` name the task directory itself.

        Raises:
            PathEscapesError: the path is absolute, has a ``..`` segment, a NUL or a backslash.
        """
        return self.task_dir(node_id, job_id, task_id) / relative_path(file_path)

    def remove_task(self, node_id: str, job_id: str, task_id: str) -> None:
        """Delete a task's directory (task delete, retention time passed)."""
        shutil.rmtree(self.task_dir(node_id, job_id, task_id), ignore_errors=True)

    def remove_job(self, job_id: str) -> None:
        """Delete a job's directories on every node (job delete)."""
        if not self.root.is_dir():
            return
        for node in self.root.iterdir():
            shutil.rmtree(node / "workitems" / _segment(job_id), ignore_errors=True)

    def remove_all(self) -> None:
        """Delete every node's files (emulator reset)."""
        shutil.rmtree(self.root, ignore_errors=True)


def relative_path(file_path: str) -> PurePosixPath:
    """`file_path` as a relative path that cannot leave the directory it is joined to.

    Raises:
        PathEscapesError: absolute, ``..`` segment, NUL or backslash.
    """
    if "\x00" in file_path or "\\" in file_path:
        raise PathEscapesError(f"invalid file path {file_path!r}")
    path = PurePosixPath(file_path)
    if path.is_absolute() or ".." in path.parts:
        raise PathEscapesError(f"file path {file_path!r} leaves the task directory")
    return path


def _segment(name: str) -> str:
    # IDs are validated by the routes (letters, digits, '-', '_'), so this only guards against a
    # caller that skipped validation.
    if not name or name in {".", ".."} or "/" in name or "\\" in name or "\x00" in name:
        raise PathEscapesError(f"invalid path segment {name!r}")
    return name
