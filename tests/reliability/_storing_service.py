"""A small add-task service on 127.0.0.1:0 that stores what it is sent and can spoil its answers.

It implements just enough of the Task API for writes — `addtaskcollection`, `POST .../tasks` and
`POST .../terminate` — with a store (IDs compared ignoring case, `TaskExists` for a known ID), so
tests can prove that every task is in the job exactly once. A test decides, per request, how the
answer is spoiled *after* the request was applied: the way a proxy that blanks, replaces or cuts
a body would (`SPOILERS`), or by never finishing the answer (`"trickle"`, `"stall"`). No signature
is checked. No tests live here.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

JSON = "application/json;odata=minimalmetadata"

#: How a success answer is spoiled: (status, content type, body) from the correct body.
SPOILERS: dict[str, Callable[[bytes], tuple[int, str, bytes]]] = {
    "blank": lambda good: (200, JSON, b""),
    "html": lambda good: (200, "text/html", b"<html><body>502 Bad Gateway</body></html>"),
    "truncated": lambda good: (200, JSON, good[: len(good) // 2]),
    "value-not-a-list": lambda good: (200, JSON, b'{"value":{"status":"success"}}'),
    "201": lambda good: (201, JSON, good),
    "202": lambda good: (202, JSON, b""),
    "204": lambda good: (204, JSON, b""),
}


class StoringService:
    """State of the fake service; `spoil(kind, request_number)` picks the answer's fate.

    `spoil` gets the request kind (``"collection"``, ``"add"``, ``"terminate"``) and the 1-based
    number of that kind's request, and returns None (answer correctly), a `SPOILERS` key,
    ``"trickle"`` (headers, then one byte a second, never complete) or ``"stall"`` (no answer
    for an hour).
    """

    def __init__(self) -> None:
        self.spoil: Callable[[str, int], str | None] = lambda kind, number: None
        self.stored: collections.Counter[str] = collections.Counter()
        self.received: collections.Counter[str] = collections.Counter()
        self.requests: collections.Counter[str] = collections.Counter()
        self.url = ""

    def _add(self, task: dict[str, Any]) -> dict[str, Any]:
        task_id = task["id"]
        key = task_id.lower()
        self.received[key] += 1
        if self.stored[key]:
            return {
                "taskId": task_id,
                "status": "clienterror",
                "error": {"code": "TaskExists", "message": {"value": "The task exists."}},
            }
        self.stored[key] += 1
        return {"taskId": task_id, "status": "success", "eTag": "0x1"}

    async def _answer(
        self, request: web.Request, kind: str, status: int, body: bytes
    ) -> web.StreamResponse:
        self.requests[kind] += 1
        fate = self.spoil(kind, self.requests[kind])
        if fate is None:
            return web.Response(
                status=status, body=body, headers={"Content-Type": JSON} if body else {}
            )
        if fate == "stall":
            await asyncio.sleep(3600)
        if fate == "trickle":
            response = web.StreamResponse(status=200, headers={"Content-Type": JSON})
            response.content_length = 1_000_000
            await response.prepare(request)
            for byte in b'{"value":[' + b" " * 999_990:
                await response.write(bytes([byte]))
                await asyncio.sleep(1.0)
            return response
        status, content_type, spoiled = SPOILERS[fate](body)
        return web.Response(status=status, body=spoiled, headers={"Content-Type": content_type})

    async def collection(self, request: web.Request) -> web.StreamResponse:
        tasks = json.loads(await request.read())["value"]
        results = [self._add(task) for task in tasks]
        return await self._answer(
            request, "collection", 200, json.dumps({"value": results}).encode()
        )

    async def add(self, request: web.Request) -> web.StreamResponse:
        result = self._add(json.loads(await request.read()))
        if result["status"] != "success":
            body = {"code": "TaskExists", "message": {"value": "The specified task exists."}}
            headers = {"Content-Type": JSON}
            return web.Response(status=409, body=json.dumps(body).encode(), headers=headers)
        return await self._answer(request, "add", 201, b"")

    async def terminate(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        return await self._answer(request, "terminate", 204, b"")


@asynccontextmanager
async def storing_service() -> AsyncIterator[StoringService]:
    """Serve a `StoringService` on 127.0.0.1 (a free port) until the block ends."""
    service = StoringService()
    app = web.Application()
    app.router.add_post("/jobs/{job}/addtaskcollection", service.collection)
    app.router.add_post("/jobs/{job}/tasks", service.add)
    app.router.add_post("/jobs/{job}/tasks/{task}/terminate", service.terminate)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    service.url = f"http://127.0.0.1:{port}"
    try:
        yield service
    finally:
        await runner.cleanup()
