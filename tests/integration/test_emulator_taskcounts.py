"""The emulator's GET /jobs/{jobId}/taskcounts: body shape, counting by state/result and slots."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from batchtasks.emulator import Emulator

from ._signing_helper import RawClient

_ZERO = {"active": 0, "running": 0, "completed": 0, "succeeded": 0, "failed": 0}


@pytest_asyncio.fixture
async def running() -> AsyncIterator[tuple[Emulator, RawClient]]:
    async with (
        Emulator(in_memory=True, run_tasks=True, task_seconds=10) as emu,
        aiohttp.ClientSession() as s,
    ):
        yield emu, RawClient(s, emu.url, emu.account, emu.key)


async def test_empty_job_counts_zero(raw: RawClient) -> None:
    await raw.create_job("j")
    reply = await raw.send("GET", "/jobs/j/taskcounts")
    assert reply.status == 200
    body = reply.json()
    assert set(body) == {"odata.metadata", "taskCounts", "taskSlotCounts"}
    assert body["taskCounts"] == _ZERO
    assert body["taskSlotCounts"] == _ZERO
    assert reply.headers["request-id"]


async def test_missing_job_is_job_not_found(raw: RawClient) -> None:
    reply = await raw.send("GET", "/jobs/nope/taskcounts")
    assert (reply.status, reply.code) == (404, "JobNotFound")


async def test_counts_follow_states_results_and_required_slots(
    running: tuple[Emulator, RawClient],
) -> None:
    emu, raw = running
    await raw.create_job("j")
    await raw.add_task("j", {"id": "ok", "commandLine": "exit 0", "requiredSlots": 3})
    await raw.add_task("j", {"id": "bad", "commandLine": "exit 2"})
    await raw.add_task("j", {"id": "long", "commandLine": "sleep 1000", "requiredSlots": 2})
    first = (await raw.send("GET", "/jobs/j/taskcounts")).json()
    assert first["taskCounts"] == {**_ZERO, "active": 3}
    assert first["taskSlotCounts"] == {**_ZERO, "active": 6}
    await emu.advance(0)  # all three start
    await emu.advance(20)  # the two short ones finish
    body = (await raw.send("GET", "/jobs/j/taskcounts")).json()
    assert body["taskCounts"] == {
        "active": 0,
        "running": 1,
        "completed": 2,
        "succeeded": 1,
        "failed": 1,
    }
    assert body["taskSlotCounts"] == {
        "active": 0,
        "running": 2,
        "completed": 4,
        "succeeded": 3,
        "failed": 1,
    }
    # Job stats still count succeeded/failed tasks from the same query.
    job = (await raw.send("GET", "/jobs/j", query={"$expand": "stats"})).json()
    assert (job["stats"]["numSucceededTasks"], job["stats"]["numFailedTasks"]) == ("1", "1")
