"""The emulator's api-versions over the wire: each served version, the version table's property
differences (request refused, response pruned), malformed/unsupported versions, and job
replace/update. Raw signed HTTP, so nothing of either client is involved.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batchtasks.emulator.versions import PROPERTIES, SUPPORTED, classify

from ._signing_helper import RawClient

V19, V20, V2025 = "2024-02-01.19.0", "2024-07-01.20.0", "2025-06-01"
BIND = {"imageName": "ubuntu", "containerHostBatchBindMounts": [{"source": "Task"}]}
TOKEN = {"access": ["job"]}


@pytest.mark.parametrize("version", SUPPORTED)
async def test_every_served_version_answers(raw: RawClient, version: str) -> None:
    created = await raw.send(
        "POST", "/jobs", body={"id": "j", "poolInfo": {"poolId": "p"}}, api_version=version
    )
    assert created.status == 201
    added = await raw.send(
        "POST", "/jobs/j/tasks", body={"id": "t", "commandLine": "x"}, api_version=version
    )
    assert added.status == 201
    listed = await raw.send("GET", "/jobs/j/tasks", api_version=version)
    assert [t["id"] for t in listed.json()["value"]] == ["t"]
    counts = await raw.send("GET", "/jobs/j/taskcounts", api_version=version)
    assert counts.json()["taskCounts"]["active"] == 1
    assert (await raw.send("GET", "/jobs/j/tasks/nope", api_version=version)).status == 404


@pytest.mark.parametrize(
    ("version", "status", "code"),
    [
        (None, 400, "MissingRequiredQueryParameter"),
        ("", 400, "MissingRequiredQueryParameter"),
        ("2000-01-01.1.0", 400, "UnsupportedRequestVersion"),
        ("2026-01-01", 400, "UnsupportedRequestVersion"),
        ("latest", 400, "InvalidQueryParameterValue"),
        ("2024-02-01.19", 400, "InvalidQueryParameterValue"),
        ("2024-02-01.19.0 ", 400, "InvalidQueryParameterValue"),
        ("\u00e9" * 300, 400, "InvalidQueryParameterValue"),
    ],
)
async def test_bad_versions_get_the_services_errors(
    raw: RawClient, version: str | None, status: int, code: str
) -> None:
    for method, path in (("GET", "/jobs"), ("POST", "/jobs/j/tasks"), ("GET", "/nowhere")):
        reply = await raw.send(
            method, path, api_version=version, body={} if method == "POST" else None
        )
        assert (reply.status, reply.code) == (status, code)


async def test_unknown_route_is_404_in_every_version(raw: RawClient) -> None:
    for version in SUPPORTED:
        reply = await raw.send("GET", "/jobs/j/tasks/t/nothing-here", api_version=version)
        assert (reply.status, reply.code) == (404, "ResourceNotFound")


async def _task(raw: RawClient, version: str, **extra: Any) -> tuple[int, str | None, Any]:
    reply = await raw.send(
        "POST",
        "/jobs/j/tasks",
        body={"id": "t", "commandLine": "x", **extra},
        api_version=version,
    )
    detail = reply.json().get("values") if reply.body else None
    return reply.status, reply.code, detail


async def test_bind_mounts_exist_from_20(raw: RawClient) -> None:
    await raw.create_job("j")
    status, code, values = await _task(raw, V19, containerSettings=BIND)
    assert (status, code) == (400, "UnsupportedProperty")
    assert {"key": "PropertyName", "value": "containerSettings.containerHostBatchBindMounts"} in (
        values
    )
    assert (await _task(raw, V20, containerSettings=BIND))[0] == 201
    newest = (await raw.get_task("j", "t", api_version=V2025)).json()
    assert newest["containerSettings"]["containerHostBatchBindMounts"] == [{"source": "Task"}]
    older = (await raw.get_task("j", "t", api_version=V19)).json()
    assert older["containerSettings"] == {"imageName": "ubuntu"}
    listed = (await raw.send("GET", "/jobs/j/tasks", api_version="2022-10-01.16.0")).json()
    assert listed["value"][0]["containerSettings"] == {"imageName": "ubuntu"}


async def test_authentication_token_settings_gone_in_2025(raw: RawClient) -> None:
    await raw.create_job("j")
    status, code, values = await _task(raw, V2025, authenticationTokenSettings=TOKEN)
    assert (status, code) == (400, "UnsupportedProperty")
    assert {"key": "PropertyName", "value": "authenticationTokenSettings"} in values
    assert (await _task(raw, V20, authenticationTokenSettings=TOKEN))[0] == 201
    assert "authenticationTokenSettings" in (await raw.get_task("j", "t", api_version=V20)).json()
    assert (
        "authenticationTokenSettings"
        not in (await raw.get_task("j", "t", api_version=V2025)).json()
    )
    select = {"$select": "id,authenticationTokenSettings"}
    refused = await raw.get_task("j", "t", api_version=V2025, query=select)
    assert (refused.status, refused.code) == (400, "InvalidQueryParameterValue")
    assert (await raw.get_task("j", "t", api_version=V19, query=select)).json()[
        "authenticationTokenSettings"
    ] == TOKEN


async def test_add_collection_refuses_per_task(raw: RawClient) -> None:
    await raw.create_job("j")
    body = {
        "value": [
            {"id": "ok", "commandLine": "x"},
            {"id": "new", "commandLine": "x", "containerSettings": BIND},
        ]
    }
    reply = await raw.send("POST", "/jobs/j/addtaskcollection", body=body, api_version=V19)
    results = {r["taskId"]: r for r in reply.json()["value"]}
    assert results["ok"]["status"] == "success"
    assert results["new"]["status"] == "clienterror"
    assert results["new"]["error"]["code"] == "UnsupportedProperty"


async def test_job_properties_by_version(raw: RawClient) -> None:
    network = {"subnetId": "/subscriptions/s/x", "skipWithdrawFromVNet": True}
    job = {"id": "j", "poolInfo": {"poolId": "p"}, "networkConfiguration": network}
    old = await raw.send("POST", "/jobs", body=job, api_version=V19)
    assert (old.status, old.code) == (400, "UnsupportedProperty")
    assert (await raw.send("POST", "/jobs", body=job, api_version=V20)).status == 201
    read_old = (await raw.send("GET", "/jobs/j", api_version=V19)).json()
    assert read_old["networkConfiguration"] == {"subnetId": "/subscriptions/s/x"}
    patch = {"networkConfiguration": {"subnetId": "/subscriptions/s/y"}}
    refused = await raw.send("PATCH", "/jobs/j", body=patch, api_version=V19)
    assert (refused.status, refused.code) == (400, "UnsupportedProperty")
    assert (await raw.send("PATCH", "/jobs/j", body=patch, api_version=V20)).status == 200
    read = (await raw.send("GET", "/jobs/j", api_version=V20)).json()
    assert read["networkConfiguration"] == {"subnetId": "/subscriptions/s/y"}


@given(st.text(max_size=40))
def test_every_version_text_has_a_class(text: str) -> None:
    kind = classify(text)
    assert kind in ("missing", "malformed", "unsupported", "ok")
    assert (kind == "ok") == (text in SUPPORTED)
    assert (kind == "missing") == (text == "")


def test_the_table_names_only_served_versions() -> None:
    for rows in PROPERTIES.values():
        for first, gone in rows.values():
            assert first in SUPPORTED
            assert gone is None or SUPPORTED.index(gone) > SUPPORTED.index(first)


async def test_job_replace_resets_and_update_keeps(raw: RawClient) -> None:
    await raw.create_job(
        "j",
        priority=5,
        maxParallelTasks=3,
        metadata=[{"name": "a", "value": "b"}],
        constraints={"maxTaskRetryCount": 2},
    )
    first = await raw.send("GET", "/jobs/j")
    patched = await raw.send("PATCH", "/jobs/j", body={"priority": "7"})
    assert patched.status == 200
    assert patched.headers["ETag"] != first.headers["ETag"]
    job = (await raw.send("GET", "/jobs/j")).json()
    assert (job["priority"], job["maxParallelTasks"], job["metadata"]) == (
        7,
        3,
        [{"name": "a", "value": "b"}],
    )
    stale = await raw.send(
        "PUT",
        "/jobs/j",
        body={"poolInfo": {"poolId": "p"}},
        headers={"If-Match": first.headers["ETag"]},
    )
    assert (stale.status, stale.code) == (412, "ConditionNotMet")
    replaced = await raw.send(
        "PUT",
        "/jobs/j",
        body={"poolInfo": {"poolId": "p"}, "priority": 1},
        headers={"If-Match": patched.headers["ETag"]},
    )
    assert replaced.status == 200
    job = (await raw.send("GET", "/jobs/j")).json()
    assert (job["priority"], job["maxParallelTasks"], job["constraints"]["maxTaskRetryCount"]) == (
        1,
        -1,
        0,
    )
    assert "metadata" not in job
    no_pool = await raw.send("PUT", "/jobs/j", body={"priority": 1})
    assert (no_pool.status, no_pool.code) == (400, "MissingRequiredProperty")
    unknown = await raw.send("PATCH", "/jobs/j", body={"usesTaskDependencies": True})
    assert (unknown.status, unknown.code) == (400, "UnsupportedProperty")
    missing = await raw.send("PATCH", "/jobs/nope", body={"priority": 1})
    assert (missing.status, missing.code) == (404, "JobNotFound")
