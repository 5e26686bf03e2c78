"""JobOperations on the wire (aioresponses): request shape, signature, statuses, errors, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from batchtasks import (
    AlreadyExistsError,
    BatchClient,
    BatchServiceError,
    ConflictError,
    JobAddParameter,
    NotFoundError,
    PoolInformation,
    RetryPolicy,
    SharedKeyCredential,
    TaskValidationError,
)
from batchtasks._private.constants import API_VERSION, JSON_CONTENT_TYPE
from tests.unit.conftest import BASE_URL, VECTOR_ACCOUNT, VECTOR_KEY, FakeService, Reply
from tests.unit.test_task_operations import COMMON, CONDITION_HEADERS, CONDITIONS

JOB_JSON = b'{"id":"job-1","state":"active","poolInfo":{"poolId":"pool-1"},"priority":0}'

Call = Callable[[BatchClient], Awaitable[Any]]


async def _collect(pager: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in pager]


CASES: list[tuple[str, Call, str, str, dict[str, str], bytes | None, int, bytes, bool]] = [
    (
        "add",
        lambda c: c.jobs.add(
            JobAddParameter(id="job-1", pool_info=PoolInformation(pool_id="pool-1")), **COMMON
        ),
        "POST",
        "/jobs",
        {},
        b'{"id":"job-1","poolInfo":{"poolId":"pool-1"}}',
        201,
        b"",
        False,
    ),
    (
        "get",
        lambda c: c.jobs.get("job-1", select="id", expand="stats", **CONDITIONS, **COMMON),
        "GET",
        "/jobs/job-1",
        {"$select": "id", "$expand": "stats"},
        None,
        200,
        JOB_JSON,
        True,
    ),
    (
        "delete",
        lambda c: c.jobs.delete("job-1", **CONDITIONS, **COMMON),
        "DELETE",
        "/jobs/job-1",
        {},
        None,
        202,
        b"",
        True,
    ),
    (
        "list",
        lambda c: _collect(
            c.jobs.list(
                filter="state eq 'active'", select="id", expand="stats", max_results=5, **COMMON
            )
        ),
        "GET",
        "/jobs",
        {"$filter": "state eq 'active'", "$select": "id", "$expand": "stats", "maxresults": "5"},
        None,
        200,
        b'{"value":[' + JOB_JSON + b"]}",
        False,
    ),
]
IDS = [c[0] for c in CASES]


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
async def client(service: FakeService) -> AsyncIterator[BatchClient]:
    credential = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    async with BatchClient(
        BASE_URL, credential, retry_policy=RetryPolicy(max_attempts=1, sleep=_no_sleep)
    ) as client:
        yield client


@pytest.mark.parametrize(
    ("name", "call", "method", "path", "query", "body", "status", "reply", "conditional"),
    CASES,
    ids=IDS,
)
async def test_request_on_the_wire(
    name: str,
    call: Call,
    method: str,
    path: str,
    query: dict[str, str],
    body: bytes | None,
    status: int,
    reply: bytes,
    conditional: bool,
    service: FakeService,
    client: BatchClient,
) -> None:
    service.reply(Reply(status=status, body=reply))
    await call(client)
    (sent,) = service.sent
    assert (sent.method, sent.url.path) == (method, path)
    assert sent.query == {"api-version": API_VERSION, "timeout": "25", **query}
    assert sent.headers["client-request-id"] == COMMON["client_request_id"]
    assert sent.headers["x-custom"] == "yes"
    assert sent.headers["authorization"] == sent.expected_authorization()
    for header, value in CONDITION_HEADERS.items():
        assert sent.headers.get(header) == (value if conditional else None)
    assert sent.body == body
    if body is not None:
        assert sent.headers["content-type"] == JSON_CONTENT_TYPE
    else:
        assert "content-type" not in sent.headers
    # Any other 2xx is an error.
    wrong = 200 if status != 200 else 204
    service.reply(Reply(status=wrong, body=reply))
    with pytest.raises(BatchServiceError, match=f"expected {status}"):
        await call(client)


async def test_job_results_are_decoded(service: FakeService, client: BatchClient) -> None:
    service.reply(Reply(status=200, body=JOB_JSON))
    job = await client.jobs.get("job-1")
    assert job.id == "job-1"
    assert job.pool_info is not None
    assert job.pool_info.pool_id == "pool-1"
    raw = await client.jobs.with_raw_response.get("job-1")
    assert (raw.status, raw.parsed.id) == (200, "job-1")


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (409, "JobExists", AlreadyExistsError),
        (409, "JobBeingDeleted", ConflictError),
        (404, "JobNotFound", NotFoundError),
    ],
)
async def test_job_errors(
    status: int, code: str, cls: type[BatchServiceError], service: FakeService, client: BatchClient
) -> None:
    service.reply(Reply(status=status, body=f'{{"code":"{code}"}}'.encode()))
    with pytest.raises(cls) as info:
        await client.jobs.add({"id": "job-1", "poolInfo": {"poolId": "p"}})
    assert type(info.value) is cls
    assert info.value.code == code


async def test_invalid_job_is_rejected_before_sending(
    service: FakeService, client: BatchClient
) -> None:
    with pytest.raises(TaskValidationError):
        await client.jobs.add({"id": "job-1"})  # no poolInfo
    assert service.sent == []
