"""Route handlers of the four task-file operations (``File_*FromTask`` in the REST spec).

* ``GET    /jobs/{job}/tasks/{task}/files`` — list (``recursive``, ``$filter``, ``maxresults``)
* ``GET    /jobs/{job}/tasks/{task}/files/{filePath}`` — content, streamed (``ocp-range``)
* ``HEAD   /jobs/{job}/tasks/{task}/files/{filePath}`` — properties, in headers only
* ``DELETE /jobs/{job}/tasks/{task}/files/{filePath}`` — delete (``recursive`` for directories)

Files live on the task's (virtual) node, in the directory `NodeFiles` gives; the blocking work
is in `taskfiles` and runs in a worker thread. A file body is streamed in chunks, never read
whole. Error codes are the REST reference's ("Batch Status and Error Codes"): a missing job,
task or file is 404 ``JobNotFound`` / ``TaskNotFound`` / ``FileNotFound``; a task that has not
run on a node yet 409 ``OperationInvalidForCurrentState``; a task whose directory is gone 409
``TaskFilesUnavailable``; a range outside the file 416 ``InvalidRange``. Must not build SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from .errors import ApiError
from .formats import iso7, parse_rfc1123, rfc1123
from .nodefs import PathEscapesError
from .protocol import (
    base_url,
    check_timeout,
    ctx,
    decode_token,
    empty_response,
    json_response,
    next_link,
    parse_maxresults,
    stamp_headers,
)
from .render import task_url
from .taskfiles import (
    CONTENT_TYPE,
    DirectoryNotEmptyError,
    FileEntry,
    describe,
    list_entries,
    locate,
    read_chunk,
    remove,
)

files = web.RouteTableDef()

_FILE = "/jobs/{job_id}/tasks/{task_id}/files/{file_path:.+}"
#: Bytes per read of a streamed body.
CHUNK_SIZE = 256 * 1024
_RANGE_RE = re.compile(r"bytes=(\d{1,19})-(\d{0,19})")
_STARTSWITH_RE = re.compile(r"\s*startswith\(\s*name\s*,\s*'((?:[^']|'')*)'\s*\)\s*")


async def _task_dir(request: web.Request) -> tuple[str, str, str, str]:
    """``(node_id, job_id, task_id, base task URL)`` of a task that ran, with stored-case IDs.

    Raises:
        ApiError: JobNotFound, TaskNotFound, OperationInvalidForCurrentState (never ran on a
            node), TaskFilesUnavailable (its directory is gone).
    """
    c = ctx(request)
    job, task = await c.store.get_task(request.match_info["job_id"], request.match_info["task_id"])
    node_id = (task.get("nodeInfo") or {}).get("nodeId")
    if not node_id:
        raise ApiError(
            "OperationInvalidForCurrentState",
            [("Reason", "The task has not run on a compute node, so it has no files.")],
        )
    directory = c.nodes.task_dir(node_id, job["id"], task["id"])
    if not await asyncio.to_thread(directory.is_dir):
        raise ApiError("TaskFilesUnavailable")
    return node_id, job["id"], task["id"], task_url(base_url(request), job["id"], task["id"])


async def _locate(request: web.Request) -> tuple[Path, FileEntry, str]:
    """The file or directory a request names, its properties, and its URL."""
    node_id, job_id, task_id, url = await _task_dir(request)
    name = request.match_info["file_path"]
    try:
        path = await asyncio.to_thread(locate, ctx(request).nodes, node_id, job_id, task_id, name)
        entry = await asyncio.to_thread(describe, path, name)
    except PathEscapesError:
        # An emulator choice: the service's answer to such a path is not documented.
        raise ApiError(
            "InvalidUri", [("Reason", "The file path leaves the task directory.")]
        ) from None
    except FileNotFoundError:
        raise ApiError("FileNotFound") from None
    return path, entry, _file_url(url, entry.name)


def _file_url(task: str, name: str) -> str:
    return f"{task}/files/{quote(name, safe='/')}"


def _bool_param(request: web.Request, name: str) -> bool:
    raw = request.query.get(name)
    if raw is None or raw.lower() == "false":
        return False
    if raw.lower() == "true":
        return True
    raise ApiError(
        "InvalidQueryParameterValue",
        [("QueryParameterName", name), ("QueryParameterValue", raw), ("Reason", "true or false")],
    )


def _name_prefix(request: web.Request) -> str | None:
    """The prefix of ``$filter=startswith(name,'…')``, the one filter task files accept."""
    raw = request.query.get("$filter")
    if raw is None:
        return None
    match = _STARTSWITH_RE.fullmatch(raw)
    if match is None:
        raise ApiError(
            "InvalidQueryParameterValue",
            [
                ("QueryParameterName", "$filter"),
                ("QueryParameterValue", raw),
                ("Reason", "Task files can be filtered only with startswith(name, '...')."),
            ],
        )
    return match.group(1).replace("''", "'")


def _check_conditions(request: web.Request, modified: datetime) -> None:
    """``If-Modified-Since`` (304 when not modified) / ``If-Unmodified-Since`` (412)."""
    for header in ("If-Match", "If-None-Match"):
        if header in request.headers:
            raise ApiError("UnsupportedHeader", [("HeaderName", header)])
    present = [h for h in ("If-Modified-Since", "If-Unmodified-Since") if h in request.headers]
    if not present:
        return
    if len(present) > 1:
        raise ApiError("MultipleConditionHeadersNotSupported")
    name = present[0]
    since = parse_rfc1123(request.headers[name])
    if since is None:
        raise ApiError(
            "InvalidHeaderValue", [("HeaderName", name), ("HeaderValue", request.headers[name])]
        )
    stamp = modified.replace(microsecond=0)
    if name == "If-Modified-Since" and stamp <= since:
        raise ApiError("ConditionNotMet", status=304, headers={"Last-Modified": rfc1123(stamp)})
    if name == "If-Unmodified-Since" and stamp > since:
        raise ApiError("ConditionNotMet", status=412)


def _byte_range(request: web.Request, size: int) -> tuple[int, int]:
    """``(first, count)`` of the bytes to send: the whole file, or ``ocp-range: bytes=a-b``."""
    raw = request.headers.get("ocp-range")
    if raw is None:
        return 0, size
    match = _RANGE_RE.fullmatch(raw.strip())
    if match is None:
        raise ApiError("InvalidHeaderValue", [("HeaderName", "ocp-range"), ("HeaderValue", raw)])
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else size - 1
    if first >= size or last < first:
        raise ApiError("InvalidRange", [("Range", raw), ("ContentLength", str(size))])
    return first, min(last, size - 1) - first + 1


def _property_headers(entry: FileEntry, url: str) -> dict[str, str]:
    return {
        "ocp-creation-time": rfc1123(entry.created),
        "ocp-batch-file-isdirectory": "true" if entry.is_directory else "false",
        "ocp-batch-file-url": url,
        "ocp-batch-file-mode": entry.mode,
        "Last-Modified": rfc1123(entry.modified),
        "Content-Type": CONTENT_TYPE,
        "Content-Length": str(entry.size),
    }


def _render(entry: FileEntry, task: str) -> dict[str, Any]:
    return {
        "name": entry.name,
        "url": _file_url(task, entry.name),
        "isDirectory": entry.is_directory,
        "properties": {
            "creationTime": iso7(entry.created),
            "lastModified": iso7(entry.modified),
            "contentLength": entry.size,
            "contentType": CONTENT_TYPE,
            "fileMode": entry.mode,
        },
    }


@files.get("/jobs/{job_id}/tasks/{task_id}/files")
async def file_list_from_task(request: web.Request) -> web.Response:
    """File list_from_task → 200 (paged; ``recursive``, ``$filter=startswith(name,'…')``)."""
    check_timeout(request)
    recursive = _bool_param(request, "recursive")
    prefix = _name_prefix(request)
    limit = parse_maxresults(request)
    after = decode_token(request)
    node_id, job_id, task_id, url = await _task_dir(request)
    entries, cursor = await asyncio.to_thread(
        list_entries,
        ctx(request).nodes,
        node_id,
        job_id,
        task_id,
        recursive=recursive,
        prefix=prefix,
        after=after,
        limit=limit,
    )
    body: dict[str, Any] = {
        "odata.metadata": f"{base_url(request)}/$metadata#files",
        "value": [_render(e, url) for e in entries],
    }
    if cursor is not None:
        body["odata.nextLink"] = next_link(request, cursor, limit)
    return json_response(body)


@files.head(_FILE)
async def file_get_properties_from_task(request: web.Request) -> web.Response:
    """File get_properties_from_task → 200, properties in headers, no body."""
    check_timeout(request)
    _path, entry, url = await _locate(request)
    _check_conditions(request, entry.modified)
    return web.Response(status=200, headers=_property_headers(entry, url))


@files.get(_FILE, allow_head=False)
async def file_get_from_task(request: web.Request) -> web.StreamResponse:
    """File get_from_task → 200 with the bytes (all, or the ``ocp-range``), streamed."""
    check_timeout(request)
    path, entry, url = await _locate(request)
    _check_conditions(request, entry.modified)
    if entry.is_directory:
        # An emulator choice: the service's answer for a directory is not documented.
        raise ApiError("FileNotFound", [("Reason", "The path names a directory.")])
    first, count = _byte_range(request, entry.size)
    try:
        handle = await asyncio.to_thread(os.open, path, os.O_RDONLY)
    except FileNotFoundError:
        raise ApiError("FileNotFound") from None
    try:
        response = web.StreamResponse(status=200, headers=_property_headers(entry, url))
        response.content_length = count
        stamp_headers(request, response)
        await response.prepare(request)
        sent = 0
        while sent < count:
            chunk = await asyncio.to_thread(
                read_chunk, handle, first + sent, min(CHUNK_SIZE, count - sent)
            )
            if not chunk:
                # The file shrank while it was sent: the announced length cannot be kept, so
                # the connection is closed early and the client sees a short body.
                response.force_close()
                break
            try:
                await response.write(chunk)
            except ConnectionResetError:  # the client went away; nobody is left to answer
                response.force_close()
                break
            sent += len(chunk)
        else:
            await response.write_eof()
        return response
    finally:
        with contextlib.suppress(OSError):
            os.close(handle)


@files.delete(_FILE)
async def file_delete_from_task(request: web.Request) -> web.Response:
    """File delete_from_task → 200; a directory needs ``recursive=true`` unless it is empty."""
    check_timeout(request)
    recursive = _bool_param(request, "recursive")
    path, _entry, _url = await _locate(request)
    try:
        await asyncio.to_thread(remove, path, recursive=recursive)
    except DirectoryNotEmptyError:
        # An emulator choice of code: the spec says only that such a delete fails.
        raise ApiError(
            "OperationInvalidForCurrentState",
            [("Reason", "The directory is not empty; set recursive=true to delete it.")],
        ) from None
    except FileNotFoundError:
        raise ApiError("FileNotFound") from None
    return empty_response(200)
