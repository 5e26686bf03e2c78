"""FileOperations on the wire (aioresponses): request shape and signature, header decoding,
error mapping, and the download's resumption and length checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import pytest

from batchtasks import (
    BatchClient,
    BatchServiceError,
    ConditionNotMetError,
    ConflictError,
    DownloadError,
    NotFoundError,
    RetryPolicy,
    SharedKeyCredential,
)
from batchtasks._private.constants import API_VERSION
from tests.unit.conftest import BASE_URL, VECTOR_ACCOUNT, VECTOR_KEY, FakeService, FakeSleep, Reply

MODIFIED = "Tue, 01 Oct 2024 12:00:00 GMT"
FILE_HEADERS = {
    "Content-Type": "application/octet-stream",
    "Last-Modified": MODIFIED,
    "ocp-creation-time": "Mon, 30 Sep 2024 08:00:00 GMT",
    "ocp-batch-file-isdirectory": "False",
    "ocp-batch-file-url": "https://x/jobs/job-1/tasks/t1/files/wd/out.txt",
    "ocp-batch-file-mode": "0o100644",
}
LIST_JSON = (
    b'{"value":[{"name":"stdout.txt","url":"https://x/f/stdout.txt","isDirectory":false,'
    b'"properties":{"creationTime":"2024-10-01T12:00:00Z","lastModified":"2024-10-01T12:00:00Z",'
    b'"contentLength":5,"contentType":"application/octet-stream","fileMode":"0o100644"}},'
    b'{"name":"wd","isDirectory":true}],"odata.nextLink":"https://x/jobs/job-1/tasks/t1/files?'
    b'api-version=2024-02-01.19.0&recursive=true&$skiptoken=abc"}'
)


@pytest.fixture
async def client(service: FakeService, fake_sleep: FakeSleep) -> AsyncIterator[BatchClient]:
    credential = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    policy = RetryPolicy(max_attempts=3, sleep=fake_sleep)
    async with BatchClient(BASE_URL, credential, retry_policy=policy) as client:
        yield client


def _file_reply(body: bytes, length: int | None = None, **headers: str) -> Reply:
    size = len(body) if length is None else length
    return Reply(body=body, headers={**FILE_HEADERS, "Content-Length": str(size), **headers})


async def test_list_from_task_request_and_paging(service: FakeService, client: BatchClient) -> None:
    service.reply(Reply(body=LIST_JSON), Reply(body=b'{"value":[]}'))
    pager = client.files.list_from_task(
        "job-1", "t1", recursive=True, filter="startswith(name,'wd')", max_results=5, timeout=9
    )
    files = [f async for f in pager]
    assert [f.name for f in files] == ["stdout.txt", "wd"]
    assert files[0].properties is not None
    assert files[0].properties.content_length == 5
    assert files[0].properties.file_mode == "0o100644"
    assert files[1].is_directory is True
    first, second = service.sent
    assert (first.method, first.url.path) == ("GET", "/jobs/job-1/tasks/t1/files")
    assert first.query == {
        "api-version": API_VERSION,
        "recursive": "true",
        "$filter": "startswith(name,'wd')",
        "maxresults": "5",
        "timeout": "9",
    }
    assert first.headers["authorization"] == first.expected_authorization()
    # The next page is the link's path and query, sent to the client's own host.
    assert second.url.host == "myaccount.westus.batch.azure.com"
    assert second.query["$skiptoken"] == "abc"


async def test_list_without_recursive_sends_no_flag(
    service: FakeService, client: BatchClient
) -> None:
    service.reply(Reply(body=b'{"value":[]}'))
    assert [f async for f in client.files.list_from_task("job-1", "t1")] == []
    assert service.sent[0].query == {"api-version": API_VERSION}


async def test_get_properties_from_task(service: FakeService, client: BatchClient) -> None:
    service.reply(_file_reply(b"", length=1234))
    since = datetime(2024, 9, 1, tzinfo=timezone.utc)
    props = await client.files.get_properties_from_task(
        "job-1", "t1", "wd/out.txt", if_modified_since=since
    )
    (sent,) = service.sent
    assert sent.method == "HEAD"
    assert sent.url.raw_path == "/jobs/job-1/tasks/t1/files/wd%2Fout.txt"
    assert sent.headers["if-modified-since"] == "Sun, 01 Sep 2024 00:00:00 GMT"
    assert "content-length" not in sent.headers
    assert sent.headers["authorization"] == sent.expected_authorization()
    assert props.content_length == 1234
    assert props.content_type == "application/octet-stream"
    assert props.is_directory is False
    assert props.file_mode == "0o100644"
    assert props.url == FILE_HEADERS["ocp-batch-file-url"]
    assert props.last_modified == datetime(2024, 10, 1, 12, tzinfo=timezone.utc)
    assert props.creation_time == datetime(2024, 9, 30, 8, tzinfo=timezone.utc)
    raw = await client.files.with_raw_response.get_properties_from_task("job-1", "t1", "f")
    assert raw.parsed.content_length == 1234
    assert raw.request_id is not None


async def test_get_from_task_reads_and_sends_range(
    service: FakeService, client: BatchClient
) -> None:
    service.reply(_file_reply(b"hello"))
    download = await client.files.get_from_task("job-1", "t1", "stdout.txt", ocp_range="bytes=3-7")
    assert download.size == 5
    assert download.properties is not None
    assert download.properties.last_modified == datetime(2024, 10, 1, 12, tzinfo=timezone.utc)
    assert await download.read() == b"hello"
    (sent,) = service.sent
    assert sent.method == "GET"
    assert sent.headers["ocp-range"] == "bytes=3-7"
    assert sent.headers["authorization"] == sent.expected_authorization()
    with pytest.raises(RuntimeError, match="only once"):
        await download.read()


async def test_delete_from_task(service: FakeService, client: BatchClient) -> None:
    service.reply(Reply())
    await client.files.delete_from_task("job-1", "t1", "wd", recursive=True)
    (sent,) = service.sent
    assert (sent.method, sent.url.raw_path) == ("DELETE", "/jobs/job-1/tasks/t1/files/wd")
    assert sent.query == {"api-version": API_VERSION, "recursive": "true"}
    assert sent.headers["content-length"] == "0"


def _error(status: int, code: str) -> Reply:
    body = f'{{"code":"{code}","message":{{"lang":"en-US","value":"{code}"}}}}'.encode()
    return Reply(status=status, body=body, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("reply", "error", "code"),
    [
        (_error(404, "FileNotFound"), NotFoundError, "FileNotFound"),
        (_error(404, "TaskNotFound"), NotFoundError, "TaskNotFound"),
        (_error(409, "OperationInvalidForCurrentState"), ConflictError, None),
        (_error(416, "InvalidRange"), BatchServiceError, "InvalidRange"),
        (Reply(status=304), ConditionNotMetError, None),
    ],
)
async def test_download_errors_are_mapped(
    service: FakeService, client: BatchClient, reply: Reply, error: type[Exception], code: Any
) -> None:
    service.reply(reply)
    with pytest.raises(error) as info:
        await client.files.get_from_task("job-1", "t1", "f").read()
    assert isinstance(info.value, BatchServiceError)
    if code is not None:
        assert info.value.code == code
    assert len(service.sent) == 1  # not retryable


async def test_download_open_retries_a_transient_error(
    service: FakeService, client: BatchClient, fake_sleep: FakeSleep
) -> None:
    service.reply(_error(503, "ServerBusy"), _file_reply(b"abc"))
    assert await client.files.get_from_task("job-1", "t1", "f").read() == b"abc"
    assert len(service.sent) == 2
    assert len(fake_sleep.calls) == 1
    # The call keeps one client-request-id across its attempts.
    assert (
        service.sent[0].headers["client-request-id"] == service.sent[1].headers["client-request-id"]
    )


async def test_short_body_resumes_from_the_next_byte(
    service: FakeService, client: BatchClient
) -> None:
    service.reply(_file_reply(b"01234", length=10), _file_reply(b"56789"))
    chunks = [c async for c in client.files.get_from_task("job-1", "t1", "f")]
    assert b"".join(chunks) == b"0123456789"
    first, second = service.sent
    assert "ocp-range" not in first.headers
    assert second.headers["ocp-range"] == "bytes=5-9"
    assert second.headers["authorization"] == second.expected_authorization()


async def test_resume_keeps_the_callers_range(service: FakeService, client: BatchClient) -> None:
    service.reply(_file_reply(b"ab", length=4), _file_reply(b"cd"))
    data = await client.files.get_from_task("job-1", "t1", "f", ocp_range="bytes=100-").read()
    assert data == b"abcd"
    assert service.sent[1].headers["ocp-range"] == "bytes=102-103"


@pytest.mark.parametrize(
    "second",
    [
        _file_reply(b"5678", length=7),  # announces another length
        _file_reply(b"56789", **{"Last-Modified": "Wed, 02 Oct 2024 12:00:00 GMT"}),  # changed
    ],
    ids=["other-length", "file-changed"],
)
async def test_inconsistent_resumption_is_a_download_error(
    service: FakeService, client: BatchClient, second: Reply
) -> None:
    service.reply(_file_reply(b"01234", length=10), second)
    with pytest.raises(DownloadError) as info:
        await client.files.get_from_task("job-1", "t1", "f").read()
    assert (info.value.expected, info.value.received) == (10, 5)


async def test_resumption_is_bounded_by_the_retry_policy(
    service: FakeService, client: BatchClient, fake_sleep: FakeSleep
) -> None:
    # Each answer ends early; every one after the first delivers nothing new.
    service.reply(_file_reply(b"01", length=6), _file_reply(b"", length=4))
    with pytest.raises(DownloadError, match="ended after 2 of 6"):
        await client.files.get_from_task("job-1", "t1", "f").read()
    # After the last progress, at most max_attempts=3 new requests (each after a backoff).
    assert len(service.sent) == 4
    assert len(fake_sleep.calls) == 3


async def test_bad_input_is_refused_before_sending(
    service: FakeService, client: BatchClient
) -> None:
    with pytest.raises(ValueError, match="ocp_range"):
        client.files.get_from_task("job-1", "t1", "f", ocp_range="0-10")
    with pytest.raises(ValueError, match="file_path"):
        client.files.get_from_task("job-1", "t1", "..")
    with pytest.raises(ValueError, match="max_results"):
        client.files.list_from_task("job-1", "t1", max_results=0)
    assert service.sent == []


async def test_properties_of_a_file_larger_than_the_response_limit(
    service: FakeService, client: BatchClient
) -> None:
    # A HEAD answer's Content-Length is the file's size, not a body to read: no response limit.
    service.reply(_file_reply(b"", length=50 * 1024**3))
    props = await client.files.get_properties_from_task("job-1", "t1", "wd/huge.bin")
    assert props.content_length == 50 * 1024**3
