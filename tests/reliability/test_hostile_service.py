"""The client against a hostile or broken service (or a proxy in between).

A small aiohttp server on 127.0.0.1 answers with what a real service never should: JSON nested
100,000 deep, invalid UTF-8, an absurd Retry-After, a truncated body, a response that stalls
after its headers. Whatever comes back, the client raises one of its own exceptions (never a
RecursionError or a raw aiohttp/pydantic error), retries only what is retryable, and returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from batchtasks import (
    AddCollectionError,
    BatchClient,
    BatchConnectionError,
    BatchServiceError,
    RetryPolicy,
    SharedKeyCredential,
    Timeout,
)

DEEP = b"[" * 100_000 + b"]" * 100_000
JSON = "application/json;odata=minimalmetadata"

Behaviour = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _fixed(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=body, headers={"Content-Type": JSON, **(headers or {})})


BEHAVIOURS: dict[str, Behaviour] = {
    "deep-200": lambda r: _fixed(200, DEEP),
    "deep-value-200": lambda r: _fixed(200, b'{"value":' + DEEP + b"}"),
    "deep-500": lambda r: _fixed(500, DEEP),
    "deep-code-400": lambda r: _fixed(400, b'{"code":' + DEEP + b"}"),
    "bad-utf8-200": lambda r: _fixed(200, b'{"id":"\xff\xfe"}'),
    "bad-utf8-409": lambda r: _fixed(409, b'{"code":"\xff"}'),
    "huge-int-200": lambda r: _fixed(200, b'{"value":[' + b"9" * 5000 + b"]}"),
    "nan-200": lambda r: _fixed(200, b'{"id":NaN}'),
    "absurd-retry-after-503": lambda r: _fixed(
        503, b'{"code":"ServerBusy"}', {"Retry-After": "9" * 5000}
    ),
    "date-retry-after-429": lambda r: _fixed(
        429, b'{"code":"TooManyRequests"}', {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}
    ),
    "html-502": lambda r: web.Response(status=502, text="<html>bad gateway</html>"),
    "wrong-shape-200": lambda r: _fixed(200, b'{"value":"not a list"}'),
    "huge-message-500": lambda r: _fixed(
        500, b'{"code":"X","message":{"value":"' + b"a" * 2_000_000 + b'"}}'
    ),
}


@pytest_asyncio.fixture
async def hostile() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A server whose behaviour each test picks (``state["mode"]``); counts requests."""
    state: dict[str, Any] = {"mode": "deep-200", "requests": 0}

    async def handler(request: web.Request) -> web.StreamResponse:
        state["requests"] += 1
        await request.read()
        mode = state["mode"]
        if mode == "truncated":
            resp = web.StreamResponse(status=200, headers={"Content-Type": JSON})
            resp.content_length = 1000
            await resp.prepare(request)
            await resp.write(b'{"id":"t')
            request.transport.close()  # type: ignore[union-attr]
            return resp
        if mode == "stall-after-headers":
            resp = web.StreamResponse(status=200, headers={"Content-Type": JSON})
            resp.content_length = 1000
            await resp.prepare(request)
            await asyncio.sleep(3600)
            return resp
        return await BEHAVIOURS[mode](request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", state
    finally:
        await runner.cleanup()


async def _no_sleep(_: float) -> None:
    return None


async def raised(call: Callable[[], Awaitable[Any]]) -> BaseException | None:
    try:
        await asyncio.wait_for(call(), timeout=60)
    except Exception as exc:
        return exc
    return None


def client_for(url: str) -> BatchClient:
    policy = RetryPolicy(max_attempts=3, sleep=_no_sleep, retry_after_cap=0.01)
    return BatchClient(
        url,
        SharedKeyCredential("acct", "a2V5"),
        retry_policy=policy,
        timeout=Timeout(connect=2, read=0.5, total=2),
    )


@pytest.mark.parametrize("mode", [*BEHAVIOURS, "truncated", "stall-after-headers"])
async def test_every_hostile_answer_becomes_a_batchtasks_error(
    hostile: tuple[str, dict[str, Any]], mode: str
) -> None:
    # Regression (deep-*): JSON nested beyond Python's recursion limit escaped as RecursionError
    # from the error mapping and from success-body decoding.
    url, state = hostile
    state["mode"] = mode
    async with client_for(url) as client:
        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: client.tasks.get("j", "t"),
            lambda: client.jobs.get("j"),
            lambda: client.tasks.list("j").by_page().__anext__(),
        ]
        for call in calls:
            exc = await raised(call)
            # Tolerant parsing may accept an odd but well-formed body (a page without `value`,
            # a task without fields); anything but the client's own errors escaping is the bug.
            assert exc is None or isinstance(exc, (BatchServiceError, BatchConnectionError)), repr(
                exc
            )[:300]
        with pytest.raises(AddCollectionError) as caught:
            await asyncio.wait_for(
                client.tasks.add_collection(
                    "j", [{"id": f"t{i}", "commandLine": "x"} for i in range(5)], max_attempts=2
                ),
                timeout=60,
            )
        result = caught.value.result
        assert result.total == 5
        assert not result.succeeded
    assert state["requests"] >= 4
