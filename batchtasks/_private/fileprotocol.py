"""Sans-I/O requests of the four task-file operations (``File_*FromTask`` in the REST spec).

Paths, query parameters, headers and success statuses of list / get / get-properties / delete of
a task's files, as pure functions over plain values, built with `protocol`'s helpers. The file
path is one percent-encoded segment (``/`` becomes ``%2F``), as the official SDK sends it, so no
URL normalisation can turn ``a/../b`` into another resource. Must not do I/O.
"""

from __future__ import annotations

import re

from batchtasks._private.options import FileConditionalOptions, RequestOptions, check_names
from batchtasks._private.wire import (
    Request,
    build_request,
    max_results_param,
    path_segment,
    task_path,
)

__all__ = [
    "file_delete_from_task",
    "file_get_from_task",
    "file_get_properties_from_task",
    "file_list_from_task",
    "format_range",
    "parse_range",
    "with_range",
]

_RANGE_RE = re.compile(r"bytes=(\d+)-(\d*)")
#: Task files have no ETag: only the time conditions are options of their reads.
_FILE_READ_OPTIONS = frozenset(FileConditionalOptions.__optional_keys__)


def parse_range(value: str) -> tuple[int, int | None]:
    """``(first, last)`` of an ``ocp-range`` value ``bytes=first-last`` (last None: to the end).

    Raises:
        ValueError: not of that form, or last before first.
    """
    match = _RANGE_RE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"ocp_range must look like 'bytes=0-1023' or 'bytes=1024-', not {value!r}")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else None
    if last is not None and last < first:
        raise ValueError(f"ocp_range {value!r} ends before it starts")
    return first, last


def format_range(first: int, last: int | None) -> str:
    """The ``ocp-range`` value of bytes `first`..`last` (inclusive; None: to the end)."""
    return f"bytes={first}-" if last is None else f"bytes={first}-{last}"


def with_range(request: Request, first: int, last: int | None) -> Request:
    """`request` asking for bytes `first`..`last` instead (a download resuming)."""
    return _with_headers(request, {"ocp-range": format_range(first, last)})


def _file_path(job_id: str, task_id: str, file_path: str) -> str:
    return f"{task_path(job_id, task_id)}/files/{path_segment(file_path, 'file_path')}"


def _flag(value: bool | None, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be True or False")
    return "true" if value else "false"


def file_list_from_task(
    job_id: str,
    task_id: str,
    opts: RequestOptions,
    *,
    recursive: bool | None = None,
    filter: str | None = None,
    max_results: int | None = None,
) -> Request:
    """GET /jobs/{jobId}/tasks/{taskId}/files -> 200 with a NodeFileListResult (first page)."""
    query = (
        ("recursive", _flag(recursive, "recursive")),
        ("$filter", filter),
        ("maxresults", max_results_param(max_results)),
    )
    path = f"{task_path(job_id, task_id)}/files"
    return build_request("GET", path, opts, expected=200, query=query)


def file_get_from_task(
    job_id: str,
    task_id: str,
    file_path: str,
    opts: FileConditionalOptions,
    *,
    ocp_range: str | None,
) -> Request:
    """GET /jobs/{jobId}/tasks/{taskId}/files/{filePath} -> 200 with the bytes."""
    check_names(opts, _FILE_READ_OPTIONS)
    request = build_request(
        "GET", _file_path(job_id, task_id, file_path), opts, expected=200, conditional=True
    )
    if ocp_range is None:
        return request
    parse_range(ocp_range)
    return _with_headers(request, {"ocp-range": ocp_range})


def _with_headers(request: Request, changes: dict[str, str | None]) -> Request:
    headers = dict(request.headers)
    for name, value in changes.items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return Request(
        method=request.method,
        path=request.path,
        query=request.query,
        headers=headers,
        body=request.body,
        expected_status=request.expected_status,
    )


def file_get_properties_from_task(
    job_id: str, task_id: str, file_path: str, opts: FileConditionalOptions
) -> Request:
    """HEAD /jobs/{jobId}/tasks/{taskId}/files/{filePath} -> 200, properties in headers."""
    check_names(opts, _FILE_READ_OPTIONS)
    path = _file_path(job_id, task_id, file_path)
    request = build_request("HEAD", path, opts, expected=200, conditional=True)
    # A HEAD has no body: no Content-Length (as the official SDK sends it).
    return _with_headers(request, {"content-length": None})


def file_delete_from_task(
    job_id: str, task_id: str, file_path: str, opts: RequestOptions, *, recursive: bool | None
) -> Request:
    """DELETE /jobs/{jobId}/tasks/{taskId}/files/{filePath} -> 200."""
    path = _file_path(job_id, task_id, file_path)
    query = (("recursive", _flag(recursive, "recursive")),)
    return build_request("DELETE", path, opts, expected=200, query=query)
