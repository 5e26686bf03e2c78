"""Sans-I/O protocol of the Batch Task API: every Task and Job operation's request.

Each function returns the `Request` of one operation — method, path, query parameters, success
status, and whether it is idempotent (fact sheet §1-§2) — built with wire.py's building blocks
from the call's keyword options (options.py). Pure functions: the module must not import
aiohttp, do I/O, read clocks or know about credentials.

For convenience (and existing callers) it also re-exports the wire shape and the decoders, so
`protocol.Request`, `protocol.decode_json` and friends keep working; new code may import them
from wire.py / decoding.py directly.
"""

from __future__ import annotations

from batchtasks._private.decoding import (
    check_status,
    decode_json,
    decode_value_list,
    loads_json,
    next_link_of,
)
from batchtasks._private.options import (
    ConditionalOptions,
    GetOptions,
    ListOptions,
    RequestOptions,
)
from batchtasks._private.wire import (
    GET_ODATA,
    LIST_ODATA,
    Request,
    Response,
    build_request,
    encode_query,
    path_segment,
    request_for_next_link,
    request_query,
    request_url,
    task_path,
    tasks_path,
)

__all__ = [
    "Request",
    "RequestOptions",
    "Response",
    "check_status",
    "decode_json",
    "decode_value_list",
    "encode_query",
    "job_add",
    "job_delete",
    "job_get",
    "job_get_task_counts",
    "job_list",
    "loads_json",
    "next_link_of",
    "request_for_next_link",
    "request_query",
    "request_url",
    "task_add",
    "task_add_collection",
    "task_delete",
    "task_get",
    "task_list",
    "task_list_subtasks",
    "task_reactivate",
    "task_terminate",
    "task_update",
]


# --- Task operations (§2) -------------------------------------------------------------------


def task_add(job_id: str, body: bytes, opts: RequestOptions) -> Request:
    """POST /jobs/{jobId}/tasks -> 201."""
    return build_request(
        "POST", tasks_path(job_id), opts, expected=201, body=body, idempotent=False
    )


def task_add_collection(job_id: str, body: bytes, opts: RequestOptions) -> Request:
    """POST /jobs/{jobId}/addtaskcollection -> 200 with a TaskAddCollectionResult."""
    path = f"/jobs/{path_segment(job_id, 'job_id')}/addtaskcollection"
    return build_request("POST", path, opts, expected=200, body=body, idempotent=False)


def task_list(job_id: str, opts: ListOptions) -> Request:
    """GET /jobs/{jobId}/tasks -> 200 with a CloudTaskListResult (first page)."""
    return build_request("GET", tasks_path(job_id), opts, expected=200, odata=LIST_ODATA)


def task_get(job_id: str, task_id: str, opts: GetOptions) -> Request:
    """GET /jobs/{jobId}/tasks/{taskId} -> 200 with a CloudTask."""
    path = task_path(job_id, task_id)
    return build_request("GET", path, opts, expected=200, odata=GET_ODATA, conditional=True)


def task_delete(job_id: str, task_id: str, opts: ConditionalOptions) -> Request:
    """DELETE /jobs/{jobId}/tasks/{taskId} -> 200."""
    return build_request("DELETE", task_path(job_id, task_id), opts, expected=200, conditional=True)


def task_update(job_id: str, task_id: str, body: bytes, opts: ConditionalOptions) -> Request:
    """PUT /jobs/{jobId}/tasks/{taskId} with a TaskUpdateParameter -> 200."""
    path = task_path(job_id, task_id)
    return build_request("PUT", path, opts, expected=200, body=body, conditional=True)


def task_list_subtasks(
    job_id: str, task_id: str, opts: RequestOptions, *, select: str | None = None
) -> Request:
    """GET /jobs/{jobId}/tasks/{taskId}/subtasksinfo -> 200 (not paged)."""
    path = f"{task_path(job_id, task_id)}/subtasksinfo"
    return build_request("GET", path, opts, expected=200, query=(("$select", select),))


def task_terminate(job_id: str, task_id: str, opts: ConditionalOptions) -> Request:
    """POST /jobs/{jobId}/tasks/{taskId}/terminate (no body) -> 204."""
    path = f"{task_path(job_id, task_id)}/terminate"
    return build_request("POST", path, opts, expected=204, conditional=True)


def task_reactivate(job_id: str, task_id: str, opts: ConditionalOptions) -> Request:
    """POST /jobs/{jobId}/tasks/{taskId}/reactivate (no body) -> 204."""
    path = f"{task_path(job_id, task_id)}/reactivate"
    return build_request("POST", path, opts, expected=204, conditional=True)


# --- Job operations -------------------------------------------------------------------------


def job_add(body: bytes, opts: RequestOptions) -> Request:
    """POST /jobs with a JobAddParameter -> 201."""
    return build_request("POST", "/jobs", opts, expected=201, body=body, idempotent=False)


def job_get(job_id: str, opts: GetOptions) -> Request:
    """GET /jobs/{jobId} -> 200 with a CloudJob."""
    path = f"/jobs/{path_segment(job_id, 'job_id')}"
    return build_request("GET", path, opts, expected=200, odata=GET_ODATA, conditional=True)


def job_delete(job_id: str, opts: ConditionalOptions) -> Request:
    """DELETE /jobs/{jobId} -> 202 (the job goes to `deleting`)."""
    path = f"/jobs/{path_segment(job_id, 'job_id')}"
    return build_request("DELETE", path, opts, expected=202, conditional=True)


def job_get_task_counts(job_id: str, opts: RequestOptions) -> Request:
    """GET /jobs/{jobId}/taskcounts -> 200 with a TaskCountsResult."""
    path = f"/jobs/{path_segment(job_id, 'job_id')}/taskcounts"
    return build_request("GET", path, opts, expected=200)


def job_list(opts: ListOptions) -> Request:
    """GET /jobs -> 200 with a CloudJobListResult (first page)."""
    return build_request("GET", "/jobs", opts, expected=200, odata=LIST_ODATA)
