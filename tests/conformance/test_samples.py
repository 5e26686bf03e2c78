"""The service's own example bodies (tests/samples/) against the emulator.

Request bodies must be accepted; response bodies must be reproduced in shape (same keys with the
same JSON types for a comparable resource).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from batchtasks.emulator import Emulator
from tests.integration._signing_helper import RawClient

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
pytestmark = pytest.mark.conformance


def _load(name: str) -> dict[str, Any]:
    matches = sorted(SAMPLES.rglob(name))
    assert matches, name
    return dict(json.loads(matches[0].read_text()))


def _sample_names(pattern: str) -> list[str]:
    return sorted({p.name for p in SAMPLES.rglob(pattern)})


@pytest_asyncio.fixture
async def client(batch_emulator: Emulator) -> AsyncIterator[RawClient]:
    async with aiohttp.ClientSession() as session:
        yield RawClient(session, batch_emulator.url, batch_emulator.account, batch_emulator.key)


async def _job(client: RawClient, **extra: Any) -> str:
    job = f"job-{uuid.uuid4().hex[:8]}"
    await client.create_job(job, **extra)
    return job


def _shape(value: Any) -> Any:
    """JSON type skeleton: dict → {key: shape}, list → [shape of first], scalars → type name."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def test_samples_are_present() -> None:
    assert len(_sample_names("TaskAdd_*.json")) >= 4
    assert len(_sample_names("TaskAddCollection_*.json")) >= 2


@pytest.mark.parametrize("name", _sample_names("TaskAdd_*.json"))
async def test_task_add_samples_accepted(client: RawClient, name: str) -> None:
    # TaskAdd_ExitConditions sets a jobAction, which needs a job that performs exit actions.
    job = await _job(client, onTaskFailure="performexitoptionsjobaction")
    body = _load(name)["parameters"]["task"]
    reply = await client.add_task(job, body)
    assert reply.status == 201, reply.body
    stored = (await client.get_task(job, body["id"])).json()
    for key, value in body.items():
        if key != "constraints":
            assert stored[key] == value, key


@pytest.mark.parametrize("name", _sample_names("TaskAddCollection_*.json"))
async def test_task_add_collection_samples_accepted(client: RawClient, name: str) -> None:
    job = await _job(client)
    sample = _load(name)
    reply = await client.send(
        "POST", f"/jobs/{job}/addtaskcollection", body=sample["parameters"]["taskCollection"]
    )
    assert reply.status == 200, reply.body
    ours = reply.json()["value"]
    theirs = sample["responses"]["200"]["body"]["value"]
    assert sorted(r["taskId"] for r in ours) == sorted(r["taskId"] for r in theirs)
    assert {r["status"] for r in ours} == {"success"}
    assert [sorted(_shape(r).items()) for r in sorted(ours, key=lambda r: r["taskId"])] == [
        sorted(_shape(r).items()) for r in sorted(theirs, key=lambda r: r["taskId"])
    ]


async def test_job_action_needs_exit_options_job(client: RawClient) -> None:
    job = await _job(client)
    body = _load("TaskAdd_ExitConditions.json")["parameters"]["task"]
    reply = await client.add_task(job, body)
    assert (reply.status, reply.code) == (400, "InvalidPropertyValue")


async def test_job_add_sample_accepted_and_job_get_shape(client: RawClient) -> None:
    body = dict(_load("JobAdd_Basic.json")["parameters"]["job"])
    body["id"] = f"job-{uuid.uuid4().hex[:8]}"
    reply = await client.send("POST", "/jobs", body=body)
    assert reply.status == 201, reply.body
    ours = (await client.send("GET", f"/jobs/{body['id']}")).json()
    theirs = _load("JobGet.json")["responses"]["200"]["body"]
    # previousState* only exist after a transition; everything else the service returns we return.
    expected = set(theirs) - {"previousState", "previousStateTransitionTime"}
    assert expected <= set(ours)
    for key in expected:
        if key not in ("constraints", "executionInfo"):
            assert _shape(ours[key]) == _shape(theirs[key]), key


def _fresh_from_sample(sample_task: dict[str, Any]) -> dict[str, Any]:
    """The add body that would produce the sample's task."""
    body: dict[str, Any] = {"id": sample_task["id"], "commandLine": sample_task["commandLine"]}
    for key in ("userIdentity", "requiredSlots", "multiInstanceSettings", "constraints"):
        if key in sample_task:
            body[key] = sample_task[key]
    return body


@pytest.mark.parametrize("name", ["TaskList.json", "TaskGet.json"])
async def test_task_responses_have_sample_shape(client: RawClient, name: str) -> None:
    sample = _load(name)["responses"]["200"]["body"]
    theirs = sample.get("value", [sample])
    job = await _job(client)
    for task in theirs:
        assert (await client.add_task(job, _fresh_from_sample(task))).status == 201
    if "value" in sample:
        listed = (await client.send("GET", f"/jobs/{job}/tasks")).json()
        assert set(listed) - {"odata.metadata"} == set(sample)
        ours = {t["id"]: t for t in listed["value"]}
    else:
        got = (await client.get_task(job, theirs[0]["id"])).json()
        got.pop("odata.metadata")
        ours = {got["id"]: got}
    for task in theirs:
        assert _shape(ours[task["id"]]) == _shape(task), task["id"]


async def test_list_subtasks_shape() -> None:
    sample = _load("TaskListSubtasks.json")["responses"]["200"]["body"]["value"]
    async with (
        Emulator(in_memory=True, run_tasks=True, task_seconds=10) as emu,
        aiohttp.ClientSession() as s,
    ):
        client = RawClient(s, emu.url, emu.account, emu.key)
        await client.create_job("j")
        mi = {"numberOfInstances": 3, "coordinationCommandLine": "c"}
        await client.add_task(
            "j", {"id": "done", "commandLine": "exit 0", "multiInstanceSettings": mi}
        )
        await emu.advance(0)
        running = (await client.send("GET", "/jobs/j/tasks/done/subtasksinfo")).json()["value"]
        await emu.advance(60)
        completed = (await client.send("GET", "/jobs/j/tasks/done/subtasksinfo")).json()["value"]
    by_state = {s["state"]: s for s in sample}
    # The spec's SubtaskInformation also has `result` (absent from this 2016 example).
    assert set(completed[0]) - set(by_state["completed"]) == {"result"}
    completed[0].pop("result")
    assert _shape(completed[0]) == _shape(by_state["completed"])
    assert _shape(running[0]) == _shape(by_state["running"])
