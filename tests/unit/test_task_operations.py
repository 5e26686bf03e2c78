"""Every TaskOperations method on the wire (aioresponses): method, path, query, headers,
Authorization (recomputed with the official signer), exact body, success status, error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from batchtasks import (
    AlreadyExistsError,
    AuthenticationError,
    BadRequestError,
    BatchClient,
    BatchServiceError,
    ConditionNotMetError,
    ConflictError,
    NotFoundError,
    RequestBodyTooLargeError,
    RetryPolicy,
    ServerError,
    SharedKeyCredential,
    TaskAddParameter,
    TaskConstraints,
    TaskValidationError,
    ThrottledError,
)
from batchtasks._private.bulk.sender import PipelineChunkSender
from batchtasks._private.constants import API_VERSION, JSON_CONTENT_TYPE
from tests.unit.conftest import (
    BASE_URL,
    VECTOR_ACCOUNT,
    VECTOR_DATE,
    VECTOR_KEY,
    FakeService,
    Reply,
)

WHEN = datetime(2024, 10, 1, 12, 0, tzinfo=timezone.utc)
COMMON: dict[str, Any] = {
    "timeout": 25,
    "client_request_id": "9C4D50EE-2D56-4CD3-8152-34347DC9F2B0",
    "return_client_request_id": True,
    "ocp_date": WHEN,
    "custom_headers": {"X-Custom": "yes"},
}
CONDITIONS: dict[str, Any] = {
    "if_match": "0x8D4125FD1A825A4",
    "if_none_match": "0x1",
    "if_modified_since": WHEN - timedelta(days=1),
    "if_unmodified_since": "Wed, 02 Oct 2024 12:00:00 GMT",
}
CONDITION_HEADERS = {
    "if-match": "0x8D4125FD1A825A4",
    "if-none-match": "0x1",
    "if-modified-since": "Mon, 30 Sep 2024 12:00:00 GMT",
    "if-unmodified-since": "Wed, 02 Oct 2024 12:00:00 GMT",
}
TASK_JSON = (
    b'{"id":"t1","url":"https://x/jobs/job-1/tasks/t1","state":"active","odata.metadata":"m"}'
)
SUBTASKS_JSON = b'{"value":[{"id":1,"state":"running"},{"id":2,"state":"completed"}]}'
COLLECTION_JSON = (
    b'{"value":[{"status":"success","taskId":"b","eTag":"0x2"},'
    b'{"status":"clienterror","taskId":"a","error":{"code":"TaskExists",'
    b'"message":{"lang":"en-US","value":"The specified task already exists."}}}]}'
)

Call = Callable[[BatchClient], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    name: str
    call: Call
    method: str
    path: str
    query: dict[str, str]
    body: bytes | None
    status: int
    reply_body: bytes = b""
    conditional: bool = False
    common: bool = True  # takes the common keyword options (the bulk chunk sender does not)


async def _collect(pager: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in pager]


CASES = [
    Case(
        "add",
        lambda c: c.tasks.add(
            "job-1",
            {"id": "t1", "commandLine": "echo hi", "displayName": "Ünicode"},
            **COMMON,
        ),
        "POST",
        "/jobs/job-1/tasks",
        {},
        '{"id":"t1","displayName":"Ünicode","commandLine":"echo hi"}'.encode(),
        201,
    ),
    Case(
        "add_collection_chunk",
        lambda c: PipelineChunkSender(c._pipeline, timeout=25)(
            "job-1", b'{"value":[{"id":"a","commandLine":"echo a"}]}'
        ),
        "POST",
        "/jobs/job-1/addtaskcollection",
        {},
        b'{"value":[{"id":"a","commandLine":"echo a"}]}',
        200,
        COLLECTION_JSON,
        common=False,
    ),
    Case(
        "list",
        lambda c: _collect(
            c.tasks.list(
                "job-1",
                filter="state eq 'active'",
                select="id,state",
                expand="stats",
                max_results=10,
                **COMMON,
            )
        ),
        "GET",
        "/jobs/job-1/tasks",
        {
            "$filter": "state eq 'active'",
            "$select": "id,state",
            "$expand": "stats",
            "maxresults": "10",
        },
        None,
        200,
        b'{"value":[' + TASK_JSON + b"]}",
    ),
    Case(
        "get",
        lambda c: c.tasks.get("job-1", "t1", select="id", expand="stats", **CONDITIONS, **COMMON),
        "GET",
        "/jobs/job-1/tasks/t1",
        {"$select": "id", "$expand": "stats"},
        None,
        200,
        TASK_JSON,
        conditional=True,
    ),
    Case(
        "update",
        lambda c: c.tasks.update(
            "job-1", "t1", TaskConstraints(retention_time=timedelta(days=1)), **CONDITIONS, **COMMON
        ),
        "PUT",
        "/jobs/job-1/tasks/t1",
        {},
        b'{"constraints":{"retentionTime":"P1D"}}',
        200,
        conditional=True,
    ),
    Case(
        "delete",
        lambda c: c.tasks.delete("job-1", "t1", **CONDITIONS, **COMMON),
        "DELETE",
        "/jobs/job-1/tasks/t1",
        {},
        None,
        200,
        conditional=True,
    ),
    Case(
        "list_subtasks",
        lambda c: _collect(c.tasks.list_subtasks("job-1", "t1", select="id,state", **COMMON)),
        "GET",
        "/jobs/job-1/tasks/t1/subtasksinfo",
        {"$select": "id,state"},
        None,
        200,
        SUBTASKS_JSON,
    ),
    Case(
        "terminate",
        lambda c: c.tasks.terminate("job-1", "t1", **CONDITIONS, **COMMON),
        "POST",
        "/jobs/job-1/tasks/t1/terminate",
        {},
        None,
        204,
        conditional=True,
    ),
    Case(
        "reactivate",
        lambda c: c.tasks.reactivate("job-1", "t1", **CONDITIONS, **COMMON),
        "POST",
        "/jobs/job-1/tasks/t1/reactivate",
        {},
        None,
        204,
        conditional=True,
    ),
]
IDS = [case.name for case in CASES]


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
async def client(service: FakeService) -> AsyncIterator[BatchClient]:
    credential = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    policy = RetryPolicy(max_attempts=1, sleep=_no_sleep)
    async with BatchClient(BASE_URL, credential, retry_policy=policy) as client:
        yield client


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_request_on_the_wire(case: Case, service: FakeService, client: BatchClient) -> None:
    service.reply(Reply(status=case.status, body=case.reply_body))
    await case.call(client)
    (sent,) = service.sent
    assert sent.method == case.method
    assert sent.url.scheme == "https"
    assert sent.url.host == "myaccount.westus.batch.azure.com"
    assert sent.url.path == case.path
    assert sent.query == {"api-version": API_VERSION, "timeout": "25", **case.query}
    headers = sent.headers
    assert headers["accept"] == "application/json"
    if case.common:
        assert headers["client-request-id"] == COMMON["client_request_id"]
        assert headers["return-client-request-id"] == "true"
        assert headers["ocp-date"] == VECTOR_DATE
        assert headers["x-custom"] == "yes"
    else:
        assert len(headers["client-request-id"]) == 36
        assert headers["ocp-date"].endswith(" GMT")
    assert headers["user-agent"].startswith("batchtasks/")
    assert headers["authorization"].startswith(f"SharedKey {VECTOR_ACCOUNT}:")
    assert headers["authorization"] == sent.expected_authorization()
    for name, value in CONDITION_HEADERS.items():
        assert headers.get(name) == (value if case.conditional else None)
    if case.body is None:
        assert sent.body is None
        assert "content-type" not in headers
        assert headers.get("content-length") == (None if case.method == "GET" else "0")
    else:
        assert sent.body == case.body
        assert headers["content-type"] == JSON_CONTENT_TYPE
        assert headers["content-length"] == str(len(case.body))


def _wrong_success(status: int) -> int:
    return {200: 204, 201: 200, 202: 200, 204: 200}[status]


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_other_success_status_is_an_error(
    case: Case, service: FakeService, client: BatchClient
) -> None:
    wrong = _wrong_success(case.status)
    service.reply(Reply(status=wrong, body=case.reply_body))
    with pytest.raises(BatchServiceError) as info:
        await case.call(client)
    assert type(info.value) is BatchServiceError
    assert info.value.status == wrong
    assert f"expected {case.status}" in str(info.value)


ERRORS = [
    (400, "InvalidPropertyValue", BadRequestError),
    (403, "AuthenticationFailed", AuthenticationError),
    (404, "TaskNotFound", NotFoundError),
    (409, "TaskCompleted", ConflictError),
    (409, "TaskExists", AlreadyExistsError),
    (412, "ConditionNotMet", ConditionNotMetError),
    (413, "RequestBodyTooLarge", RequestBodyTooLargeError),
    (429, "TooManyRequests", ThrottledError),
    (503, "ServerBusy", ThrottledError),
    (500, "InternalError", ServerError),
]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize(("status", "code", "cls"), ERRORS, ids=[f"{s}-{c}" for s, c, _ in ERRORS])
async def test_error_statuses_map_to_classes(
    case: Case,
    status: int,
    code: str,
    cls: type[BatchServiceError],
    service: FakeService,
    client: BatchClient,
) -> None:
    body = (
        f'{{"code":"{code}","message":{{"lang":"en-US","value":"boom\\nRequestId:r\\nTime:t"}},'
        '"values":[{"key":"Reason","value":"because"}]}'
    ).encode()
    service.reply(Reply(status=status, body=body, headers={"Retry-After": "3"}))
    with pytest.raises(cls) as info:
        await case.call(client)
    exc = info.value
    assert type(exc) is cls
    assert (exc.status, exc.code, exc.message) == (status, code, "boom")
    assert exc.request_id == "rid-1"
    assert exc.retry_after == 3.0
    assert [(v.key, v.value) for v in exc.values] == [("Reason", "because")]
    assert len(service.sent) == 1  # max_attempts=1: nothing retried


async def test_results_are_decoded(service: FakeService, client: BatchClient) -> None:
    service.reply(Reply(status=200, body=TASK_JSON))
    task = await client.tasks.get("job-1", "t1")
    assert task.id == "t1"
    assert task.state == "active"

    service.reply(Reply(status=200, body=SUBTASKS_JSON))
    subtasks = [s async for s in client.tasks.list_subtasks("job-1", "t1")]
    assert [s.id for s in subtasks] == [1, 2]


async def test_raw_gives_status_headers_and_parsed(
    service: FakeService, client: BatchClient
) -> None:
    service.reply(
        Reply(status=200, body=TASK_JSON, headers={"ETag": "0xE", "client-request-id": "c"})
    )
    raw = await client.tasks.with_raw_response.get("job-1", "t1")
    assert raw.status == 200
    assert raw.request_id == "rid-1"
    assert raw.etag == "0xE"
    assert raw.headers["etag"] == "0xE"  # case-insensitive
    assert raw.client_request_id == "c"
    assert raw.parsed.id == "t1"

    service.reply(Reply(status=201, headers={"DataServiceId": "https://x/jobs/j/tasks/t"}))
    added = await client.tasks.with_raw_response.add("job-1", {"id": "t", "commandLine": "x"})
    assert added.status == 201
    assert added.parsed is None
    assert added.headers["DataServiceId"] == "https://x/jobs/j/tasks/t"


async def test_defaults_generate_request_id_and_date(
    service: FakeService, client: BatchClient
) -> None:
    service.reply(Reply(status=200))
    await client.tasks.delete("job-1", "t1")
    (sent,) = service.sent
    assert sent.query == {"api-version": API_VERSION}
    assert len(sent.headers["client-request-id"]) == 36
    assert sent.headers["ocp-date"].endswith(" GMT")
    assert "return-client-request-id" not in sent.headers
    assert sent.headers["authorization"] == sent.expected_authorization()


async def test_update_without_constraints_sends_empty_object(
    service: FakeService, client: BatchClient
) -> None:
    await client.tasks.update("job-1", "t1")
    assert service.sent[0].body == b"{}"


async def test_ids_are_percent_encoded_in_the_path(
    service: FakeService, client: BatchClient
) -> None:
    await client.tasks.delete("job 1/x", "t?1")
    assert service.sent[0].url.raw_path == "/jobs/job%201%2Fx/tasks/t%3F1"
    assert service.sent[0].headers["authorization"] == service.sent[0].expected_authorization()


@pytest.mark.parametrize(
    "task",
    [{"id": "t1"}, {"commandLine": "echo"}, {"id": "t1", "commandLine": "x", "requiredSlots": 0}],
)
async def test_invalid_task_is_rejected_before_sending(
    task: dict[str, Any], service: FakeService, client: BatchClient
) -> None:
    with pytest.raises(TaskValidationError) as info:
        await client.tasks.add("job-1", task)
    assert isinstance(info.value, ValueError)
    if "id" in task:
        assert info.value.task_id == "t1"
    assert service.sent == []


@pytest.mark.parametrize("pad", [0, 1])
async def test_a_single_add_over_the_body_limit_is_refused_like_the_bulk_add(
    pad: int, service: FakeService, client: BatchClient
) -> None:
    # The smallest task whose body reaches the limit (pad=0), and one byte more.
    envelope = len(b'{"id":"big","commandLine":""}')
    task = {"id": "big", "commandLine": "x" * (1_048_576 - envelope + pad)}
    with pytest.raises(TaskValidationError, match="1,048,576 bytes") as info:
        await client.tasks.add("job-1", task)
    assert info.value.task_id == "big"
    assert service.sent == []
    # The bulk add refuses the same task before sending it, too.
    result = await client.tasks.add_collection("job-1", [task], raise_on_failure=False)
    assert (result.counts["failed"], result.counts["added"]) == (1, 0)
    assert service.sent == []


async def test_a_single_add_just_below_the_body_limit_is_sent(
    service: FakeService, client: BatchClient
) -> None:
    envelope = len(b'{"id":"big","commandLine":""}')
    service.reply(Reply(201))
    await client.tasks.add("job-1", {"id": "big", "commandLine": "x" * (1_048_575 - envelope)})
    assert len(service.sent[0].body) == 1_048_575


async def test_add_collection_sends_the_tasks_through_the_chunk_sender(
    service: FakeService, client: BatchClient
) -> None:
    service.reply(
        Reply(
            status=200,
            body=b'{"value":[{"status":"success","taskId":"b"},{"status":"success","taskId":"a"}]}',
        )
    )
    await client.tasks.add_collection(
        "job-1",
        [TaskAddParameter(id="a", command_line="echo a"), {"id": "b", "commandLine": "echo b"}],
        max_concurrency=1,
        timeout=60,
    )
    (sent,) = service.sent
    assert sent.method == "POST"
    assert sent.url.path == "/jobs/job-1/addtaskcollection"
    assert sent.query == {"api-version": API_VERSION, "timeout": "60"}
    body = sent.json()
    assert isinstance(body, dict)
    assert sorted(body["value"], key=lambda t: t["id"]) == [
        {"id": "a", "commandLine": "echo a"},
        {"id": "b", "commandLine": "echo b"},
    ]
    assert sent.headers["content-type"] == JSON_CONTENT_TYPE
    assert sent.headers["authorization"] == sent.expected_authorization()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_results": 0}, "max_results"),
        ({"max_results": 1001}, "max_results"),
        ({"timeout": 0}, "timeout"),
        ({"custom_headers": {"Authorization": "x"}}, "Authorization"),
    ],
)
def test_bad_list_options_raise_at_call_time(
    kwargs: dict[str, Any], message: str, client: BatchClient
) -> None:
    with pytest.raises(ValueError, match=message):
        client.tasks.list("job-1", **kwargs)


@pytest.mark.parametrize("bad_id", ["", ".", ".."])
async def test_bad_ids_are_rejected(bad_id: str, service: FakeService, client: BatchClient) -> None:
    with pytest.raises(ValueError, match="task_id"):
        await client.tasks.get("job-1", bad_id)
    assert service.sent == []


async def test_add_collection_chunk_sends_exact_body_without_retry(
    service: FakeService, client: BatchClient
) -> None:
    body = b'{"value":[{"id":"z","commandLine":"x"}]}'
    service.reply(Reply(status=200, body=b'{"value":[{"status":"success","taskId":"z"}]}'))
    values = await PipelineChunkSender(client._pipeline, timeout=90)("job-1", body)
    assert values == [{"status": "success", "taskId": "z"}]
    (sent,) = service.sent
    assert sent.body == body
    assert sent.query == {"api-version": API_VERSION, "timeout": "90"}
    assert sent.headers["authorization"] == sent.expected_authorization()

    service.reply(Reply(status=503, body=b'{"code":"ServerBusy"}', headers={"Retry-After": "4"}))
    credential = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    retrying = RetryPolicy(max_attempts=5, sleep=_no_sleep)
    async with BatchClient(BASE_URL, credential, retry_policy=retrying) as other:
        with pytest.raises(ThrottledError) as info:
            await PipelineChunkSender(other._pipeline)("job-1", body)
    assert info.value.retry_after == 4.0
    assert len(service.sent) == 2  # one more request: the engine, not the sender, retries


async def test_malformed_success_body_is_a_service_error(
    service: FakeService, client: BatchClient
) -> None:
    service.reply(Reply(status=200, body=b"<html>oops</html>"))
    with pytest.raises(BatchServiceError, match="malformed success response"):
        await client.tasks.get("job-1", "t1")
