"""Edge cases: job deletion in progress, unknown URIs, header validation, hostile input."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchtasks.emulator import Emulator
from batchtasks.emulator.filters import TASK_FIELDS, FilterError, compile_filter

from ._signing_helper import RawClient


@pytest_asyncio.fixture
async def slow_delete() -> AsyncIterator[tuple[Emulator, RawClient]]:
    async with Emulator(in_memory=True, job_delete_delay=30.0) as emu, aiohttp.ClientSession() as s:
        yield emu, RawClient(s, emu.url, emu.account, emu.key)


async def test_job_being_deleted(slow_delete: tuple[Emulator, RawClient]) -> None:
    _, raw = slow_delete
    await raw.create_job("j")
    await raw.add_task("j", {"id": "t", "commandLine": "x"})
    assert (await raw.send("DELETE", "/jobs/j")).status == 202
    job = (await raw.send("GET", "/jobs/j")).json()
    assert (job["state"], job["previousState"]) == ("deleting", "active")
    for reply in (
        await raw.add_task("j", {"id": "u", "commandLine": "x"}),
        await raw.send("POST", "/jobs/j/addtaskcollection", body={"value": []}),
        await raw.send("POST", "/jobs/j/tasks/t/terminate"),
        await raw.send("PUT", "/jobs/j/tasks/t", body={}),
        await raw.send("DELETE", "/jobs/j"),
    ):
        assert (reply.status, reply.code) == (409, "JobBeingDeleted")
    assert (await raw.get_task("j", "t")).status == 200


async def test_unknown_uri_and_verb(raw: RawClient) -> None:
    unknown = await raw.send("GET", "/pools")
    assert (unknown.status, unknown.code) == (400, "InvalidUri")
    verb = await raw.send("PATCH", "/jobs")
    assert (verb.status, verb.code) == (405, "UnsupportedHttpVerb")


async def test_client_request_id_must_be_a_guid(raw: RawClient) -> None:
    reply = await raw.send("GET", "/jobs", headers={"client-request-id": "not-a-guid"})
    assert (reply.status, reply.code) == (400, "InvalidHeaderValue")


async def test_hostile_bodies(raw: RawClient) -> None:
    await raw.create_job("j")
    nested = await raw.send("POST", "/jobs/j/tasks", raw_body=b"[" * 100_000)
    assert (nested.status, nested.code) == (400, "InvalidRequestBody")
    not_object = await raw.send("POST", "/jobs/j/addtaskcollection", body=[1, 2])
    assert (not_object.status, not_object.code) == (400, "InvalidRequestBody")
    items = await raw.send("POST", "/jobs/j/addtaskcollection", body={"value": [1, "x", None]})
    assert {r["status"] for r in items.json()["value"]} == {"clienterror"}
    bad_timeout = await raw.send("GET", "/jobs", query={"timeout": "soon"})
    assert (bad_timeout.status, bad_timeout.code) == (400, "InvalidQueryParameterValue")


_ATOMS = st.sampled_from(
    [
        "state",
        "id",
        "eq",
        "ne",
        "gt",
        "and",
        "or",
        "not",
        "(",
        ")",
        ",",
        "'x'",
        "'a''b'",
        "3",
        "-1",
        "startswith",
        "executionInfo/exitCode",
        "creationTime",
        "datetime'2024-01-01T00:00:00Z'",
        "true",
        "'; DROP TABLE tasks; --",
        '"',
        "%",
        "_",
        "\\",
    ]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(st.lists(_ATOMS, max_size=12).map(" ".join), st.text(max_size=60)))
def test_filter_compiler_never_leaks_input_into_sql(text: str) -> None:
    try:
        sql, params = compile_filter(text, TASK_FIELDS)
    except FilterError:
        return
    # Only fixed column names, operators and placeholders: no quote from the input survives.
    assert "'" not in sql.replace("ESCAPE '\\'", "")
    assert sql.count("?") == len(params)


async def test_job_delete_is_conditional(raw: RawClient) -> None:
    await raw.create_job("cj")
    stale = await raw.send("DELETE", "/jobs/cj", headers={"If-Match": "0x1"})
    assert (stale.status, stale.code) == (412, "ConditionNotMet")
    etag = (await raw.send("GET", "/jobs/cj")).headers["ETag"]
    assert (await raw.send("DELETE", "/jobs/cj", headers={"If-Match": etag})).status == 202
