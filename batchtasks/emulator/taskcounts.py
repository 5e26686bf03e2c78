"""The job task-counts route: ``GET /jobs/{jobId}/taskcounts`` (Job_GetTaskCounts).

Answers a ``TaskCountsResult`` exactly as the REST spec defines it and its example
``JobGetTaskCounts.json`` shows: ``taskCounts`` and ``taskSlotCounts``, each with ``active``,
``running`` (``preparing`` counted as running), ``completed``, ``succeeded`` and ``failed``.
The emulator's counts are always exact (the service's may lag behind a list query).

Must not build SQL (the store counts) nor verify auth or inject faults (the middleware does).
"""

from __future__ import annotations

from aiohttp import web

from .protocol import base_url, check_timeout, ctx, json_response

routes = web.RouteTableDef()

_COUNT_NAMES = ("active", "running", "completed", "succeeded", "failed")


@routes.get("/jobs/{job_id}/taskcounts")
async def job_get_task_counts(request: web.Request) -> web.Response:
    """Job get_task_counts → 200 with a TaskCountsResult; a missing job → 404 JobNotFound."""
    check_timeout(request)
    counts = await ctx(request).store.job_task_counts(request.match_info["job_id"])
    return json_response(
        {
            "odata.metadata": f"{base_url(request)}/$metadata#taskcountsresult/@Element",
            "taskCounts": {name: counts[name] for name in _COUNT_NAMES},
            "taskSlotCounts": {name: counts["slots"][name] for name in _COUNT_NAMES},
        }
    )
