"""The client against answers built to exhaust it, and against header values built to split it.

A raw-socket server on 127.0.0.1 sends what a hostile service or proxy would: a body far over any
real answer, a body that never ends, a gzip bomb, an add_collection answer of 100,000 foreign
results, a list whose `odata.nextLink` points back at itself or never stops, links that are not
text. The client ends each with its own error naming the limit, with its memory bounded while it
reads (peak RSS sampled during the call). Header values with CR/LF/NUL or a lone surrogate are
refused before any connection, with a `ValueError` naming the option.
"""

from __future__ import annotations

import asyncio
import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from batchtasks import (
    BatchClient,
    PagingError,
    ResponseLimits,
    ResponseTooLargeError,
    RetryPolicy,
    ServerError,
    SharedKeyCredential,
    Timeout,
)

from ._raw_server import RawRequest, answer, head, raw_server, rss

MIB = 1024 * 1024
TASK = json.dumps({"id": "t", "state": "active", "commandLine": "x"}).encode()


async def _no_sleep(_: float) -> None:
    return None


def client_for(url: str, **kwargs: Any) -> BatchClient:
    kwargs.setdefault("timeout", Timeout(connect=5, read=20, total=20))
    return BatchClient(
        url,
        SharedKeyCredential("acct", "a2V5"),
        retry_policy=RetryPolicy(max_attempts=2, sleep=_no_sleep),
        **kwargs,
    )


@contextmanager
def peak_rss_growth() -> Iterator[list[int]]:
    """Sample RSS every 2 ms on a thread; yields a list that holds the peak growth at exit."""
    base = rss()
    peak = [base]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss())
            stop.wait(0.002)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out: list[int] = []
    try:
        yield out
    finally:
        stop.set()
        thread.join()
        out.append(max(peak[0], rss()) - base)


# -- item 2: response size ------------------------------------------------------------------------


async def test_a_huge_answer_is_refused_with_memory_bounded() -> None:
    # Regression: the whole body was read (a 2 GiB answer took the client to 6.5 GB RSS).
    body = b'{"id":"t","commandLine":"' + b"x" * (96 * MIB) + b'"}'

    async def huge(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await answer(writer, 200, body)

    async with raw_server(huge) as server, client_for(server.url) as client:
        with peak_rss_growth() as growth, pytest.raises(ResponseTooLargeError) as caught:
            await asyncio.wait_for(client.tasks.get("j", "t"), 60)
    assert caught.value.status == 200
    assert caught.value.limit == ResponseLimits().resource
    assert "ResponseLimits.resource" in str(caught.value)
    assert growth[0] < 48 * MIB, growth


async def test_a_never_ending_body_ends_at_the_limit() -> None:
    # Regression: only the total timeout cut a body that never ends.
    async def endless(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(head(200, {"Transfer-Encoding": "chunked"}))
        chunk = b"x" * 65536
        while True:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            await asyncio.sleep(0.005)

    async with raw_server(endless) as server, client_for(server.url) as client:
        with pytest.raises(ResponseTooLargeError):
            await asyncio.wait_for(client.tasks.get("j", "t"), 60)


_BOMB: list[bytes] = []


def gzip_bomb(size: int = 256 * MIB) -> bytes:
    """`size` zero bytes, gzip-compressed (about 1/1000 of `size`); built once."""
    if not _BOMB:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = bytes(MIB)
        _BOMB.append(b"".join(packer.compress(zeros) for _ in range(size // MIB)) + packer.flush())
    return _BOMB[0]


async def test_a_gzip_bomb_is_stopped_while_inflating() -> None:
    # Regression: a 1 MB bomb took the client to 2.2 GB.
    bomb = gzip_bomb()

    async def explode(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await answer(writer, 200, bomb, **{"Content-Encoding": "gzip"})

    async with raw_server(explode) as server, client_for(server.url) as client:
        with peak_rss_growth() as growth, pytest.raises(ResponseTooLargeError):
            await asyncio.wait_for(client.tasks.get("j", "t"), 60)
    assert growth[0] < 48 * MIB, growth


async def test_limits_are_per_kind_and_per_client() -> None:
    page = b'{"value":[' + b",".join([TASK] * 2000) + b"]}"  # about 100 KB

    async def serve(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await answer(writer, 200, page if request.target.startswith("/jobs/j/tasks?") else TASK)

    limits = ResponseLimits(resource=len(TASK), page=50_000)
    async with raw_server(serve) as server, client_for(server.url, response_limits=limits) as c:
        assert c.response_limits is limits
        assert (await c.tasks.get("j", "t")).id == "t"  # exactly at the limit is fine
        with pytest.raises(ResponseTooLargeError) as caught:
            await c.tasks.list("j").to_list()
        assert caught.value.limit == 50_000
        assert "ResponseLimits.page" in str(caught.value)
    with pytest.raises(ValueError, match="page"):
        ResponseLimits(page=0)


async def test_a_call_can_set_its_own_limit() -> None:
    page = b'{"value":[' + b",".join([TASK] * 20) + b"]}"

    async def serve(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await answer(writer, 200, page if request.target.startswith("/jobs/j/tasks?") else TASK)

    async with raw_server(serve) as server, client_for(server.url) as client:
        with pytest.raises(ResponseTooLargeError) as caught:
            await client.tasks.get("j", "t", max_response_size=len(TASK) - 1)
        assert "max_response_size" in str(caught.value)
        assert caught.value.limit == len(TASK) - 1
        with pytest.raises(ResponseTooLargeError):
            await client.tasks.list("j", max_response_size=100).to_list()
        assert len(await client.tasks.list("j", max_response_size=len(page)).to_list()) == 20
        with pytest.raises(ValueError, match="max_response_size"):
            await client.tasks.get("j", "t", max_response_size=0)


async def test_an_oversized_error_answer_is_cut_and_still_retried() -> None:
    # An error answer is not refused: it is read up to the limit and mapped as usual, so a
    # retryable 500 stays retryable and a final one is a ServerError.
    error = b'{"code":"InternalError","message":{"value":"' + b"e" * (3 * MIB) + b'"}}'
    bodies = [error, TASK]

    async def serve(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        body = bodies.pop(0) if bodies else error
        await answer(writer, 200 if body is TASK else 500, body)

    async with raw_server(serve) as server, client_for(server.url) as client:
        assert (await client.tasks.get("j", "t")).id == "t"
        with pytest.raises(ServerError) as caught:
            await client.jobs.get("j", retry_policy=RetryPolicy(max_attempts=1))
    assert caught.value.status == 500


async def test_an_add_collection_answer_of_foreign_results_is_not_decoded() -> None:
    # Regression: an answer of 1,000,000 results for tasks never sent (45 MB) was decoded in one
    # go, blocking the event loop for 3 s; here 100,000 (about 4.5 MB, over the 2 MiB limit).
    one = b'{"status":"success","taskId":"foreign-%d","eTag":"0x1"}'
    body = b'{"value":[' + b",".join(one % i for i in range(100_000)) + b"]}"

    async def serve(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await answer(writer, 200, body)

    async with raw_server(serve) as server, client_for(server.url) as client:
        result = await asyncio.wait_for(
            client.tasks.add_collection(
                "j", [{"id": f"t{i}", "commandLine": "x"} for i in range(3)], raise_on_failure=False
            ),
            60,
        )
    errors = [o.exception for o in result.outcomes if o.exception is not None]
    assert errors
    assert all(isinstance(e, ResponseTooLargeError) for e in errors), errors
    assert errors[0].limit == ResponseLimits().collection  # type: ignore[attr-defined]


# -- item 4: paging that never ends -----------------------------------------------------------


def _page(link: str | None) -> bytes:
    data: dict[str, Any] = {"value": [json.loads(TASK)]}
    if link is not None:
        data["odata.nextLink"] = link
    return json.dumps(data).encode()


async def test_a_repeated_next_link_ends_the_iteration() -> None:
    # Regression: 9,000 pages in 5 s, memory growing without end.
    async def loop(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await answer(writer, 200, _page("/jobs/j/tasks?api-version=1&$skiptoken=same"))

    async with raw_server(loop) as server, client_for(server.url) as client:
        with pytest.raises(PagingError) as caught:
            await asyncio.wait_for(client.tasks.list("j").to_list(), 30)
        assert caught.value.pages == 2  # the first page, then the one that repeats its link
        assert "repeated" in str(caught.value)
        pages = client.tasks.list("j").by_page(continuation_token=None)
        assert len(await pages.__anext__()) == 1
        with pytest.raises(PagingError):  # the same, page by page
            await pages.__anext__()
    assert len(server.requests) == 4


async def test_max_pages_caps_a_list_that_goes_on() -> None:
    async def onward(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        n = len(server.requests)
        await answer(writer, 200, _page(f"/jobs/j/tasks?api-version=1&$skiptoken={n}"))

    async with raw_server(onward) as server, client_for(server.url) as client:
        with pytest.raises(PagingError) as caught:
            await asyncio.wait_for(client.tasks.list("j").to_list(max_pages=5), 30)
        assert caught.value.pages == 5
        assert len(server.requests) == 5
        pager = client.tasks.list("j")
        pager.max_pages = 3
        seen = [(await pager.__anext__()).id for _ in range(3)]
        assert seen == ["t"] * 3
        with pytest.raises(PagingError):
            await pager.__anext__()
        with pytest.raises(ValueError, match="max_pages"):
            pager.max_pages = 0


@pytest.mark.parametrize(
    "link",
    [
        "/jobs/j/tasks?api-version=1&$skiptoken=a\r\nInjected: 1",
        "/jobs/j/tasks?api-version=1&$skiptoken=a\x00b",
        "/jobs/j/tasks?api-version=1&$skiptoken=\ud800",
        "https://elsewhere.example/not-a-path-link\x7f",
        "jobs/j/tasks?relative",
    ],
)
async def test_an_unusable_next_link_is_our_error(link: str) -> None:
    # Regression: aiohttp's ValueError (the CLI said "invalid argument") or a UnicodeEncodeError
    # from signing escaped.
    async def serve(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await answer(writer, 200, _page(link))

    async with raw_server(serve) as server, client_for(server.url) as client:
        with pytest.raises(PagingError):
            await asyncio.wait_for(client.tasks.list("j").to_list(), 30)
        with pytest.raises(ValueError, match="continuation_token"):
            client.tasks.list("j").by_page(continuation_token="/jobs/j/tasks?x=\n")
    assert len(server.requests) == 1


# -- item 8: header values ------------------------------------------------------------------------

BAD_VALUES = ["abc\r\nInjected: yes", "abc\nx", "a\x00b", "\ud800", "tab\x7f"]


@pytest.mark.parametrize("value", BAD_VALUES)
@pytest.mark.parametrize(
    ("option", "call"),
    [
        ("client_request_id", lambda c, v: c.tasks.get("j", "t", client_request_id=v)),
        ("if_match", lambda c, v: c.tasks.get("j", "t", if_match=v)),
        ("if_none_match", lambda c, v: c.tasks.delete("j", "t", if_none_match=v)),
        ("ocp_date", lambda c, v: c.tasks.get("j", "t", ocp_date=v)),
        (
            "custom_headers['x-ms-app']",
            lambda c, v: c.jobs.get("j", custom_headers={"x-ms-app": v}),
        ),
        ("custom_headers", lambda c, v: c.jobs.get("j", custom_headers={f"x-{v}": "1"})),
        ("client_request_id", lambda c, v: c.tasks.list("j", client_request_id=v).to_list()),
    ],
)
async def test_bad_header_values_are_refused_before_any_connection(
    option: str, call: Any, value: str
) -> None:
    # Regression: aiohttp's ValueError after a connection was opened, naming no option; a lone
    # surrogate gave a UnicodeEncodeError from signing.
    async def never(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        raise AssertionError("nothing should be sent")

    async with raw_server(never) as server, client_for(server.url) as client:
        with pytest.raises(ValueError) as caught:
            await asyncio.wait_for(call(client, value), 30)
    assert option in str(caught.value)
    assert server.connections == 0
