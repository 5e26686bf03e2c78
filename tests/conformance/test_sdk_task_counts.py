"""Job task counts: the official azure-batch 14.2.0 `job.get_task_counts` against the emulator,
and batchtasks' `jobs.get_task_counts` on the same job (a conformance check of both sides)."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import azure.batch.models as bm
    from azure.batch import BatchServiceClient
    from azure.batch.batch_auth import SharedKeyCredentials

from batchtasks import BatchClient, SharedKeyCredential, TaskCountsResult
from batchtasks.emulator import Emulator

pytestmark = pytest.mark.conformance


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(in_memory=True, run_tasks=True, task_seconds=10) as emu:
        yield emu


def _sdk(emu: Emulator) -> BatchServiceClient:
    return BatchServiceClient(SharedKeyCredentials(emu.account, emu.key), batch_url=emu.url)


def _setup(sdk: BatchServiceClient) -> None:
    sdk.job.add(bm.JobAddParameter(id="j", pool_info=bm.PoolInformation(pool_id="p")))
    sdk.task.add_collection(
        "j",
        [
            bm.TaskAddParameter(id="ok", command_line="exit 0", required_slots=2),
            bm.TaskAddParameter(id="bad", command_line="exit 1"),
            bm.TaskAddParameter(id="long", command_line="sleep 999"),
        ],
    )


async def test_sdk_and_batchtasks_read_the_same_counts(emulator: Emulator) -> None:
    sdk = _sdk(emulator)
    try:
        await asyncio.to_thread(_setup, sdk)
        await emulator.advance(0)
        await emulator.advance(20)
        raw = await asyncio.to_thread(sdk.job.get_task_counts, "j", raw=True)
        result = raw.output
        assert isinstance(result, bm.TaskCountsResult)
        counts, slots = result.task_counts, result.task_slot_counts
        assert (counts.active, counts.running, counts.completed) == (0, 1, 2)
        assert (counts.succeeded, counts.failed) == (1, 1)
        assert (slots.running, slots.completed, slots.succeeded, slots.failed) == (1, 3, 2, 1)
        assert raw.headers["request-id"]
        with pytest.raises(bm.BatchErrorException) as info:
            await asyncio.to_thread(sdk.job.get_task_counts, "missing")
        assert info.value.error.code == "JobNotFound"
    finally:
        sdk.close()
    credential = SharedKeyCredential(emulator.account, emulator.key)
    async with BatchClient(emulator.url, credential) as client:
        ours = await client.jobs.get_task_counts("j")
        raw = await client.jobs.with_raw_response.get_task_counts("j", timeout=5)
    assert isinstance(ours, TaskCountsResult)
    assert ours.task_counts.to_wire() == result.task_counts.serialize()
    assert ours.task_slot_counts.to_wire() == result.task_slot_counts.serialize()
    assert ours.task_counts.total == 3
    assert raw.status == 200
    assert raw.request_id
    assert raw.parsed == ours
