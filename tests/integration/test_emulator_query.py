"""List queries ($filter/$select/$expand/maxresults/paging) and conditional headers."""

from __future__ import annotations

import asyncio
import email.utils
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from batchtasks.emulator import Emulator

from ._signing_helper import RawClient


async def _job_with_tasks(raw: RawClient, n: int) -> str:
    job = f"job-{uuid.uuid4().hex[:8]}"
    await raw.create_job(job)
    tasks = [{"id": f"task-{i:03d}", "commandLine": f"exit {i % 3}"} for i in range(n)]
    reply = await raw.send("POST", f"/jobs/{job}/addtaskcollection", body={"value": tasks})
    assert reply.status == 200
    return job


async def _list_all(
    raw: RawClient, job: str, query: dict[str, str]
) -> tuple[list[dict[str, object]], int]:
    reply = await raw.send("GET", f"/jobs/{job}/tasks", query=query)
    assert reply.status == 200, reply.body
    pages = 1
    body = reply.json()
    items = list(body["value"])
    while "odata.nextLink" in body:
        # Fetched verbatim, as the official SDK does.
        reply = await raw.send("GET", body["odata.nextLink"])
        assert reply.status == 200, reply.body
        body = reply.json()
        items += body["value"]
        pages += 1
    return items, pages


async def test_paging_with_next_link(raw: RawClient, batch_emulator: Emulator) -> None:
    job = await _job_with_tasks(raw, 25)
    first = (await raw.send("GET", f"/jobs/{job}/tasks", query={"maxresults": "10"})).json()
    link = urlsplit(first["odata.nextLink"])
    assert f"{link.scheme}://{link.netloc}" == batch_emulator.url
    params = parse_qs(link.query)
    assert params["api-version"] == ["2024-02-01.19.0"]
    assert "$skiptoken" in params
    items, pages = await _list_all(raw, job, {"maxresults": "10"})
    assert pages == 3
    assert sorted(t["id"] for t in items) == [f"task-{i:03d}" for i in range(25)]
    assert first["odata.metadata"].endswith("/$metadata#tasks")


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("state eq 'active'", set(range(12))),
        ("state ne 'active'", set()),
        ("id eq 'task-003'", {3}),
        ("id eq 'TASK-003'", {3}),
        ("startswith(id,'task-00')", set(range(10))),
        ("startswith(id, 'task-01') or id eq 'task-002'", {10, 11, 2}),
        ("(id ge 'task-005' and id lt 'task-008') or id eq 'task-000'", {0, 5, 6, 7}),
        ("not (id le 'task-009')", {10, 11}),
        ("creationTime ge datetime'2000-01-01T00:00:00Z' and id gt 'task-010'", {11}),
        ("stateTransitionTime lt 2000-01-01T00:00:00Z", set()),
        ("executionInfo/exitCode eq 0", set()),
    ],
)
async def test_filters(raw: RawClient, expr: str, expected: set[int]) -> None:
    job = await _job_with_tasks(raw, 12)
    items, _ = await _list_all(raw, job, {"$filter": expr, "maxresults": "5"})
    assert {int(str(t["id"])[5:]) for t in items} == expected


@pytest.mark.parametrize(
    "expr",
    [
        "",
        "state eq 'bogus'",
        "state gt 'active'",
        "displayName eq 'x'",
        "id eq 3",
        "executionInfo/exitCode eq 'x'",
        "creationTime gt 'not a date'",
        "(state eq 'active'",
        "state eq 'active' xor id eq 'a'",
        "id eq 'a'; DROP TABLE tasks",
        "startswith(state,'a')",
    ],
)
async def test_unsupported_filters_are_rejected(raw: RawClient, expr: str) -> None:
    job = await _job_with_tasks(raw, 1)
    reply = await raw.send("GET", f"/jobs/{job}/tasks", query={"$filter": expr})
    assert (reply.status, reply.code) == (400, "InvalidQueryParameterValue")
    values = {v["key"]: v["value"] for v in reply.json()["values"]}
    assert values["QueryParameterName"] == "$filter"
    assert values["QueryParameterValue"] == expr
    assert values["Reason"]


async def test_select_and_expand(raw: RawClient) -> None:
    job = await _job_with_tasks(raw, 2)
    body = (await raw.send("GET", f"/jobs/{job}/tasks", query={"$select": "id,state"})).json()
    assert [set(t) for t in body["value"]] == [{"id", "state"}] * 2
    got = (
        await raw.get_task(job, "task-000", query={"$select": "id,eTag", "$expand": "stats"})
    ).json()
    assert set(got) == {"odata.metadata", "id", "eTag"}
    full = (await raw.get_task(job, "task-000", query={"$expand": "stats"})).json()
    assert set(full["stats"]) == {
        "url",
        "startTime",
        "lastUpdateTime",
        "userCPUTime",
        "kernelCPUTime",
        "wallClockTime",
        "readIOps",
        "writeIOps",
        "readIOGiB",
        "writeIOGiB",
        "waitTime",
    }
    assert "stats" not in (await raw.get_task(job, "task-000")).json()
    bad = await raw.send("GET", f"/jobs/{job}/tasks", query={"$select": "id,nope"})
    assert (bad.status, bad.code) == (400, "InvalidQueryParameterValue")
    bad = await raw.send("GET", f"/jobs/{job}/tasks", query={"$expand": "files"})
    assert (bad.status, bad.code) == (400, "InvalidQueryParameterValue")


@pytest.mark.parametrize("value", ["0", "1001", "-1"])
async def test_maxresults_out_of_range(raw: RawClient, value: str) -> None:
    job = await _job_with_tasks(raw, 1)
    reply = await raw.send("GET", f"/jobs/{job}/tasks", query={"maxresults": value})
    assert (reply.status, reply.code) == (400, "OutOfRangeQueryParameterValue")


async def test_bad_skiptoken_and_maxresults_type(raw: RawClient) -> None:
    job = await _job_with_tasks(raw, 1)
    reply = await raw.send("GET", f"/jobs/{job}/tasks", query={"$skiptoken": "garbage!"})
    assert (reply.status, reply.code) == (400, "InvalidQueryParameterValue")
    reply = await raw.send("GET", f"/jobs/{job}/tasks", query={"maxresults": "ten"})
    assert (reply.status, reply.code) == (400, "InvalidQueryParameterValue")


def _http_date(offset: float) -> str:
    import time

    return email.utils.formatdate(time.time() + offset, usegmt=True)


async def test_conditional_reads(raw: RawClient) -> None:
    job = await _job_with_tasks(raw, 1)
    etag = (await raw.get_task(job, "task-000")).headers["ETag"]
    same = await raw.get_task(job, "task-000", headers={"If-None-Match": etag})
    assert same.status == 304
    assert same.body == b""
    assert (await raw.get_task(job, "task-000", headers={"If-None-Match": "0x1"})).status == 200
    assert (await raw.get_task(job, "task-000", headers={"If-Match": etag})).status == 200
    assert (await raw.get_task(job, "task-000", headers={"If-Match": "0x1"})).status == 304
    assert (
        await raw.get_task(job, "task-000", headers={"If-Modified-Since": _http_date(3600)})
    ).status == 304
    assert (
        await raw.get_task(job, "task-000", headers={"If-Modified-Since": _http_date(-3600)})
    ).status == 200
    job_etag = (await raw.send("GET", f"/jobs/{job}")).headers["ETag"]
    assert (
        await raw.send("GET", f"/jobs/{job}", headers={"If-None-Match": job_etag})
    ).status == 304


async def test_conditional_writes(raw: RawClient) -> None:
    job = await _job_with_tasks(raw, 1)
    path = f"/jobs/{job}/tasks/task-000"
    etag = (await raw.get_task(job, "task-000")).headers["ETag"]
    stale = await raw.send("PUT", path, body={}, headers={"If-Match": "0x1"})
    assert (stale.status, stale.code) == (412, "ConditionNotMet")
    ok = await raw.send("PUT", path, body={}, headers={"If-Match": etag})
    assert ok.status == 200
    assert ok.headers["ETag"] != etag
    old = await raw.send("POST", f"{path}/terminate", headers={"If-Match": etag})
    assert (old.status, old.code) == (412, "ConditionNotMet")
    unmod = await raw.send("DELETE", path, headers={"If-Unmodified-Since": _http_date(-3600)})
    assert (unmod.status, unmod.code) == (412, "ConditionNotMet")
    none = await raw.send("DELETE", path, headers={"If-None-Match": ok.headers["ETag"]})
    assert (none.status, none.code) == (412, "ConditionNotMet")
    assert (
        await raw.send("DELETE", path, headers={"If-Unmodified-Since": _http_date(3600)})
    ).status == 200


async def test_multiple_condition_headers_rejected(raw: RawClient) -> None:
    job = await _job_with_tasks(raw, 1)
    reply = await raw.get_task(job, "task-000", headers={"If-Match": "0x1", "If-None-Match": "0x2"})
    assert (reply.status, reply.code) == (400, "MultipleConditionHeadersNotSupported")
    bad_date = await raw.get_task(job, "task-000", headers={"If-Modified-Since": "soon"})
    assert (bad_date.status, bad_date.code) == (400, "InvalidHeaderValue")


async def test_job_list_paging_and_filter(raw: RawClient) -> None:
    prefix = f"pj{uuid.uuid4().hex[:6]}"
    await asyncio.gather(*(raw.create_job(f"{prefix}-{i}") for i in range(7)))
    reply = await raw.send(
        "GET", "/jobs", query={"$filter": f"startswith(id,'{prefix}')", "maxresults": "3"}
    )
    body = reply.json()
    ids = [j["id"] for j in body["value"]]
    while "odata.nextLink" in body:
        body = (await raw.send("GET", body["odata.nextLink"])).json()
        ids += [j["id"] for j in body["value"]]
    assert sorted(ids) == [f"{prefix}-{i}" for i in range(7)]


async def test_quoted_etag_is_tolerated(raw: RawClient) -> None:
    job = await _job_with_tasks(raw, 1)
    etag = (await raw.get_task(job, "task-000")).headers["ETag"]
    reply = await raw.send(
        "PUT", f"/jobs/{job}/tasks/task-000", body={}, headers={"If-Match": f'"{etag}"'}
    )
    assert reply.status == 200
