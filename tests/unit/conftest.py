"""Fixtures for the client-core unit tests: the §9.3 test account, a recording fake sleep, and
the official SDK's Shared Key signer as an independent oracle."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from batchtasks import BatchClient, RetryPolicy, SharedKeyCredential

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


# --- aioresponses-backed fake service for operation tests ----------------------------------

BASE_URL = "https://myaccount.westus.batch.azure.com"


@dataclass
class Sent:
    """One request as the client handed it to aiohttp (URL query normalised by aioresponses)."""

    method: str
    url: URL
    headers: dict[str, str]
    body: bytes | None

    @property
    def query(self) -> dict[str, str]:
        return dict(self.url.query)

    def json(self) -> object:
        assert self.body is not None
        return json.loads(self.body)

    def expected_authorization(self) -> str:
        return official_authorization(self.method, str(self.url), self.headers, self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    exception: BaseException | None = None


class CompatClientResponse(ClientResponse):
    """aioresponses 0.7.9 builds responses without aiohttp >= 3.12's `stream_writer` argument.

    Supplying a stand-in (only `output_size` is read, once the request is "sent") keeps the
    mocked responses constructible; nothing else about the response changes.
    """

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


class FakeService:
    """Answers every request from a queue of `Reply`s (the last one repeats) and records it."""

    def __init__(self, mocked: aioresponses) -> None:
        self.sent: list[Sent] = []
        self.replies: list[Reply] = [Reply()]
        pattern = re.compile(r"^https://myaccount\.westus\.batch\.azure\.com/.*")
        for method in ("GET", "HEAD", "POST", "PUT", "DELETE"):
            mocked.add(
                pattern,
                method,
                callback=self._callback_for(method),
                repeat=True,
                response_class=CompatClientResponse,
            )

    def reply(self, *replies: Reply) -> None:
        self.replies = list(replies)

    def _callback_for(self, method: str) -> Callable[..., CallbackResult]:
        def callback(url: URL, **kwargs: object) -> CallbackResult:
            return self._answer(method, url, kwargs)

        return callback

    def _answer(self, method: str, url: URL, kwargs: Mapping[str, object]) -> CallbackResult:
        headers = dict(kwargs.get("headers") or {})  # type: ignore[call-overload]
        data = kwargs.get("data")
        self.sent.append(Sent(method, url, headers, data))  # type: ignore[arg-type]
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if reply.exception is not None:
            raise reply.exception
        headers_out = {"request-id": f"rid-{len(self.sent)}", **reply.headers}
        return CallbackResult(
            method=method,  # the response knows its request's method (a HEAD has no body)
            status=reply.status,
            body=reply.body,
            headers=headers_out,
            response_class=CompatClientResponse,
        )


@pytest.fixture
def service() -> Iterator[FakeService]:
    with aioresponses() as mocked:
        yield FakeService(mocked)


@pytest.fixture
async def mocked_client(service: FakeService) -> AsyncIterator[BatchClient]:
    """A `BatchClient` on the §9.3 account against `service`, with one attempt per call."""

    async def no_sleep(_: float) -> None:
        return None

    policy = RetryPolicy(max_attempts=1, sleep=no_sleep)
    credential = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    async with BatchClient(BASE_URL, credential, retry_policy=policy) as client:
        yield client
