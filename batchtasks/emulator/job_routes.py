"""Route handlers of the Batch Job operations: add, list, get, replace (PUT), update (PATCH),
delete.

Each handler: parse query/headers/body → validate → one store call → shape the response for the
request's api-version. Errors are raised as `ApiError` and rendered by the middleware in
`app.py`. Must not verify auth or inject faults (the middleware does), and must not build SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from aiohttp import web

from . import lifecycle
from .context import Context
from .errors import ApiError
from .filters import JOB_FIELDS
from .formats import iso7
from .job_validation import job_patch, job_replace, new_job
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
from .render import JOB_PROPERTIES, job_stats, job_url, render_job, select_keys
from .versions import prune, undefined_top_level

job_routes = web.RouteTableDef()


def _select(request: web.Request, version: str) -> frozenset[str] | None:
    return parse_select(request, JOB_PROPERTIES - undefined_top_level("job", version))


@job_routes.post("/jobs")
async def job_add(request: web.Request) -> web.Response:
    """Job add → 201."""
    check_timeout(request)
    c = ctx(request)
    job = new_job(await read_json(request), version=api_version(request))
    job = await c.store.add_job(job, c.clock.now())
    url = job_url(base_url(request), job["id"])
    headers = resource_headers(job, url)
    headers["Location"] = url
    return empty_response(201, headers)


@job_routes.get("/jobs")
async def job_list(request: web.Request) -> web.Response:
    """Job list → 200 (paged)."""
    check_timeout(request)
    version = api_version(request)
    where, params = parse_filter(request, JOB_FIELDS)
    select = _select(request, version)
    limit = parse_maxresults(request)
    after = decode_token(request)
    jobs, cursor = await ctx(request).store.list_jobs(where, params, after, limit)
    base = base_url(request)
    body: dict[str, Any] = {
        "odata.metadata": f"{base}/$metadata#jobs",
        "value": [render_job(prune("job", j, version), base, select) for j in jobs],
    }
    if cursor is not None:
        body["odata.nextLink"] = next_link(request, cursor, limit)
    return json_response(body)


@job_routes.get("/jobs/{job_id}")
async def job_get(request: web.Request) -> web.Response:
    """Job get → 200."""
    check_timeout(request)
    version = api_version(request)
    select = _select(request, version)
    stats = parse_expand(request)
    check = condition_checker(request, read=True)
    c = ctx(request)
    job = await c.store.get_job(request.match_info["job_id"])
    check(job)
    base = base_url(request)
    rendered = render_job(prune("job", job, version), base)
    if stats:
        counts = await c.store.job_task_counts(job["id"])
        rendered["stats"] = job_stats(rendered, counts, c.clock.now())
    body = {
        "odata.metadata": f"{base}/$metadata#jobs/@Element",
        **select_keys(rendered, select),
    }
    return json_response(body, headers=resource_headers(job, job_url(base, job["id"])))


async def _change(
    request: web.Request, apply: Callable[[object, dict[str, Any], str], dict[str, Any]]
) -> web.Response:
    """Replace or update a job atomically (conditional headers honoured) → 200."""
    check_timeout(request)
    version = api_version(request)
    raw = await read_json(request)
    c = ctx(request)
    check = condition_checker(request, read=False)
    now = c.clock.now()

    def change(job: dict[str, Any]) -> dict[str, Any]:
        check(job)
        if job["state"] == "deleting":
            raise ApiError("JobBeingDeleted")
        if job["state"] in ("completed", "terminating"):
            raise ApiError("JobCompleted" if job["state"] == "completed" else "JobBeingTerminated")
        new = apply(raw, job, version)
        new["eTag"] = c.store.next_etag(now)
        new["lastModified"] = iso7(now)
        return new

    job = await c.store.modify_job(request.match_info["job_id"], change)
    assert job is not None
    return empty_response(200, resource_headers(job, job_url(base_url(request), job["id"])))


@job_routes.put("/jobs/{job_id}")
async def job_replace_route(request: web.Request) -> web.Response:
    """Job update (replace, PUT) → 200: omitted changeable properties return to defaults."""
    return await _change(request, lambda raw, job, version: job_replace(raw, job, version=version))


@job_routes.patch("/jobs/{job_id}")
async def job_update_route(request: web.Request) -> web.Response:
    """Job patch (update, PATCH) → 200: only the properties carried change."""
    return await _change(request, lambda raw, job, version: job_patch(raw, job, version=version))


@job_routes.delete("/jobs/{job_id}")
async def job_delete(request: web.Request) -> web.Response:
    """Job delete → 202; the job is ``deleting`` and disappears with its tasks shortly after.

    ``force`` (2024-07-01.20.0 on) needs no handling: the emulated job has nothing to wait for.
    """
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
            await asyncio.to_thread(c.nodes.remove_job, job_id)

    task = asyncio.create_task(purge())
    c.background.add(task)
    task.add_done_callback(c.background.discard)
