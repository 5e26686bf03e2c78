"""Files in and out of a task directory: ``resourceFiles`` before the command, ``outputFiles``
after it.

Sources the emulator can reach: an ``httpUrl`` on a loopback address (``127.0.0.0/8``, ``::1``,
``localhost``), and ``file://`` paths (a file for ``httpUrl``, a directory for
``storageContainerUrl``). Anything else fails the task the way the service reports a download it
could not make (pre-processing error ``BlobDownloadMiscError``, with a message saying why).

Output destinations the emulator can write to (a container URL maps to a local folder):
``file:///abs/dir`` → that directory; ``http://{emulator address}/{container}[/...]`` → the
folder ``containers/{container}`` beside the emulator's node directories (under ``--location``).
Anything else is a ``FileUploadError``. Every name joined below a directory goes through
`nodefs.relative_path`, and matched output files must lie inside the task directory. Must not
know about task states.
"""

from __future__ import annotations

import asyncio
import glob
import ipaddress
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp

from ..nodefs import PathEscapesError, relative_path
from ..states import failure_info

__all__ = ["TransferError", "fetch_resource_files", "upload_output_files"]

_DOWNLOAD_MISC = "Miscellaneous error encountered while downloading one of the specified files"


class TransferError(Exception):
    """A resource file could not be fetched or an output file not uploaded."""

    def __init__(self, category: str, code: str, message: str, **details: str) -> None:
        super().__init__(message)
        self.failure = failure_info(category, code, message, **details)


def _unreachable(url: str, path: str) -> TransferError:
    host = urlsplit(url).hostname or url.split(":", 1)[0]
    return TransferError(
        "servererror",
        "BlobDownloadMiscError",
        _DOWNLOAD_MISC,
        FilePath=path,
        Message=f"the emulator fetches only from loopback http(s) URLs and file:// paths; "
        f"{host!r} is not reachable from it",
    )


def _target(directory: Path, file_path: str) -> Path:
    try:
        return directory / relative_path(file_path)
    except PathEscapesError as exc:
        raise TransferError(
            "servererror",
            "ResourceFileCreateFailed",
            "Failure encountered creating resource file.",
            FilePath=file_path,
            Message=str(exc),
        ) from None


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def fetch_resource_files(
    files: list[dict[str, Any]], directory: Path, *, size_limit: int, timeout: float
) -> None:
    """Fetch every resource file into `directory` (the working directory, or the task directory
    for multi-instance common resource files).

    Raises:
        TransferError: the first file that could not be fetched (nothing after it is tried).
    """
    for item in files:
        url = item.get("httpUrl") or item.get("storageContainerUrl")
        path = str(item.get("filePath") or "")
        if not isinstance(url, str):
            raise _unreachable(str(item.get("autoStorageContainerName")), path)
        parts = urlsplit(url)
        if parts.scheme == "file":
            source = Path(unquote(parts.path))
            name = path or source.name
            if "httpUrl" in item:
                await asyncio.to_thread(_copy_file, source, _target(directory, name), path)
            else:
                target = _target(directory, path or ".")
                await asyncio.to_thread(_copy_tree, source, target, item.get("blobPrefix"), path)
        elif (
            parts.scheme in ("http", "https") and "httpUrl" in item and _is_loopback(parts.hostname)
        ):
            await _download(url, _target(directory, path), path, size_limit, timeout)
        else:
            raise _unreachable(url, path)
        mode = item.get("fileMode")
        if mode:
            target = _target(directory, path or Path(unquote(parts.path)).name)
            await asyncio.to_thread(os.chmod, target, int(str(mode), 8))


def _copy_file(source: Path, target: Path, path: str) -> None:
    if not source.is_file():
        raise TransferError(
            "usererror",
            "BlobNotFound",
            "One of the specified files is not found.",
            FilePath=path,
            Message=f"{source} is not a file",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def _copy_tree(source: Path, target: Path, prefix: object, path: str) -> None:
    if not source.is_dir():
        raise TransferError(
            "usererror", "BlobNotFound", "The specified container is not found.", FilePath=path
        )
    for file in sorted(source.rglob("*")):
        name = file.relative_to(source).as_posix()
        if file.is_file() and (not prefix or name.startswith(str(prefix))):
            _copy_file(file, target / name, path)


async def _download(url: str, target: Path, path: str, limit: int, timeout: float) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(url) as response,
        ):
            if response.status in (401, 403):
                raise TransferError(
                    "usererror", "BlobAccessDenied", "Access denied.", FilePath=path
                )
            if response.status == 404:
                raise TransferError("usererror", "BlobNotFound", "Not found.", FilePath=path)
            if response.status >= 300:
                raise TransferError(
                    "servererror",
                    "BlobDownloadMiscError",
                    _DOWNLOAD_MISC,
                    FilePath=path,
                    Message=f"HTTP {response.status}",
                )
            written = 0
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            try:
                async for chunk in response.content.iter_chunked(1 << 16):
                    written += len(chunk)
                    if written > limit:
                        raise TransferError(
                            "servererror",
                            "DiskFull",
                            f"The file is larger than the emulator's size limit ({limit} bytes).",
                            FilePath=path,
                        )
                    os.write(fd, chunk)
            finally:
                os.close(fd)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise TransferError(
            "servererror",
            "BlobDownloadMiscError",
            _DOWNLOAD_MISC,
            FilePath=path,
            Message=f"{type(exc).__name__}: {exc}",
        ) from None


def upload_output_files(
    outputs: list[dict[str, Any]],
    *,
    task_dir: Path,
    exit_code: int | None,
    emulator_url: str,
    containers_root: Path,
) -> None:
    """Copy the output files whose upload condition holds to their local destinations.

    Raises:
        TransferError: ``FileUploadError`` for a destination the emulator cannot write to.
    """
    for item in outputs:
        condition = str(item["uploadOptions"]["uploadCondition"]).lower()
        if (condition == "tasksuccess" and exit_code != 0) or (
            condition == "taskfailure" and exit_code == 0
        ):
            continue
        container = item["destination"]["container"]
        base = _destination(str(container["containerUrl"]), emulator_url, containers_root)
        pattern = str(item["filePattern"])
        try:
            prefix = relative_path(str(container.get("path") or ""))
        except PathEscapesError as exc:
            raise _upload_error(str(exc)) from None
        wildcard = any(ch in pattern for ch in "*?[")
        for found, rel in _matches(pattern, task_dir):
            # One file: `path` is its name (default: its own); a pattern: `path` is a folder.
            single = prefix if container.get("path") else Path(rel.name)
            name = prefix / rel if wildcard else single
            target = base / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(found, target)


def _upload_error(message: str) -> TransferError:
    return TransferError(
        "usererror",
        "FileUploadError",
        "One of the output files could not be uploaded.",
        Message=message,
    )


def _destination(url: str, emulator_url: str, containers_root: Path) -> Path:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    own = urlsplit(emulator_url)
    if (parts.scheme, parts.netloc) == (own.scheme, own.netloc):
        segments = [s for s in unquote(parts.path).split("/") if s]
        try:
            return containers_root / relative_path("/".join(segments))
        except PathEscapesError as exc:
            raise _upload_error(str(exc)) from None
    raise _upload_error(
        f"the emulator writes only to file:// URLs and containers on its own address; "
        f"{parts.hostname!r} is not reachable from it"
    )


def _matches(pattern: str, task_dir: Path) -> list[tuple[Path, Path]]:
    """Files matching `pattern` (relative to the working directory) inside the task directory,
    each with its path relative to the pattern's fixed leading directory."""
    wd = task_dir / "wd"
    full = Path(pattern) if os.path.isabs(pattern) else wd / pattern
    fixed: list[str] = []
    for part in full.parts:
        if any(ch in part for ch in "*?["):
            break
        fixed.append(part)
    anchor = Path(*fixed).resolve() if fixed else wd.resolve()
    if anchor.is_file():
        anchor = anchor.parent
    root = task_dir.resolve()
    out = []
    for name in sorted(glob.glob(str(full), recursive=True)):
        real = Path(name).resolve()
        if real.is_file() and real.is_relative_to(root) and real.is_relative_to(anchor):
            out.append((real, real.relative_to(anchor)))
    return out
