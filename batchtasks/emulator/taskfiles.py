"""Blocking file-system work behind the task-file routes: find, describe, list, read, delete.

Every path comes from `NodeFiles` (the one layout) and is checked twice: `NodeFiles.resolve`
refuses ``..``, absolute paths, NUL and backslashes, and `locate` refuses a path whose *real*
location (symbolic links followed) is outside the task directory, so a task that made a link to
``/etc`` cannot expose it. The functions here block: the routes run them in a worker thread.
Must not do HTTP or SQL.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .nodefs import NodeFiles, PathEscapesError

__all__ = [
    "CONTENT_TYPE",
    "DirectoryNotEmptyError",
    "FileEntry",
    "describe",
    "list_entries",
    "locate",
    "read_chunk",
    "remove",
]

#: The service answers every task file with this content type.
CONTENT_TYPE = "application/octet-stream"


class DirectoryNotEmptyError(OSError):
    """A non-recursive delete of a directory that has children."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file or directory of a task directory, as the service describes it.

    Attributes:
        name: path relative to the task directory, ``/``-separated.
        is_directory: a directory.
        size: bytes (0 for a directory).
        created, modified: aware UTC times.
        mode: the Linux file mode in octal, as Python's ``oct()`` writes it (e.g. ``0o100644``).
    """

    name: str
    is_directory: bool
    size: int
    created: datetime
    modified: datetime
    mode: str


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):  # elsewhere, unresolvable, or a link loop
        return False
    return True


def locate(nodes: NodeFiles, node_id: str, job_id: str, task_id: str, file_path: str) -> Path:
    """The existing file or directory `file_path` of a task (not the task directory itself).

    Raises:
        PathEscapesError: the path, or the real location it leads to, leaves the task directory.
        FileNotFoundError: nothing is there.
    """
    root = nodes.task_dir(node_id, job_id, task_id)
    path = nodes.resolve(node_id, job_id, task_id, file_path)
    if path == root:
        raise FileNotFoundError(file_path)
    if not os.path.lexists(path):
        raise FileNotFoundError(file_path)
    if not _inside(path, root):
        raise PathEscapesError(f"file path {file_path!r} leads out of the task directory")
    if not path.exists():  # a dangling link
        raise FileNotFoundError(file_path)
    return path


def _entry(name: str, info: os.stat_result) -> FileEntry:
    is_dir = stat.S_ISDIR(info.st_mode)
    born = getattr(info, "st_birthtime", None) or min(info.st_ctime, info.st_mtime)
    return FileEntry(
        name=name,
        is_directory=is_dir,
        size=0 if is_dir else info.st_size,
        created=datetime.fromtimestamp(born, timezone.utc),
        modified=datetime.fromtimestamp(info.st_mtime, timezone.utc),
        mode=oct(info.st_mode),
    )


def describe(path: Path, name: str) -> FileEntry:
    """The properties of an existing file or directory."""
    return _entry(name, path.stat())


def _walk(root: Path, recursive: bool) -> Iterator[FileEntry]:
    pending = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            scanner = os.scandir(directory)
        except OSError:  # removed meanwhile, or not readable
            continue
        with scanner:
            for item in scanner:
                path = Path(item.path)
                if item.is_symlink() and not _inside(path, root):
                    continue
                try:
                    info = item.stat()
                except OSError:  # dangling link, or removed meanwhile
                    continue
                name = prefix + item.name
                entry = _entry(name, info)
                yield entry
                if recursive and entry.is_directory and not item.is_symlink():
                    pending.append((path, name + "/"))


def list_entries(
    nodes: NodeFiles,
    node_id: str,
    job_id: str,
    task_id: str,
    *,
    recursive: bool,
    prefix: str | None,
    after: str | None,
    limit: int,
) -> tuple[list[FileEntry], str | None]:
    """One page of a task directory's entries, ordered by name.

    Args:
        recursive: include the contents of sub-directories (names ``wd/out.txt``).
        prefix: keep only names that start with it (``startswith(name, '…')``).
        after: the cursor of the previous page (its last name).
        limit: page size.

    Returns:
        ``(entries, cursor)``; the cursor is the page's last name when more entries follow.
    """
    root = nodes.task_dir(node_id, job_id, task_id)
    entries = sorted(
        (
            e
            for e in _walk(root, recursive)
            if (prefix is None or e.name.startswith(prefix)) and (after is None or e.name > after)
        ),
        key=lambda e: e.name,
    )
    page = entries[:limit]
    cursor = page[-1].name if len(entries) > limit else None
    return page, cursor


def read_chunk(handle: int, offset: int, size: int) -> bytes:
    """Up to `size` bytes of an open file descriptor from `offset` (no shared file position)."""
    return os.pread(handle, size, offset)


def remove(path: Path, *, recursive: bool) -> None:
    """Delete a file, or a directory (with its contents only when `recursive`).

    Raises:
        DirectoryNotEmptyError: a directory with children and `recursive` is false.
    """
    if path.is_dir() and not path.is_symlink():
        if recursive:
            shutil.rmtree(path)
            return
        try:
            path.rmdir()
        except OSError as exc:
            raise DirectoryNotEmptyError(str(path)) from exc
        return
    path.unlink()
