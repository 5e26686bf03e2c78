"""Edge cases: job deletion in progress, unknown URIs, header validation, hostile input."""

from __future__ import annotations

import random
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
    assert (unknown.status, unknown.code) == (404, "ResourceNotFound")
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


def _random_json(rng: random.Random, depth: int = 0) -> object:
    kinds = ["none", "int", "str", "bool", "float"] + (["list", "dict"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "none":
        return None
    if kind == "int":
        return rng.choice([0, 1, -1, 2**31, -(2**63), rng.randint(-5, 5)])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "float":
        return rng.choice([0.5, -1e308, 1e-9])
    if kind == "str":
        return rng.choice(["", "x", "PT1H", "P7D", "task", "ü" * 3, "a" * 70, "../x", "pool"])
    if kind == "list":
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = [
        "id",
        "start",
        "end",
        "name",
        "value",
        "scope",
        "elevationLevel",
        "httpUrl",
        "filePath",
        "numberOfInstances",
        "coordinationCommandLine",
        "taskIds",
        "imageName",
        "jobAction",
    ]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


TASK_KEYS = [
    "displayName",
    "containerSettings",
    "exitConditions",
    "resourceFiles",
    "outputFiles",
    "environmentSettings",
    "affinityInfo",
    "constraints",
    "requiredSlots",
    "userIdentity",
    "multiInstanceSettings",
    "dependsOn",
    "applicationPackageReferences",
    "authenticationTokenSettings",
    "commandLine",
    "id",
]


async def test_random_task_bodies_never_cause_server_errors(raw: RawClient) -> None:
    rng = random.Random(20261125)
    await raw.create_job("fuzz", usesTaskDependencies=True)
    for batch in range(4):
        tasks = []
        for i in range(100):
            task: dict[str, object] = {"id": f"f{batch}-{i}", "commandLine": "x"}
            for key in rng.sample(TASK_KEYS, rng.randint(1, 4)):
                task[key] = _random_json(rng)
            tasks.append(task)
        reply = await raw.send("POST", "/jobs/fuzz/addtaskcollection", body={"value": tasks})
        assert reply.status == 200, reply.body
        for result in reply.json()["value"]:
            assert result["status"] in ("success", "clienterror"), result
            if result["status"] == "success":
                got = await raw.get_task("fuzz", result["taskId"])
                assert got.status == 200
    listed = await raw.send("GET", "/jobs/fuzz/tasks", query={"$expand": "stats"})
    assert listed.status == 200


async def test_random_single_adds_and_updates_answer_4xx_not_5xx(raw: RawClient) -> None:
    rng = random.Random(7)
    await raw.create_job("fuzz1")
    assert (await raw.add_task("fuzz1", {"id": "base", "commandLine": "x"})).status == 201
    for i in range(60):
        task: dict[str, object] = {"id": f"s{i}", "commandLine": "x"}
        for key in rng.sample(TASK_KEYS, rng.randint(1, 3)):
            task[key] = _random_json(rng)
        reply = await raw.add_task("fuzz1", task)
        assert reply.status in (201, 400, 409), reply.body
        update = await raw.send(
            "PUT", "/jobs/fuzz1/tasks/base", body={"constraints": _random_json(rng)}
        )
        assert update.status in (200, 400), update.body


async def test_non_finite_numbers_are_invalid_json(raw: RawClient) -> None:
    await raw.create_job("nan")
    for text in (
        b'{"id":"a","commandLine":"x","exitConditions":{"x":NaN}}',
        b'{"id":"a","commandLine":"x","exitConditions":{"x":1e400}}',
    ):
        reply = await raw.send("POST", "/jobs/nan/tasks", raw_body=text)
        assert (reply.status, reply.code) == (400, "InvalidRequestBody")
