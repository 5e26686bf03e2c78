"""`client.tasks.add_collection` through the real pipeline and transport (aioresponses).

Checks the seam: the 413 body's MaxLimit detail, a Retry-After header and aiohttp connection
failures reach the engine as the right errors, and the engine reacts as documented.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from batchtasks import BatchClient, Outcome, RetryPolicy, SharedKeyCredential
from tests.unit.conftest import BASE_URL, VECTOR_ACCOUNT, VECTOR_KEY, CompatClientResponse


class Recorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Service:
    """Answers add_collection requests from their bodies; `plan` injects one fault per request."""

    def __init__(self, mocked: aioresponses, plan: list[str], limit: int = 1 << 20) -> None:
        self.plan = plan
        self.limit = limit
        self.store: set[str] = set()
        self.bodies: list[bytes] = []
        self.urls: list[URL] = []
        mocked.post(
            re.compile(r"^https://myaccount\.westus\.batch\.azure\.com/jobs/j/addtaskcollection.*"),
            callback=self._answer,
            repeat=True,
            response_class=CompatClientResponse,
        )

    def _answer(self, url: URL, **kwargs: Any) -> CallbackResult:
        body: bytes = kwargs["data"]
        self.bodies.append(body)
        self.urls.append(url)
        action = self.plan.pop(0) if self.plan else "ok"
        if len(body) >= self.limit:
            error = {
                "code": "RequestBodyTooLarge",
                "message": {"lang": "en-US", "value": "The request body is too large"},
                "values": [{"key": "MaxLimit", "value": str(self.limit)}],
            }
            return self._json(413, error)
        if action == "429":
            return self._json(429, {"code": "TooManyRequests"}, {"Retry-After": "7"})
        if action == "refused":
            raise aiohttp.ClientConnectorError(
                aiohttp.client_reqrep.ConnectionKey("h", 443, True, True, None, None, None),
                OSError(111, "refused"),
            )
        results = []
        for task in json.loads(body)["value"]:
            key = task["id"].lower()
            if key in self.store:
                results.append(
                    {"taskId": task["id"], "status": "clienterror", "error": {"code": "TaskExists"}}
                )
            else:
                self.store.add(key)
                results.append({"taskId": task["id"], "status": "success"})
        if action == "drop":
            raise aiohttp.ServerDisconnectedError()
        return self._json(200, {"value": results})

    @staticmethod
    def _json(status: int, doc: object, headers: dict[str, str] | None = None) -> CallbackResult:
        return CallbackResult(
            status=status,
            body=json.dumps(doc).encode(),
            headers={"Content-Type": "application/json;odata=minimalmetadata", **(headers or {})},
            response_class=CompatClientResponse,
        )


@pytest_asyncio.fixture
async def setup() -> AsyncIterator[Callable[..., Any]]:
    sleeps = Recorder()
    policy = RetryPolicy(max_attempts=4, backoff_initial=0.01, jitter=0.0, sleep=sleeps)
    credential = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    with aioresponses() as mocked:
        async with BatchClient(BASE_URL, credential, retry_policy=policy) as client:

            def make(plan: list[str], **kw: Any) -> tuple[BatchClient, Service, Recorder]:
                return client, Service(mocked, plan, **kw), sleeps

            yield make


def _tasks(n: int, pad: int = 0, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"t{i}", "commandLine": "x" * pad} for i in range(start, start + n)]


async def test_413_max_limit_detail_is_learned_through_the_transport(setup: Any) -> None:
    client, svc, _ = setup([], limit=20_000)
    result = await client.tasks.add_collection("j", _tasks(60, pad=900), max_concurrency=1)
    assert result.ok
    assert result.body_limit == 20_000
    assert sum(1 for b in svc.bodies if len(b) >= 20_000) == 1
    assert len(svc.store) == 60


async def test_retry_after_header_is_honoured(setup: Any) -> None:
    client, svc, sleeps = setup(["429"])
    result = await client.tasks.add_collection("j", _tasks(5))
    assert result.ok
    assert sleeps.delays == [7.0]
    assert len(svc.bodies) == 2


async def test_refused_connection_is_retried_as_not_processed(setup: Any) -> None:
    # A service that has answered before and then refuses is restarting: retried.
    client, svc, _ = setup(["ok", "refused"])
    await client.tasks.add_collection("j", _tasks(5))
    result = await client.tasks.add_collection("j", _tasks(5, start=5))
    assert result.counts["added"] == 5  # the request certainly never arrived: plain ADDED
    assert len(svc.bodies) == 3


async def test_refused_connection_before_any_answer_fails_at_once(setup: Any) -> None:
    # Nothing ever answered at that address: a wrong endpoint, not a hiccup. No retry.
    client, svc, sleeps = setup(["refused"])
    result = await client.tasks.add_collection("j", _tasks(5), raise_on_failure=False)
    assert result.counts.get("added", 0) == 0
    assert len(svc.bodies) == 1
    assert sleeps.delays == []
    assert "nothing is listening there" in str(result.outcomes[0].exception)


async def test_dropped_connection_after_commit_is_added_on_retry(setup: Any) -> None:
    client, svc, _ = setup(["drop"])
    result = await client.tasks.add_collection("j", _tasks(5))
    assert result.ok
    assert result.counts["added_on_retry"] == 5
    assert {o.outcome for o in result.outcomes} == {Outcome.ADDED_ON_RETRY}
    assert len(svc.bodies) == 2
    assert svc.bodies[0] == svc.bodies[1]  # the same bytes, not re-serialized


async def test_threads_alias_and_server_timeout_parameter(setup: Any) -> None:
    client, svc, _ = setup([])
    outcomes = [
        o async for o in client.tasks.add_collection_iter("j", iter(_tasks(250)), threads=0)
    ]
    assert len(outcomes) == 250
    assert [len(json.loads(b)["value"]) for b in svc.bodies] == [100, 100, 50]


@pytest.mark.parametrize("timeout", [None, 90])
async def test_timeout_query_parameter_is_sent(setup: Any, timeout: int | None) -> None:
    client, svc, _ = setup([])
    await client.tasks.add_collection("j", _tasks(3), timeout=timeout)
    (url,) = svc.urls
    assert url.query.get("timeout") == (None if timeout is None else str(timeout))


@pytest.mark.parametrize(
    ("max_connections", "kwargs"), [(4, {"max_concurrency": 5}), (2, {"threads": 3})]
)
async def test_concurrency_beyond_the_pool_is_refused_before_sending(
    max_connections: int, kwargs: dict[str, int]
) -> None:
    credential = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    with aioresponses() as mocked:
        service = Service(mocked, [])
        async with BatchClient(BASE_URL, credential, max_connections=max_connections) as client:
            with pytest.raises(ValueError, match="connection pool"):
                await client.tasks.add_collection("j", [{"id": "t1", "commandLine": "x"}], **kwargs)
            with pytest.raises(ValueError, match="max_connections>="):
                client.tasks.add_collection_iter("j", [{"id": "t1", "commandLine": "x"}], **kwargs)
            # At the pool size exactly it runs.
            result = await client.tasks.add_collection(
                "j", [{"id": "t1", "commandLine": "x"}], max_concurrency=max_connections
            )
    assert len(service.bodies) == 1
    assert result.ok
    assert result.count(Outcome.ADDED) == 1
