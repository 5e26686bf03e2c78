"""Route handlers of the Batch Task operations (fact sheet §2); jobs are `job_routes.py`.

Each handler: parse query/headers/body → validate → one store call → shape the response. Errors
are raised as `ApiError` and rendered by the middleware in `app.py`. Must not verify auth or
inject faults (the middleware does), and must not build SQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from . import lifecycle
from .constants import MAX_TASKS_PER_REQUEST
from .context import REQUEST_ID
from .errors import ApiError
from .filters import TASK_FIELDS
from .formats import iso7
from .protocol import (
    api_version,
    base_url,
    check_timeout,
    condition_checker,
    ctx,
    decode_token,
    empty_response,
    json_response,
    next_link,
    parse_expand,
    parse_filter,
    parse_maxresults,
    parse_select,
    read_json,
    resource_headers,
)
from .render import (
    SUBTASK_PROPERTIES,
    TASK_PROPERTIES,
    job_url,
    render_task,
    select_keys,
    subtasks_of,
    task_url,
)
from .store import check_job_active
from .validation import task_update as validate_task_update
from .versions import prune, undefined_top_level

routes = web.RouteTableDef()


def _select(request: web.Request, version: str) -> frozenset[str] | None:
    return parse_select(request, TASK_PROPERTIES - undefined_top_level("task", version))


def _error_json(exc: ApiError, request_id: str, stamp: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": exc.code,
        "message": {
            "lang": "en-US",
            "value": f"{exc.message}\nRequestId:{request_id}\nTime:{stamp}",
        },
    }
    if exc.values:
        body["values"] = [{"key": k, "value": v} for k, v in exc.values]
    return body


@routes.post("/jobs/{job_id}/tasks")
async def task_add(request: web.Request) -> web.Response:
    """Task add → 201."""
    check_timeout(request)
    c = ctx(request)
    raw = await read_json(request)
    results = await c.store.add_tasks(
        request.match_info["job_id"], [raw], c.clock.now(), [False], api_version(request)
    )
    _, _status, detail = results[0]
    if isinstance(detail, ApiError):
        raise detail
    assert isinstance(detail, dict)
    c.counters.added(1)
    url = task_url(base_url(request), request.match_info["job_id"], detail["id"])
    return empty_response(201, resource_headers(detail, url))


@routes.post("/jobs/{job_id}/addtaskcollection")
async def task_add_collection(request: web.Request) -> web.Response:
    """Task add_collection → 200 with one TaskAddResult per submitted task."""
    check_timeout(request)
    c = ctx(request)
    raw = await read_json(request)
    if not isinstance(raw, dict):
        raise ApiError("InvalidRequestBody", [("Reason", "The body must be a JSON object.")])
    unknown = set(raw) - {"value"}
    if unknown:
        raise ApiError("UnsupportedProperty", [("PropertyName", sorted(unknown)[0])])
    items = raw.get("value")
    if items is None:
        raise ApiError("MissingRequiredProperty", [("PropertyName", "value")])
    if not isinstance(items, list):
        raise ApiError("InvalidPropertyValue", [("PropertyName", "value")])
    if len(items) > MAX_TASKS_PER_REQUEST:
        raise ApiError(
            "InvalidPropertyValue",
            [
                ("PropertyName", "value"),
                ("PropertyValue", str(len(items))),
                ("Reason", f"At most {MAX_TASKS_PER_REQUEST} tasks can be added in one request."),
            ],
        )
    job_id = request.match_info["job_id"]
    server_errors = c.faults.task_server_errors(len(items))
    now = c.clock.now()
    results = await c.store.add_tasks(job_id, items, now, server_errors, api_version(request))
    base = base_url(request)
    request_id = request[REQUEST_ID]
    stamp = iso7(now)
    out: list[dict[str, Any]] = []
    added = 0
    # Added ids are validated ([A-Za-z0-9_-]) and need no quoting: quote the job id once.
    tasks_prefix = f"{job_url(base, job_id)}/tasks/"
    for task_id, status, detail in reversed(results):
        # Reversed on purpose (as in the service's own example): clients must match by taskId.
        entry: dict[str, Any] = {"status": status, "taskId": task_id}
        if isinstance(detail, dict):
            added += 1
            entry["eTag"] = detail["eTag"]
            entry["lastModified"] = detail["lastModified"]
            entry["location"] = tasks_prefix + task_id
        elif isinstance(detail, ApiError):
            entry["error"] = _error_json(detail, request_id, stamp)
        else:
            entry["error"] = _error_json(ApiError("ServerBusy"), request_id, stamp)
        out.append(entry)
    c.counters.added(added)
    return json_response({"odata.metadata": f"{base}/$metadata#taskaddresult", "value": out})


@routes.get("/jobs/{job_id}/tasks")
async def task_list(request: web.Request) -> web.Response:
    """Task list → 200 (paged, $filter/$select/$expand)."""
    check_timeout(request)
    c = ctx(request)
    version = api_version(request)
    where, params = parse_filter(request, TASK_FIELDS)
    select = _select(request, version)
    stats = parse_expand(request)
    limit = parse_maxresults(request)
    after = decode_token(request)
    job_id = request.match_info["job_id"]
    tasks, cursor = await c.store.list_tasks(job_id, where, params, after, limit)
    base = base_url(request)
    now = c.clock.now()
    body: dict[str, Any] = {
        "odata.metadata": f"{base}/$metadata#tasks",
        "value": [
            render_task(prune("task", t, version), base, job_id, select, stats, now) for t in tasks
        ],
    }
    if cursor is not None:
        body["odata.nextLink"] = next_link(request, cursor, limit)
    return json_response(body)


@routes.get("/jobs/{job_id}/tasks/{task_id}")
async def task_get(request: web.Request) -> web.Response:
    """Task get → 200."""
    check_timeout(request)
    c = ctx(request)
    version = api_version(request)
    select = _select(request, version)
    stats = parse_expand(request)
    check = condition_checker(request, read=True)
    job, task = await c.store.get_task(request.match_info["job_id"], request.match_info["task_id"])
    check(task)
    base = base_url(request)
    rendered = render_task(
        prune("task", task, version), base, job["id"], select, stats, c.clock.now()
    )
    body = {"odata.metadata": f"{base}/$metadata#tasks/@Element", **rendered}
    return json_response(
        body, headers=resource_headers(task, task_url(base, job["id"], task["id"]))
    )


async def _modify(
    request: web.Request,
    change: Callable[[dict[str, Any], dict[str, Any], str], dict[str, Any] | None],
) -> dict[str, Any] | None:
    c = ctx(request)
    check = condition_checker(request, read=False)
    now = c.clock.now()
    stamp = iso7(now)

    def fn(job: dict[str, Any], task: dict[str, Any]) -> dict[str, Any] | None:
        check(task)
        check_job_active(job)
        return change(job, task, stamp)

    return await c.store.modify_task(
        request.match_info["job_id"], request.match_info["task_id"], fn, now
    )


def _task_write_headers(request: web.Request, task: dict[str, Any]) -> dict[str, str]:
    url = task_url(base_url(request), request.match_info["job_id"], task["id"])
    return resource_headers(task, url)


@routes.put("/jobs/{job_id}/tasks/{task_id}")
async def task_update(request: web.Request) -> web.Response:
    """Task update → 200; constraints are replaced (defaults when omitted)."""
    check_timeout(request)
    raw = await read_json(request) if request.can_read_body else {}

    def change(job: dict[str, Any], task: dict[str, Any], stamp: str) -> dict[str, Any]:
        job_retry = int(job.get("constraints", {}).get("maxTaskRetryCount", 0))
        task["constraints"] = validate_task_update(raw, job_retry=job_retry)
        return task

    task = await _modify(request, change)
    assert task is not None
    return empty_response(200, _task_write_headers(request, task))


@routes.delete("/jobs/{job_id}/tasks/{task_id}")
async def task_delete(request: web.Request) -> web.Response:
    """Task delete → 200; the task's files go with it (whatever its retention time)."""
    check_timeout(request)
    deleted: list[tuple[str, str, str]] = []

    def change(job: dict[str, Any], task: dict[str, Any], stamp: str) -> None:
        node_id = (task.get("nodeInfo") or {}).get("nodeId")
        if node_id:
            deleted.append((node_id, job["id"], task["id"]))

    await _modify(request, change)
    for node_id, job_id, task_id in deleted:
        await asyncio.to_thread(ctx(request).nodes.remove_task, node_id, job_id, task_id)
    return empty_response(200)


@routes.post("/jobs/{job_id}/tasks/{task_id}/terminate")
async def task_terminate(request: web.Request) -> web.Response:
    """Task terminate → 204; an already completed task → 409 TaskCompleted."""
    check_timeout(request)

    def change(job: dict[str, Any], task: dict[str, Any], stamp: str) -> dict[str, Any]:
        if task["state"] == "completed":
            raise ApiError("TaskCompleted")
        lifecycle.terminate(task, stamp)
        return task

    task = await _modify(request, change)
    assert task is not None
    return empty_response(204, _task_write_headers(request, task))


@routes.post("/jobs/{job_id}/tasks/{task_id}/reactivate")
async def task_reactivate(request: web.Request) -> web.Response:
    """Task reactivate → 204; only a completed task that failed."""
    check_timeout(request)

    def change(job: dict[str, Any], task: dict[str, Any], stamp: str) -> dict[str, Any]:
        if task["state"] != "completed":
            raise ApiError("TaskNotCompleted")
        if task.get("executionInfo", {}).get("result") == "success":
            raise ApiError("TaskSucceeded")
        lifecycle.reactivate(task, stamp)
        return task

    task = await _modify(request, change)
    assert task is not None
    return empty_response(204, _task_write_headers(request, task))


@routes.get("/jobs/{job_id}/tasks/{task_id}/subtasksinfo")
async def task_list_subtasks(request: web.Request) -> web.Response:
    """Task list_subtasks → 200 (not paged)."""
    check_timeout(request)
    select = parse_select(request, SUBTASK_PROPERTIES)
    job, task = await ctx(request).store.get_task(
        request.match_info["job_id"], request.match_info["task_id"]
    )
    base = base_url(request)
    subtasks = [select_keys(s, select) for s in subtasks_of(task, base, job)]
    return json_response(
        {"odata.metadata": f"{base}/$metadata#subtaskinformations", "value": subtasks}
    )
