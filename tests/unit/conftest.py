"""Fixtures for the client-core unit tests: the §9.3 test account, a recording fake sleep, and
the official SDK's Shared Key signer as an independent oracle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import pytest
from aiohttp import web

#: Fact sheet §9.3 common inputs.
VECTOR_ACCOUNT = "myaccount"
VECTOR_KEY = (
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="
)
VECTOR_DATE = "Tue, 01 Oct 2024 12:00:00 GMT"


class FakeSleep:
    """An injectable `sleep` that records the requested delays and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


def official_authorization(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    account: str = VECTOR_ACCOUNT,
    key: str = VECTOR_KEY,
) -> str:
    """The Authorization value azure-batch 14.2.0 computes for this request (via `requests`)."""
    import requests
    from azure.batch.batch_auth import SharedKeyAuth

    prepared = requests.Request(method, url, headers=dict(headers), data=body).prepare()
    SharedKeyAuth("Authorization", account, key)(prepared)
    return str(prepared.headers["Authorization"])


# --- a loopback capture server (real aiohttp server on 127.0.0.1:0) -------------------------


@dataclass
class Captured:
    method: str
    raw_path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class CaptureServer:
    url: str = ""
    requests: list[Captured] = field(default_factory=list)
    respond: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None


@pytest.fixture
async def capture_server() -> AsyncIterator[CaptureServer]:
    server = CaptureServer()

    async def handler(request: web.Request) -> web.StreamResponse:
        server.requests.append(
            Captured(
                method=request.method,
                raw_path=request.raw_path,
                headers=[
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers
                ],
                body=await request.read(),
            )
        )
        if server.respond is not None:
            return await server.respond(request)
        return web.Response(status=200, body=b"{}", headers={"request-id": "rid-1"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()
        await asyncio.sleep(0)
