"""Paging: odata.nextLink followed lazily across 3 pages, by_page tokens, resuming, safety."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from batchtasks import BatchClient, Page, RetryPolicy, SharedKeyCredential
from batchtasks._private.constants import API_VERSION
from batchtasks._private.paging import AsyncPager
from tests.unit.conftest import BASE_URL, VECTOR_ACCOUNT, VECTOR_KEY, FakeService, Reply

_LIST = f"{BASE_URL}/jobs/job-1/tasks?api-version={API_VERSION}&maxresults=2"
_FILTER = "$filter=state%20eq%20%27active%27"
LINK2 = f"{_LIST}&$skiptoken=tok%2B2&{_FILTER}"
LINK3 = f"{_LIST}&$skiptoken=tok3&{_FILTER}"


def page(ids: list[str], link: str | None) -> Reply:
    items = ",".join(f'{{"id":"{i}"}}' for i in ids)
    next_part = f',"odata.nextLink":"{link}"' if link else ""
    return Reply(status=200, body=f'{{"value":[{items}]{next_part}}}'.encode())


@pytest.fixture
async def client(service: FakeService) -> AsyncIterator[BatchClient]:
    credential = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    async with BatchClient(
        BASE_URL, credential, retry_policy=RetryPolicy(max_attempts=1)
    ) as client:
        yield client


async def test_three_pages_are_followed_lazily(service: FakeService, client: BatchClient) -> None:
    service.reply(page(["a", "b"], LINK2), page(["c", "d"], LINK3), page(["e"], None))
    pager = client.tasks.list("job-1", filter="state eq 'active'", max_results=2)
    assert service.sent == []  # nothing before iteration
    iterator = pager.__aiter__()
    assert (await iterator.__anext__()).id == "a"
    assert len(service.sent) == 1
    assert (await iterator.__anext__()).id == "b"
    assert len(service.sent) == 1  # page 2 not fetched until needed
    rest = [task.id async for task in iterator]
    assert rest == ["c", "d", "e"]
    assert len(service.sent) == 3

    first, second, third = service.sent
    assert first.query == {
        "api-version": API_VERSION,
        "$filter": "state eq 'active'",
        "maxresults": "2",
    }
    # Later pages: the link's own query, verbatim (nothing added), on our endpoint.
    assert second.query == {
        "api-version": API_VERSION,
        "maxresults": "2",
        "$skiptoken": "tok+2",
        "$filter": "state eq 'active'",
    }
    assert third.query["$skiptoken"] == "tok3"
    for sent in service.sent:
        assert sent.method == "GET"
        assert sent.url.path == "/jobs/job-1/tasks"
        assert sent.headers["authorization"] == sent.expected_authorization()


async def test_by_page_gives_tokens_and_resumes(service: FakeService, client: BatchClient) -> None:
    service.reply(page(["a", "b"], LINK2), page(["c", "d"], LINK3), page(["e"], None))
    pages = [p async for p in client.tasks.list("job-1").by_page()]
    assert [[t.id for t in p] for p in pages] == [["a", "b"], ["c", "d"], ["e"]]
    assert [p.continuation_token for p in pages] == [LINK2, LINK3, None]
    assert [p.request_id for p in pages] == ["rid-1", "rid-2", "rid-3"]
    assert all(p.status == 200 for p in pages)

    service.sent.clear()
    service.reply(page(["c", "d"], LINK3), page(["e"], None))
    resumed = [p async for p in client.tasks.list("job-1").by_page(continuation_token=LINK2)]
    assert [[t.id for t in p] for p in resumed] == [["c", "d"], ["e"]]
    assert service.sent[0].query["$skiptoken"] == "tok+2"


async def test_empty_page_with_next_link_is_skipped(
    service: FakeService, client: BatchClient
) -> None:
    service.reply(page([], LINK2), page(["x"], None))
    assert [t.id async for t in client.tasks.list("job-1")] == ["x"]


async def test_next_link_to_another_host_stays_on_our_endpoint(
    service: FakeService, client: BatchClient
) -> None:
    evil = f"https://attacker.example/jobs/job-1/tasks?api-version={API_VERSION}&$skiptoken=z"
    service.reply(page(["a"], evil), page(["b"], None))
    assert [t.id async for t in client.tasks.list("job-1")] == ["a", "b"]
    assert service.sent[1].url.host == "myaccount.westus.batch.azure.com"


async def test_pager_iterates_again_from_the_start_and_anext() -> None:
    calls: list[str | None] = []

    async def fetch(token: str | None) -> Page[int]:
        calls.append(token)
        if token is None:
            return Page([1, 2], "p2")
        return Page([3], None)

    pager = AsyncPager(fetch)
    assert [i async for i in pager] == [1, 2, 3]
    assert await pager.to_list() == [1, 2, 3]
    assert calls == [None, "p2", None, "p2"]
    assert await pager.__anext__() == 1
    assert await pager.__anext__() == 2
    assert await pager.__anext__() == 3
    with pytest.raises(StopAsyncIteration):
        await pager.__anext__()
    page_obj = Page(["x", "y"], None, headers={"request-id": "r"})
    assert list(page_obj) == ["x", "y"]
    assert [i async for i in page_obj] == ["x", "y"]
    assert len(page_obj) == 2
    assert page_obj.request_id == "r"
