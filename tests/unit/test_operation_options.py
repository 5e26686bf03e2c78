"""The shared keyword options and the raw view at run time (aioresponses).

Unknown or misplaced options are refused before anything is sent; `with_raw_response` returns
the status and headers of the call that made it, also when calls run concurrently; every option
is documented once, in the class docstring.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from batchtasks import BatchClient, NotFoundError, RawResponse
from batchtasks._private.options import (
    BulkAddOptions,
    ConditionalOptions,
    GetOptions,
    ListOptions,
    RequestOptions,
)
from batchtasks._private.tasks import TaskOperations
from tests.unit.conftest import FakeService, Reply

TASK = b'{"id":"%s","state":"active"}'


@pytest.fixture
def client(mocked_client: BatchClient) -> BatchClient:
    return mocked_client


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.tasks.get("j", "t", tiemout=5), TypeError),
        (lambda c: c.tasks.delete("j", "t", raw=True), TypeError),
        (lambda c: c.jobs.get("j", select_=1), TypeError),
        (lambda c: c.tasks.add("j", {"id": "t", "commandLine": "x"}, if_match="x"), ValueError),
        (lambda c: c.tasks.with_raw_response.get("j", "t", raw=True), TypeError),
        (lambda c: c.tasks.add_collection("j", [], tiemout=5), TypeError),
        (lambda c: c.tasks.add_collection("j", [], client_request_id="c"), TypeError),
        (lambda c: c.tasks.get("j", "t", filter="x"), TypeError),
        (lambda c: c.jobs.delete("j", select="id"), TypeError),
        (lambda c: c.tasks.get("j", "t", max_results=5), TypeError),
    ],
    ids=[
        "misspelt",
        "raw-keyword",
        "job-get",
        "conditional-on-add",
        "raw-view",
        "bulk",
        "bulk2",
        "filter-on-get",
        "select-on-delete",
        "max-results-on-get",
    ],
)
async def test_bad_options_are_refused_before_sending(
    call: Any, error: type[Exception], service: FakeService, client: BatchClient
) -> None:
    with pytest.raises(error):
        await call(client)
    assert service.sent == []


async def test_bad_option_on_a_list_is_refused_at_call_time(
    service: FakeService, client: BatchClient
) -> None:
    with pytest.raises(TypeError, match="tiemout"):
        client.tasks.list("j", tiemout=5)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="conditional"):
        client.jobs.list(if_match="x")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="max_results"):
        client.tasks.list("j", max_results=1001)
    assert service.sent == []


async def test_odata_options_reach_the_query(service: FakeService, client: BatchClient) -> None:
    service.reply(Reply(status=200, body=b'{"value": []}'))
    pager = client.tasks.list("j", filter="state eq 'active'", select="id", max_results=7)
    assert await pager.to_list() == []
    service.reply(Reply(status=200, body=TASK % b"t"))
    await client.tasks.get("j", "t", select="id,state", expand="stats")
    listed, got = service.sent
    assert listed.query == {
        "api-version": listed.query["api-version"],
        "$filter": "state eq 'active'",
        "$select": "id",
        "maxresults": "7",
    }
    assert (got.query["$select"], got.query["$expand"]) == ("id,state", "stats")


async def test_options_reach_the_wire_through_the_raw_view(
    service: FakeService, client: BatchClient
) -> None:
    service.reply(Reply(status=200, body=TASK % b"t1", headers={"ETag": "0x9"}))
    raw = await client.tasks.with_raw_response.get(
        "j", "t1", select="id", timeout=7, client_request_id="cid", if_match="0x8"
    )
    assert isinstance(raw, RawResponse)
    assert (raw.status, raw.etag, raw.parsed.id) == (200, "0x9", "t1")
    (sent,) = service.sent
    assert sent.query["timeout"] == "7"
    assert sent.query["$select"] == "id"
    assert sent.headers["client-request-id"] == "cid"
    assert sent.headers["if-match"] == "0x8"


async def test_concurrent_raw_calls_get_their_own_response(
    service: FakeService, client: BatchClient
) -> None:
    service.reply(*(Reply(status=200, body=TASK % f"t{n}".encode()) for n in range(6)))
    plain = [client.tasks.get("j", f"t{n}") for n in range(3)]
    raws = [client.tasks.with_raw_response.get("j", f"t{n}") for n in range(3, 6)]
    results = await asyncio.gather(*plain, *raws)
    for result in results[3:]:
        assert isinstance(result, RawResponse)
        # The request-id names the request that carried this very task.
        number = int(result.request_id.removeprefix("rid-"))  # type: ignore[union-attr]
        assert result.parsed.id == f"t{number - 1}"


async def test_a_failed_raw_call_leaves_no_capture_behind(
    service: FakeService, client: BatchClient
) -> None:
    service.reply(
        Reply(status=404, body=b'{"code":"TaskNotFound"}'), Reply(status=200), Reply(status=202)
    )
    with pytest.raises(NotFoundError):
        await client.tasks.with_raw_response.delete("j", "t")
    assert await client.tasks.delete("j", "t") is None
    raw = await client.jobs.with_raw_response.delete("j")
    assert (raw.status, raw.request_id, raw.parsed) == (202, "rid-3", None)


def test_raw_view_is_one_object_per_group(client: BatchClient) -> None:
    assert client.tasks.with_raw_response is client.tasks.with_raw_response
    assert client.tasks.with_raw_response.get.__name__ == "get"
    assert client.tasks.with_raw_response.get.__doc__ == TaskOperations.get.__doc__


@pytest.mark.parametrize("options", [RequestOptions, ConditionalOptions, GetOptions, ListOptions])
def test_every_option_is_documented_in_the_class_docstring(options: type[Any]) -> None:
    doc = TaskOperations.__doc__ or ""
    for name in options.__optional_keys__:
        assert f"`{name}`" in doc, name


def test_every_bulk_option_is_documented_once() -> None:
    doc = BulkAddOptions.__doc__ or ""
    for name in BulkAddOptions.__optional_keys__:
        assert f"{name}:" in doc, name
