"""Fault injection and the admin endpoints (/_emulator/faults, /reset, /stats, /advance)."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest

from batchtasks.emulator import Emulator, FaultConfig

from ._signing_helper import RawClient


async def _job(raw: RawClient) -> str:
    job = f"job-{uuid.uuid4().hex[:8]}"
    await raw.create_job(job)
    return job


async def test_admin_faults_roundtrip(batch_emulator: Emulator) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{batch_emulator.url}/_emulator/faults") as r:
            assert r.status == 200
            assert await r.json() == FaultConfig().to_json()
        async with s.post(
            f"{batch_emulator.url}/_emulator/faults", json={"throttle_rate": 1.0, "seed": 3}
        ) as r:
            assert r.status == 200
            assert (await r.json())["throttle_rate"] == 1.0
        assert batch_emulator.faults.throttle_rate == 1.0
        for bad in ({"nope": 1}, {"throttle_rate": 2}, {"seed": "x"}):
            async with s.post(f"{batch_emulator.url}/_emulator/faults", json=bad) as r:
                assert r.status == 400
        async with s.post(f"{batch_emulator.url}/_emulator/faults", json={"reset": True}) as r:
            assert (await r.json())["throttle_rate"] == 0.0


@pytest.mark.parametrize(
    ("setting", "status", "code", "kind"),
    [
        ({"throttle_rate": 1.0}, 429, "TooManyRequests", "throttle"),
        ({"server_busy_rate": 1.0}, 503, "ServerBusy", "server_busy"),
        ({"server_error_rate": 1.0}, 500, "InternalError", "server_error"),
    ],
)
async def test_whole_request_faults(
    raw: RawClient,
    batch_emulator: Emulator,
    setting: dict[str, float],
    status: int,
    code: str,
    kind: str,
) -> None:
    job = await _job(raw)
    batch_emulator.set_faults(FaultConfig(retry_after_seconds=7, **setting))
    reply = await raw.add_task(job, {"id": "t", "commandLine": "x"})
    assert (reply.status, reply.code) == (status, code)
    if status != 500:
        assert reply.headers["Retry-After"] == "7"
    batch_emulator.set_faults(FaultConfig())
    # Nothing was done by the failed request.
    assert (await raw.get_task(job, "t")).code == "TaskNotFound"
    assert (await batch_emulator.stats())["faults"][kind] == 1


async def test_fault_decisions_are_seeded(raw: RawClient, batch_emulator: Emulator) -> None:
    async def pattern() -> list[int]:
        batch_emulator.set_faults(FaultConfig(seed=42, server_busy_rate=0.5))
        return [(await raw.send("GET", "/jobs")).status for _ in range(20)]

    first = await pattern()
    assert first == await pattern()
    assert set(first) == {200, 503}


async def test_drop_after_commit(raw: RawClient, batch_emulator: Emulator) -> None:
    job = await _job(raw)
    batch_emulator.set_faults(drop_after_commit_rate=1.0)
    with pytest.raises(aiohttp.ClientError):
        await raw.add_task(job, {"id": "dropped", "commandLine": "x"})
    batch_emulator.set_faults(drop_after_commit_rate=0.0)
    # The answer was lost but the task exists: a retry sees TaskExists.
    assert (await raw.get_task(job, "dropped")).status == 200
    assert (await raw.add_task(job, {"id": "dropped", "commandLine": "x"})).code == "TaskExists"
    assert (await batch_emulator.stats())["faults"]["drop_after_commit"] == 1


async def test_latency_fault_is_counted(raw: RawClient, batch_emulator: Emulator) -> None:
    batch_emulator.set_faults(latency_ms=1.0, latency_jitter_ms=2.0)
    assert (await raw.send("GET", "/jobs")).status == 200
    assert (await batch_emulator.stats())["faults"]["latency"] == 1


async def test_stats_and_reset(raw: RawClient, batch_emulator: Emulator) -> None:
    job = await _job(raw)
    await raw.add_task(job, {"id": "t", "commandLine": "x"})
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{batch_emulator.url}/_emulator/stats") as r:
            stats = await r.json()
        assert stats["tasks_added"] == 1
        assert stats["requests"] == 2
        assert stats["stored"] == {"jobs": 1, "tasks": 1}
        assert stats["requests_by_operation"] == {"job_add": 1, "task_add": 1}
        assert set(stats["faults"]) >= {
            "throttle",
            "server_busy",
            "server_error",
            "task_server_error",
            "drop_after_commit",
        }
        async with s.post(f"{batch_emulator.url}/_emulator/reset", json={}) as r:
            assert r.status == 200
        async with s.get(f"{batch_emulator.url}/_emulator/stats") as r:
            stats = await r.json()
        assert stats["stored"] == {"jobs": 0, "tasks": 0}
        assert stats["requests"] == 0
        async with s.get(f"{batch_emulator.url}/_emulator/openapi.json") as r:
            doc = await r.json()
        assert "/jobs/{jobId}/addtaskcollection" in doc["paths"]


def test_fault_config_validation() -> None:
    with pytest.raises(ValueError):
        FaultConfig(throttle_rate=1.5)
    with pytest.raises(ValueError):
        FaultConfig(body_limit=0)
    with pytest.raises(ValueError):
        FaultConfig(latency_ms=float("nan"))
    with pytest.raises(ValueError):
        FaultConfig.from_json({"latency_ms": True})


async def test_latency_beyond_server_timeout_is_operation_timed_out(
    raw: RawClient, batch_emulator: Emulator
) -> None:
    batch_emulator.set_faults(latency_ms=1500.0)
    reply = await raw.send("GET", "/jobs", query={"timeout": "1"})
    assert (reply.status, reply.code) == (500, "OperationTimedOut")


async def test_factory_fixture_applies_settings(batch_emulator_factory: Any) -> None:
    emu = await batch_emulator_factory(faults=FaultConfig(throttle_rate=1.0), account="other")
    assert emu.account == "other"
    assert emu.faults.throttle_rate == 1.0
    async with aiohttp.ClientSession() as s:
        raw = RawClient(s, emu.url, emu.account, emu.key)
        assert (await raw.send("GET", "/jobs")).status == 429
