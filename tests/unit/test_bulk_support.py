"""A precise in-process fake of the add_collection endpoint for the bulk engine's tests.

It stores tasks (IDs compared ignoring case, like the service), answers in reverse order (as the
spec's Complex example does), and injects request-level faults from a plan and per-task
`servererror`s from a callback. `stored_counts` lets tests prove "in the service exactly once".
No tests live here.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import Callable
from typing import Any

from batchtasks._private.constants import DEFAULT_BODY_LIMIT
from batchtasks._private.errors import BatchConnectionError, BatchTimeoutError, error_from_response
from batchtasks._private.retry import RetryPolicy


def service_error(status: int, code: str, *, retry_after: float | None = None, **values: str):
    body: dict[str, Any] = {
        "code": code,
        "message": {"lang": "en-US", "value": f"{code}\nRequestId:x"},
    }
    if values:
        body["values"] = [{"key": k, "value": v} for k, v in values.items()]
    headers = {"request-id": "rid"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return error_from_response(status, headers, json.dumps(body).encode())


class FakeService:
    """Callable as a `ChunkSender`.

    plan: request-level actions consumed one per request ("ok" when empty):
        "ok", "500", "503", "429:<secs>", "408", "404", "400",
        "drop-before" (connection refused, nothing processed),
        "drop-after" (processed, then the connection dropped),
        "timeout-after" (processed, then a timeout),
        "500-after" (processed, then a 500 with no per-task results),
        "partial" (processed, but the response omits the last task's result).
    task_fault(task_id, seen) -> "servererror" | None, where `seen` counts earlier requests that
        carried this ID.
    """

    def __init__(
        self,
        *,
        limit: int = DEFAULT_BODY_LIMIT,
        send_max_limit: bool = True,
        plan: list[str] | None = None,
        default_action: str = "ok",
        task_fault: Callable[[str, int], str | None] | None = None,
        existing: tuple[str, ...] = (),
        status_case: Callable[[str], str] = str,
        delay: float = 0.0,
    ) -> None:
        self.limit = limit
        self.send_max_limit = send_max_limit
        self.plan = collections.deque(plan or [])
        self.default_action = default_action
        self.task_fault = task_fault
        self.status_case = status_case
        self.delay = delay
        self.store: dict[str, dict[str, Any]] = {k.lower(): {"id": k} for k in existing}
        self.stored_counts: collections.Counter[str] = collections.Counter()
        self.seen: collections.Counter[str] = collections.Counter()
        #: IDs carried by a request whose outcome the client cannot know (5xx, drop, timeout,
        #: or the result it left out)
        self.doubted: set[str] = set()
        self.requests: list[list[str]] = []
        self.sizes: list[int] = []
        self.statuses: collections.Counter[str] = collections.Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.gate: asyncio.Event | None = None
        #: the `time_left` each request was given (what remained of the call's deadline)
        self.time_left: list[float | None] = []

    async def __call__(
        self, job_id: str, body: bytes, *, time_left: float | None = None
    ) -> list[dict[str, Any]]:
        self.time_left.append(time_left)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.delay:
                await asyncio.sleep(self.delay)
            else:
                await asyncio.sleep(0)
            return self._handle(body)
        finally:
            self.in_flight -= 1

    def _handle(self, body: bytes) -> list[dict[str, Any]]:
        self.sizes.append(len(body))
        tasks = json.loads(body)["value"]
        ids = [t["id"] for t in tasks]
        self.requests.append(ids)
        assert len(tasks) <= 100, "more than 100 tasks in one request"
        if len(body) >= self.limit:
            self.statuses["413"] += 1
            values = {"MaxLimit": str(self.limit)} if self.send_max_limit else {}
            raise service_error(413, "RequestBodyTooLarge", **values)
        action = self.plan.popleft() if self.plan else self.default_action
        self.statuses[action] += 1
        if action in ("500", "503", "drop-after", "timeout-after", "500-after"):
            self.doubted.update(ids)
        elif action == "partial" and ids:
            self.doubted.add(ids[-1])  # results are reversed, then the first one dropped
        if action == "drop-before":
            raise BatchConnectionError("connection refused", request_sent=False)
        if action in ("500", "503", "408", "404", "400") or action.startswith("429"):
            status = int(action[:3])
            code = {
                500: "InternalError",
                503: "ServerBusy",
                408: "RequestTimeout",
                404: "JobNotFound",
                400: "InvalidRequestBody",
                429: "TooManyRequests",
            }[status]
            retry_after = float(action[4:]) if action.startswith("429:") else None
            raise service_error(status, code, retry_after=retry_after)
        results = [self._add(t) for t in tasks]
        results.reverse()
        if action == "drop-after":
            raise BatchConnectionError("connection reset by peer", request_sent=True)
        if action == "timeout-after":
            raise BatchTimeoutError("no answer in time")
        if action == "500-after":
            raise service_error(500, "InternalError")
        if action == "partial":
            results = results[1:]
        return results

    def _add(self, task: dict[str, Any]) -> dict[str, Any]:
        task_id = task["id"]
        key = task_id.lower()
        seen = self.seen[key]
        self.seen[key] += 1
        if self.task_fault is not None and self.task_fault(task_id, seen) == "servererror":
            return {
                "taskId": task_id,
                "status": self.status_case("servererror"),
                "error": {"code": "InternalError", "message": {"value": "try again"}},
            }
        if key in self.store:
            return {
                "taskId": task_id,
                "status": self.status_case("clienterror"),
                "error": {
                    "code": "TaskExists",
                    "message": {"value": "The specified task already exists."},
                },
            }
        self.store[key] = task
        self.stored_counts[key] += 1
        return {
            "taskId": task_id,
            "status": self.status_case("success"),
            "eTag": "0x1",
            "lastModified": "2024-01-01T00:00:00.1234567Z",
            "location": f"https://x/jobs/j/tasks/{task_id}",
        }


class SleepRecorder:
    """An injectable `RetryPolicy.sleep` that records delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def fast_policy(sleep: SleepRecorder | None = None, **kw: Any) -> RetryPolicy:
    """A RetryPolicy with tiny deterministic backoff and a recording fake sleep."""
    options: dict[str, Any] = {"backoff_initial": 0.01, "backoff_max": 0.1, "jitter": 0.0}
    options.update(kw)
    return RetryPolicy(sleep=sleep or SleepRecorder(), **options)


def tasks(n: int, prefix: str = "t", pad: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{i}", "commandLine": "echo " + "x" * pad} for i in range(n)]
