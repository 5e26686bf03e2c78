"""Route handlers of the Batch Task and Job operations (fact sheet §2).

Each handler: parse query/headers/body → validate → one store call → shape the response. Errors
are raised as `ApiError` and rendered by the middleware in `app.py`. Must not verify auth or
inject faults (the middleware does), and must not build SQL.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from . import lifecycle
from .constants import (
    API_VERSION,
    JSON_CONTENT_TYPE,
    MAX_RESULTS_DEFAULT,
    MAX_TASKS_PER_REQUEST,
)
from .context import CLOSE_CONNECTION, CONTEXT, REQUEST_ID, Context
from .errors import ApiError
from .filters import JOB_FIELDS, TASK_FIELDS, FieldMap, FilterError, compile_filter
from .formats import iso7, parse_iso, parse_rfc1123, rfc1123, seconds_to_duration
from .store import check_job_active
from .validation import new_job
from .validation import task_update as validate_task_update

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

TASK_PROPERTIES = frozenset(
    {
        "id",
        "displayName",
        "url",
        "eTag",
        "lastModified",
        "creationTime",
        "exitConditions",
        "state",
        "stateTransitionTime",
        "previousState",
        "previousStateTransitionTime",
        "commandLine",
        "containerSettings",
        "resourceFiles",
        "outputFiles",
        "environmentSettings",
        "affinityInfo",
        "constraints",
        "requiredSlots",
        "userIdentity",
        "executionInfo",
        "nodeInfo",
        "multiInstanceSettings",
        "stats",
        "dependsOn",
        "applicationPackageReferences",
        "authenticationTokenSettings",
    }
)
JOB_PROPERTIES = frozenset(
    {
        "id",
        "displayName",
        "usesTaskDependencies",
        "url",
        "eTag",
        "lastModified",
        "creationTime",
        "state",
        "stateTransitionTime",
        "previousState",
        "previousStateTransitionTime",
        "priority",
        "allowTaskPreemption",
        "maxParallelTasks",
        "constraints",
        "jobManagerTask",
        "jobPreparationTask",
        "jobReleaseTask",
        "commonEnvironmentSettings",
        "poolInfo",
        "onAllTasksComplete",
        "onTaskFailure",
        "networkConfiguration",
        "metadata",
        "executionInfo",
        "stats",
    }
)
SUBTASK_PROPERTIES = frozenset(
    {
        "id",
        "nodeInfo",
        "startTime",
        "endTime",
        "exitCode",
        "containerInfo",
        "failureInfo",
        "state",
        "stateTransitionTime",
        "previousState",
        "previousStateTransitionTime",
        "result",
    }
)
_CONDITION_HEADERS = ("If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since")

routes = web.RouteTableDef()


# -- helpers ---------------------------------------------------------------------------------


def ctx(request: web.Request) -> Context:
    """The emulator context of the app serving `request`."""
    return request.app[CONTEXT]


def base_url(request: web.Request) -> str:
    """``scheme://host[:port]`` as the client addressed us (nextLink/url must be reachable)."""
    return f"{request.scheme}://{request.host}"


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response with the service's content type."""
    return web.Response(
        body=_dumps(body).encode("utf-8"),
        status=status,
        headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})},
    )


def empty_response(status: int, headers: dict[str, str] | None = None) -> web.Response:
    """A response without body (201/202/204/200 writes)."""
    return web.Response(status=status, headers=headers)


def resource_headers(resource: dict[str, Any], data_service_id: str | None) -> dict[str, str]:
    """ETag (unquoted), Last-Modified (RFC 1123) and optionally DataServiceId."""
    headers = {"ETag": resource["eTag"]}
    when = parse_iso(resource["lastModified"])
    if when is not None:
        headers["Last-Modified"] = rfc1123(when)
    if data_service_id is not None:
        headers["DataServiceId"] = data_service_id
    return headers


def task_url(base: str, job_id: str, task_id: str) -> str:
    """Absolute URL of a task."""
    return f"{base}/jobs/{quote(job_id, safe='')}/tasks/{quote(task_id, safe='')}"


def job_url(base: str, job_id: str) -> str:
    """Absolute URL of a job."""
    return f"{base}/jobs/{quote(job_id, safe='')}"


def _int_param(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise _bad_query(name, raw, f"The value of {name} must be an integer.") from None


def _bad_query(name: str, value: str, reason: str) -> ApiError:
    return ApiError(
        "InvalidQueryParameterValue",
        [("QueryParameterName", name), ("QueryParameterValue", value), ("Reason", reason)],
    )


def check_timeout(request: web.Request) -> None:
    """Validate the optional ``timeout`` query parameter (its value is otherwise ignored)."""
    value = _int_param(request, "timeout")
    if value is not None and value < 1:
        raise ApiError(
            "OutOfRangeQueryParameterValue",
            [("QueryParameterName", "timeout"), ("QueryParameterValue", str(value))],
        )


def parse_select(request: web.Request, allowed: frozenset[str]) -> frozenset[str] | None:
    """The ``$select`` property names, validated against `allowed` (None: no $select)."""
    raw = request.query.get("$select")
    if raw is None:
        return None
    names = frozenset(n.strip() for n in raw.split(","))
    bad = sorted(n for n in names if n not in allowed)
    if bad or not names:
        raise _bad_query("$select", raw, f"Unknown property {bad[0] if bad else ''!r}.")
    return names


def parse_expand(request: web.Request) -> bool:
    """Whether ``$expand=stats`` was asked for (anything else is rejected)."""
    raw = request.query.get("$expand")
    if raw is None:
        return False
    names = {n.strip() for n in raw.split(",")}
    if names != {"stats"}:
        raise _bad_query("$expand", raw, "Only 'stats' can be expanded.")
    return True


def parse_maxresults(request: web.Request) -> int:
    """``maxresults`` (1..1000, default 1000)."""
    value = _int_param(request, "maxresults")
    if value is None:
        return MAX_RESULTS_DEFAULT
    if not 1 <= value <= MAX_RESULTS_DEFAULT:
        raise ApiError(
            "OutOfRangeQueryParameterValue",
            [
                ("QueryParameterName", "maxresults"),
                ("QueryParameterValue", str(value)),
                ("Reason", "maxresults must be between 1 and 1000."),
            ],
        )
    return value


def parse_filter(request: web.Request, fields: FieldMap) -> tuple[str | None, list[object]]:
    """Compile ``$filter`` (or nothing)."""
    raw = request.query.get("$filter")
    if raw is None:
        return None, []
    try:
        return compile_filter(raw, fields)
    except FilterError as exc:
        raise _bad_query("$filter", raw, str(exc)) from None


def encode_token(cursor: str) -> str:
    """An opaque continuation token for a cursor."""
    return base64.urlsafe_b64encode(_dumps({"v": 1, "after": cursor}).encode()).decode().rstrip("=")


def decode_token(request: web.Request) -> str | None:
    """The cursor from ``$skiptoken`` (None on the first page)."""
    raw = request.query.get("$skiptoken")
    if raw is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        after = data["after"]
        if not isinstance(after, str):
            raise TypeError
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise _bad_query("$skiptoken", raw, "The continuation token is not valid.") from None
    return after


def next_link(request: web.Request, cursor: str, limit: int) -> str:
    """Absolute URL of the next page, carrying api-version and every list parameter."""
    params: list[tuple[str, str]] = [
        ("api-version", request.query.get("api-version", API_VERSION)),
        ("maxresults", str(limit)),
    ]
    for name in ("$filter", "$select", "$expand", "timeout"):
        if name in request.query:
            params.append((name, request.query[name]))
    params.append(("$skiptoken", encode_token(cursor)))
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in params)
    return f"{base_url(request)}{request.rel_url.raw_path}?{query}"


def select_keys(body: dict[str, Any], select: frozenset[str] | None) -> dict[str, Any]:
    """Keep only the `select`ed keys (all when None)."""
    if select is None:
        return body
    return {k: v for k, v in body.items() if k in select}


def render_task(
    task: dict[str, Any],
    base: str,
    job_id: str,
    select: frozenset[str] | None = None,
    stats: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The CloudTask JSON of a stored task (url added, $select/$expand applied)."""
    out: dict[str, Any] = {"id": task["id"]}
    if "displayName" in task:
        out["displayName"] = task["displayName"]
    out["url"] = task_url(base, job_id, task["id"])
    out.update(task)
    if stats and now is not None:
        out["stats"] = task_stats(out, now)
    return select_keys(out, select)


def task_stats(task: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A `TaskStatistics` object derived from the task's times (simulated: no real usage)."""
    info = task.get("executionInfo") or {}
    created = parse_iso(task["creationTime"]) or now
    started = parse_iso(info["startTime"]) if info.get("startTime") else None
    ended = parse_iso(info["endTime"]) if info.get("endTime") else None
    wall = ((ended or now) - started).total_seconds() if started else 0.0
    wait = ((started or now) - created).total_seconds()
    return {
        "url": f"{task['url']}/stats" if "url" in task else "",
        "startTime": task["creationTime"],
        "lastUpdateTime": iso7(now),
        "userCPUTime": seconds_to_duration(0.0),
        "kernelCPUTime": seconds_to_duration(0.0),
        "wallClockTime": seconds_to_duration(max(wall, 0.0)),
        "readIOps": "0",
        "writeIOps": "0",
        "readIOGiB": 0.0,
        "writeIOGiB": 0.0,
        "waitTime": seconds_to_duration(max(wait, 0.0)),
    }


def render_job(
    job: dict[str, Any], base: str, select: frozenset[str] | None = None
) -> dict[str, Any]:
    """The CloudJob JSON of a stored job."""
    out: dict[str, Any] = {"id": job["id"]}
    if "displayName" in job:
        out["displayName"] = job["displayName"]
    out["usesTaskDependencies"] = job.get("usesTaskDependencies", False)
    out["url"] = job_url(base, job["id"])
    out.update(job)
    return select_keys(out, select)


def job_stats(job: dict[str, Any], counts: dict[str, int], now: datetime) -> dict[str, Any]:
    """A `JobStatistics` object: task counts are real, resource usage is simulated as zero."""
    created = parse_iso(job["creationTime"]) or now
    return {
        "url": f"{job['url']}/stats",
        "startTime": job["creationTime"],
        "lastUpdateTime": iso7(now),
        "userCPUTime": seconds_to_duration(0.0),
        "kernelCPUTime": seconds_to_duration(0.0),
        "wallClockTime": seconds_to_duration(max((now - created).total_seconds(), 0.0)),
        "readIOps": "0",
        "writeIOps": "0",
        "readIOGiB": 0.0,
        "writeIOGiB": 0.0,
        "numSucceededTasks": str(counts["succeeded"]),
        "numFailedTasks": str(counts["failed"]),
        "numTaskRetries": str(counts["retries"]),
        "waitTime": seconds_to_duration(0.0),
    }


def subtasks_of(task: dict[str, Any], base: str, job: dict[str, Any]) -> list[dict[str, Any]]:
    """The `SubtaskInformation` list of a multi-instance task, mirroring its primary's state."""
    settings = task.get("multiInstanceSettings")
    if not settings:
        return []
    count = int(settings.get("numberOfInstances", 1)) - 1
    info = task.get("executionInfo") or {}
    state = task["state"]
    out = []
    for number in range(1, count + 1):
        sub: dict[str, Any] = {"id": number}
        if state in ("active", "preparing"):
            sub["state"] = "preparing"
            sub["stateTransitionTime"] = task["stateTransitionTime"]
        else:
            sub["startTime"] = info.get("startTime", task["stateTransitionTime"])
            if state == "completed":
                sub["endTime"] = info.get("endTime", task["stateTransitionTime"])
            sub["state"] = "running" if state == "running" else "completed"
            sub["stateTransitionTime"] = task["stateTransitionTime"]
            if state == "completed":
                sub["previousState"] = "running"
                sub["previousStateTransitionTime"] = sub["startTime"]
                if "exitCode" in info:
                    sub["exitCode"] = info["exitCode"]
                if "result" in info:
                    sub["result"] = info["result"]
                if "failureInfo" in info:
                    sub["failureInfo"] = info["failureInfo"]
            pool_id = str(job.get("poolInfo", {}).get("poolId") or "autopool")
            node = lifecycle.node_info(base, pool_id, job["id"], f"{task['id']}/{number}")
            sub["nodeInfo"] = node
        out.append(sub)
    return out


def _condition(request: web.Request) -> tuple[str, str] | None:
    present = [(h, request.headers[h]) for h in _CONDITION_HEADERS if h in request.headers]
    if len(present) > 1:
        raise ApiError("MultipleConditionHeadersNotSupported")
    if not present:
        return None
    name, value = present[0]
    if name in ("If-Modified-Since", "If-Unmodified-Since") and parse_rfc1123(value) is None:
        raise ApiError("InvalidHeaderValue", [("HeaderName", name), ("HeaderValue", value)])
    return present[0]


def condition_checker(request: web.Request, *, read: bool) -> Callable[[dict[str, Any]], None]:
    """A function that raises ConditionNotMet (304 on reads, 412 on writes) for a resource.

    Header syntax is checked now; the resource is checked when the returned function is called
    (inside the store's transaction for writes, so the check and the write are atomic).
    """
    cond = _condition(request)

    def check(resource: dict[str, Any]) -> None:
        if cond is None:
            return
        name, value = cond
        etag = resource["eTag"]
        modified = parse_iso(resource["lastModified"])
        assert modified is not None
        modified = modified.replace(microsecond=0)
        ok: bool
        # Tolerate clients that quote ETags (HTTP style); the service's ETags are unquoted.
        wanted = value.strip().removeprefix("W/").strip('"')
        if name == "If-Match":
            ok = wanted in ("*", etag)
        elif name == "If-None-Match":
            ok = wanted not in ("*", etag)
        else:
            since = parse_rfc1123(value)
            assert since is not None
            ok = modified > since if name == "If-Modified-Since" else modified <= since
        if not ok:
            raise ApiError(
                "ConditionNotMet",
                status=304 if read else 412,
                headers=resource_headers(resource, None),
            )

    return check


async def read_json(request: web.Request) -> object:
    """Read the body (bounded by the body limit) and decode it as JSON.

    Raises:
        ApiError: RequestBodyTooLarge (413) or InvalidRequestBody (400).
    """
    limit = ctx(request).faults.config.body_limit
    length = request.content_length
    if length is not None and length >= limit:
        raise too_large(request, limit)
    # Read with a cap, so a chunked body or a lying Content-Length is never read whole.
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size >= limit:
            raise too_large(request, limit)
        chunks.append(chunk)
    data = b"".join(chunks)
    try:
        return json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError("InvalidRequestBody", [("Reason", "The body is not valid JSON.")]) from None


def _reject_constant(name: str) -> object:
    # NaN/Infinity are not JSON; accepting them would make our own responses invalid JSON.
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def too_large(request: web.Request, limit: int) -> ApiError:
    """A 413 RequestBodyTooLarge, counted; the connection is closed after the answer."""
    ctx(request).faults.count("body_too_large")
    request[CLOSE_CONNECTION] = True
    return ApiError("RequestBodyTooLarge", [("MaxLimit", str(limit))])


# -- jobs ------------------------------------------------------------------------------------


@routes.post("/jobs")
async def job_add(request: web.Request) -> web.Response:
    """Job add → 201."""
    check_timeout(request)
    c = ctx(request)
    job = await c.store.add_job(new_job(await read_json(request)), c.clock.now())
    url = job_url(base_url(request), job["id"])
    headers = resource_headers(job, url)
    headers["Location"] = url
    return empty_response(201, headers)


@routes.get("/jobs")
async def job_list(request: web.Request) -> web.Response:
    """Job list → 200 (paged)."""
    check_timeout(request)
    where, params = parse_filter(request, JOB_FIELDS)
    select = parse_select(request, JOB_PROPERTIES)
    limit = parse_maxresults(request)
    after = decode_token(request)
    jobs, cursor = await ctx(request).store.list_jobs(where, params, after, limit)
    base = base_url(request)
    body: dict[str, Any] = {
        "odata.metadata": f"{base}/$metadata#jobs",
        "value": [render_job(j, base, select) for j in jobs],
    }
    if cursor is not None:
        body["odata.nextLink"] = next_link(request, cursor, limit)
    return json_response(body)


@routes.get("/jobs/{job_id}")
async def job_get(request: web.Request) -> web.Response:
    """Job get → 200."""
    check_timeout(request)
    select = parse_select(request, JOB_PROPERTIES)
    stats = parse_expand(request)
    check = condition_checker(request, read=True)
    c = ctx(request)
    job = await c.store.get_job(request.match_info["job_id"])
    check(job)
    base = base_url(request)
    rendered = render_job(job, base)
    if stats:
        counts = await c.store.job_task_counts(job["id"])
        rendered["stats"] = job_stats(rendered, counts, c.clock.now())
    body = {
        "odata.metadata": f"{base}/$metadata#jobs/@Element",
        **select_keys(rendered, select),
    }
    return json_response(body, headers=resource_headers(job, job_url(base, job["id"])))


@routes.delete("/jobs/{job_id}")
async def job_delete(request: web.Request) -> web.Response:
    """Job delete → 202; the job is ``deleting`` and disappears with its tasks shortly after."""
    check_timeout(request)
    c = ctx(request)
    check = condition_checker(request, read=False)
    now = c.clock.now()

    def mark(job: dict[str, Any]) -> dict[str, Any]:
        check(job)
        if job["state"] == "deleting":
            raise ApiError("JobBeingDeleted")
        lifecycle.transition(job, "deleting", iso7(now))
        job["eTag"] = c.store.next_etag(now)
        job["lastModified"] = iso7(now)
        return job

    job = await c.store.modify_job(request.match_info["job_id"], mark)
    assert job is not None
    schedule_purge(c, job["id"])
    return empty_response(202)


def schedule_purge(c: Context, job_id: str) -> None:
    """Remove a deleting job and its tasks after the configured delay (in the background)."""

    async def purge() -> None:
        if c.job_delete_delay > 0:
            await asyncio.sleep(c.job_delete_delay)
        with contextlib.suppress(ApiError):  # already gone (e.g. reset)
            await c.store.modify_job(job_id, lambda _job: None)

    task = asyncio.create_task(purge())
    c.background.add(task)
    task.add_done_callback(c.background.discard)


# -- tasks -----------------------------------------------------------------------------------


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
    results = await c.store.add_tasks(request.match_info["job_id"], [raw], c.clock.now(), [False])
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
    results = await c.store.add_tasks(job_id, items, now, server_errors)
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
    where, params = parse_filter(request, TASK_FIELDS)
    select = parse_select(request, TASK_PROPERTIES)
    stats = parse_expand(request)
    limit = parse_maxresults(request)
    after = decode_token(request)
    job_id = request.match_info["job_id"]
    tasks, cursor = await c.store.list_tasks(job_id, where, params, after, limit)
    base = base_url(request)
    now = c.clock.now()
    body: dict[str, Any] = {
        "odata.metadata": f"{base}/$metadata#tasks",
        "value": [render_task(t, base, job_id, select, stats, now) for t in tasks],
    }
    if cursor is not None:
        body["odata.nextLink"] = next_link(request, cursor, limit)
    return json_response(body)


@routes.get("/jobs/{job_id}/tasks/{task_id}")
async def task_get(request: web.Request) -> web.Response:
    """Task get → 200."""
    check_timeout(request)
    c = ctx(request)
    select = parse_select(request, TASK_PROPERTIES)
    stats = parse_expand(request)
    check = condition_checker(request, read=True)
    job, task = await c.store.get_task(request.match_info["job_id"], request.match_info["task_id"])
    check(task)
    base = base_url(request)
    rendered = render_task(task, base, job["id"], select, stats, c.clock.now())
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
    """Task delete → 200."""
    check_timeout(request)
    await _modify(request, lambda job, task, stamp: None)
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
