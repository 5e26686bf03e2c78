"""add_collection: per-task results, limits (100 tasks, body size), concurrency."""

from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp

from batchtasks.emulator import Emulator, FaultConfig

from ._signing_helper import CONTENT_TYPE, RawClient, http_date, sign_request


def _tasks(ids: list[str]) -> list[dict[str, object]]:
    return [{"id": i, "commandLine": "echo"} for i in ids]


async def _job(raw: RawClient) -> str:
    job = f"job-{uuid.uuid4().hex[:8]}"
    await raw.create_job(job)
    return job


async def test_results_per_task(raw: RawClient, batch_emulator: Emulator) -> None:
    job = await _job(raw)
    await raw.add_task(job, {"id": "exists", "commandLine": "x"})
    body = {
        "value": [*_tasks(["a", "b", "EXISTS", "dup", "DUP"]), {"id": "bad id", "commandLine": "x"}]
    }
    reply = await raw.send("POST", f"/jobs/{job}/addtaskcollection", body=body)
    assert reply.status == 200
    data = reply.json()
    assert data["odata.metadata"].endswith("#taskaddresult")
    results = {r["taskId"]: r for r in data["value"] if r["taskId"] != "DUP"}
    dup_results = [r for r in data["value"] if r["taskId"].lower() == "dup"]
    assert len(data["value"]) == 6
    for ok in ("a", "b"):
        assert results[ok]["status"] == "success"
        assert results[ok]["eTag"].startswith("0x")
        assert results[ok]["location"] == f"{batch_emulator.url}/jobs/{job}/tasks/{ok}"
        assert "error" not in results[ok]
    assert results["EXISTS"]["status"] == "clienterror"
    assert results["EXISTS"]["error"]["code"] == "TaskExists"
    assert results["bad id"]["error"]["code"] == "InvalidPropertyValue"
    # Duplicate ids in one request: the first wins, the later one is TaskExists.
    by_id = {r["taskId"]: r for r in dup_results}
    assert by_id["dup"]["status"] == "success"
    assert by_id["DUP"]["error"]["code"] == "TaskExists"
    assert (await raw.get_task(job, "dup")).json()["id"] == "dup"
    listed = (await raw.send("GET", f"/jobs/{job}/tasks")).json()["value"]
    assert sorted(t["id"] for t in listed) == ["a", "b", "dup", "exists"]


async def test_more_than_100_tasks_is_400(raw: RawClient) -> None:
    job = await _job(raw)
    reply = await raw.send(
        "POST",
        f"/jobs/{job}/addtaskcollection",
        body={"value": _tasks([f"t{i}" for i in range(101)])},
    )
    assert reply.status == 400
    assert reply.code == "InvalidPropertyValue"
    assert (await raw.send("GET", f"/jobs/{job}/tasks")).json()["value"] == []


async def test_whole_request_errors(raw: RawClient) -> None:
    job = await _job(raw)
    missing = await raw.send(
        "POST",
        f"/jobs/nojob-{uuid.uuid4().hex[:6]}/addtaskcollection",
        body={"value": _tasks(["a"])},
    )
    assert (missing.status, missing.code) == (404, "JobNotFound")
    no_value = await raw.send("POST", f"/jobs/{job}/addtaskcollection", body={})
    assert (no_value.status, no_value.code) == (400, "MissingRequiredProperty")


async def test_body_limit_by_content_length(raw: RawClient) -> None:
    job = await _job(raw)
    filler = "x" * 20_000
    tasks = [{"id": f"t{i}", "commandLine": filler} for i in range(60)]
    reply = await raw.send("POST", f"/jobs/{job}/addtaskcollection", body={"value": tasks})
    assert (reply.status, reply.code) == (413, "RequestBodyTooLarge")
    assert {"key": "MaxLimit", "value": "1048576"} in reply.json()["values"]
    assert (await raw.send("GET", f"/jobs/{job}/tasks")).json()["value"] == []


async def test_body_limit_is_strict_and_configurable(
    batch_emulator: Emulator, raw: RawClient
) -> None:
    job = await _job(raw)
    body = json.dumps({"value": _tasks(["a"])}).encode()
    batch_emulator.set_faults(body_limit=len(body))
    at_limit = await raw.send("POST", f"/jobs/{job}/addtaskcollection", raw_body=body)
    assert at_limit.status == 413
    batch_emulator.set_faults(body_limit=len(body) + 1)
    below = await raw.send("POST", f"/jobs/{job}/addtaskcollection", raw_body=body)
    assert below.status == 200
    assert (await batch_emulator.stats())["faults"]["body_too_large"] == 1


async def test_chunked_body_over_limit_is_not_read_whole(
    batch_emulator: Emulator, raw: RawClient
) -> None:
    job = await _job(raw)
    batch_emulator.set_faults(body_limit=4096)
    url = f"{batch_emulator.url}/jobs/{job}/addtaskcollection?api-version=2024-02-01.19.0"
    sent = 0

    async def stream() -> object:
        nonlocal sent
        yield b'{"value": ['
        for i in range(10_000):
            chunk = json.dumps({"id": f"t{i}", "commandLine": "x" * 100}).encode() + b","
            sent += len(chunk)
            yield chunk
        yield b'{"id":"last","commandLine":"x"}]}'

    headers = {"ocp-date": http_date(), "Content-Type": CONTENT_TYPE}
    headers["Authorization"] = sign_request(
        "POST", url, headers, batch_emulator.account, batch_emulator.key
    )
    async with aiohttp.ClientSession() as session:
        try:
            async with session.post(url, data=stream(), headers=headers) as resp:
                status = resp.status
                code = (await resp.json(content_type=None))["code"]
        except aiohttp.ClientError:
            status, code = 413, "RequestBodyTooLarge"  # server closed while we were still sending
    assert (status, code) == (413, "RequestBodyTooLarge")
    stats = await batch_emulator.stats()
    assert stats["faults"]["body_too_large"] == 1
    assert stats["stored"]["tasks"] == 0


async def test_concurrent_overlapping_collections_never_lose_or_duplicate(raw: RawClient) -> None:
    job = await _job(raw)
    ids = [f"task-{i}" for i in range(300)]
    # Eight requests, each with 100 ids drawn from overlapping windows.
    windows = [ids[s : s + 100] for s in (0, 50, 100, 150, 200, 0, 100, 200)]
    replies = await asyncio.gather(
        *(
            raw.send("POST", f"/jobs/{job}/addtaskcollection", body={"value": _tasks(w)})
            for w in windows
        )
    )
    successes: dict[str, int] = {}
    for reply in replies:
        assert reply.status == 200
        for r in reply.json()["value"]:
            if r["status"] == "success":
                successes[r["taskId"]] = successes.get(r["taskId"], 0) + 1
            else:
                assert r["error"]["code"] == "TaskExists"
    assert sorted(successes) == sorted(ids)
    assert set(successes.values()) == {1}
    listed: list[str] = []
    body = (await raw.send("GET", f"/jobs/{job}/tasks")).json()
    listed += [t["id"] for t in body["value"]]
    assert sorted(listed) == sorted(ids)


async def test_per_task_server_error_fault(raw: RawClient, batch_emulator: Emulator) -> None:
    job = await _job(raw)
    batch_emulator.set_faults(FaultConfig(seed=7, task_server_error_rate=0.5))
    reply = await raw.send(
        "POST",
        f"/jobs/{job}/addtaskcollection",
        body={"value": _tasks([f"t{i}" for i in range(100)])},
    )
    results = reply.json()["value"]
    failed = {r["taskId"] for r in results if r["status"] == "servererror"}
    added = {r["taskId"] for r in results if r["status"] == "success"}
    assert failed
    assert added
    assert failed | added == {f"t{i}" for i in range(100)}
    listed = {t["id"] for t in (await raw.send("GET", f"/jobs/{job}/tasks")).json()["value"]}
    assert listed == added
    stats = await batch_emulator.stats()
    assert stats["faults"]["task_server_error"] == len(failed)
    assert stats["tasks_added"] == len(added)
