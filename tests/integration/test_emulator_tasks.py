"""The nine Task operations and the Job operations over raw signed HTTP (happy paths + errors)."""

from __future__ import annotations

import re
import uuid

from batchtasks.emulator import Emulator

from ._signing_helper import RawClient

ISO7 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$")
INFINITE = "P10675199DT2H48M5.4775807S"


def uid(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def test_fresh_task_has_service_shape(raw: RawClient, batch_emulator: Emulator) -> None:
    job = uid("job")
    await raw.create_job(job)
    add = await raw.add_task(job, {"id": "Task1", "commandLine": "echo hi"})
    assert add.status == 201
    assert add.body == b""
    assert add.headers["DataServiceVersion"] == "3.0"
    assert add.headers["DataServiceId"] == f"{batch_emulator.url}/jobs/{job}/tasks/Task1"
    assert not add.headers["ETag"].startswith('"')
    got = await raw.get_task(job, "task1")
    assert got.status == 200
    assert got.headers["Content-Type"] == "application/json;odata=minimalmetadata"
    assert got.headers["ETag"] == add.headers["ETag"]
    assert got.headers["Last-Modified"].endswith(" GMT")
    task = got.json()
    assert task["odata.metadata"].endswith("/$metadata#tasks/@Element")
    assert task["id"] == "Task1"
    assert task["url"] == f"{batch_emulator.url}/jobs/{job}/tasks/Task1"
    assert task["eTag"] == add.headers["ETag"]
    assert task["state"] == "active"
    for key in ("creationTime", "lastModified", "stateTransitionTime"):
        assert ISO7.match(task[key]), task[key]
    assert task["stateTransitionTime"] == task["creationTime"]
    assert "previousState" not in task
    assert task["commandLine"] == "echo hi"
    assert task["userIdentity"] == {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}}
    assert task["constraints"] == {
        "maxWallClockTime": INFINITE,
        "retentionTime": "P7D",
        "maxTaskRetryCount": 0,
    }
    assert task["requiredSlots"] == 1
    assert task["executionInfo"] == {"retryCount": 0, "requeueCount": 0}


async def test_task_id_is_case_insensitive_unique(raw: RawClient) -> None:
    job = uid("job")
    await raw.create_job(job)
    assert (await raw.add_task(job, {"id": "abc", "commandLine": "x"})).status == 201
    again = await raw.add_task(job, {"id": "ABC", "commandLine": "x"})
    assert again.status == 409
    assert again.code == "TaskExists"
    assert again.headers["Content-Type"] == "application/json;odata=minimalmetadata"
    body = again.json()
    assert body["message"]["lang"] == "en-US"
    assert f"\nRequestId:{again.headers['request-id']}\nTime:" in body["message"]["value"]


async def test_add_to_missing_job_is_job_not_found(raw: RawClient) -> None:
    reply = await raw.add_task(uid("nojob"), {"id": "a", "commandLine": "x"})
    assert (reply.status, reply.code) == (404, "JobNotFound")


async def test_invalid_task_bodies(raw: RawClient) -> None:
    job = uid("job")
    await raw.create_job(job)
    cases = [
        ({"commandLine": "x"}, "MissingRequiredProperty"),
        ({"id": "a"}, "MissingRequiredProperty"),
        ({"id": "a" * 65, "commandLine": "x"}, "InvalidPropertyValue"),
        ({"id": "a.b", "commandLine": "x"}, "InvalidPropertyValue"),
        ({"id": "a", "commandLine": "x", "bogus": 1}, "UnsupportedProperty"),
        (
            {"id": "a", "commandLine": "x", "constraints": {"maxWallClockTime": "1h"}},
            "InvalidPropertyValue",
        ),
        (
            {"id": "a", "commandLine": "x", "dependsOn": {"taskIds": ["b"]}},
            "TaskDependenciesNotSpecifiedOnJob",
        ),
    ]
    for body, code in cases:
        reply = await raw.add_task(job, body)
        assert (reply.status, reply.code) == (400, code), (body, reply.body)
    bad_json = await raw.send("POST", f"/jobs/{job}/tasks", raw_body=b"{not json")
    assert (bad_json.status, bad_json.code) == (400, "InvalidRequestBody")


async def test_get_missing_task_and_job(raw: RawClient) -> None:
    job = uid("job")
    await raw.create_job(job)
    assert (await raw.get_task(job, "nope")).code == "TaskNotFound"
    assert (await raw.get_task(uid("nojob"), "nope")).code == "JobNotFound"


async def test_update_replaces_constraints(raw: RawClient) -> None:
    job = uid("job")
    await raw.create_job(job)
    await raw.add_task(
        job,
        {
            "id": "t",
            "commandLine": "x",
            "constraints": {"maxTaskRetryCount": 3, "retentionTime": "P1D"},
        },
    )
    reply = await raw.send(
        "PUT", f"/jobs/{job}/tasks/t", body={"constraints": {"maxWallClockTime": "PT1H"}}
    )
    assert reply.status == 200
    assert reply.body == b""
    task = (await raw.get_task(job, "t")).json()
    assert task["constraints"] == {
        "maxWallClockTime": "PT1H",
        "retentionTime": "P7D",
        "maxTaskRetryCount": 0,
    }
    assert task["eTag"] == reply.headers["ETag"]
    reply = await raw.send("PUT", f"/jobs/{job}/tasks/t", body={})
    assert reply.status == 200
    assert (await raw.get_task(job, "t")).json()["constraints"]["maxWallClockTime"] == INFINITE


async def test_terminate_reactivate_delete(raw: RawClient) -> None:
    job = uid("job")
    await raw.create_job(job)
    await raw.add_task(job, {"id": "t", "commandLine": "x"})
    early = await raw.send("POST", f"/jobs/{job}/tasks/t/reactivate")
    assert (early.status, early.code) == (409, "TaskNotCompleted")
    term = await raw.send("POST", f"/jobs/{job}/tasks/t/terminate")
    assert term.status == 204
    task = (await raw.get_task(job, "t")).json()
    assert task["state"] == "completed"
    assert task["previousState"] == "active"
    again = await raw.send("POST", f"/jobs/{job}/tasks/t/terminate")
    assert (again.status, again.code) == (409, "TaskCompleted")
    react = await raw.send("POST", f"/jobs/{job}/tasks/t/reactivate")
    assert react.status == 204
    task = (await raw.get_task(job, "t")).json()
    assert task["state"] == "active"
    assert task["executionInfo"]["retryCount"] == 0
    assert "failureInfo" not in task["executionInfo"]
    delete = await raw.send("DELETE", f"/jobs/{job}/tasks/t")
    assert delete.status == 200
    assert (await raw.get_task(job, "t")).code == "TaskNotFound"
    assert (await raw.send("DELETE", f"/jobs/{job}/tasks/t")).code == "TaskNotFound"


async def test_list_subtasks_of_multi_instance_task(raw: RawClient) -> None:
    job = uid("job")
    await raw.create_job(job)
    await raw.add_task(
        job,
        {
            "id": "mpi",
            "commandLine": "x",
            "multiInstanceSettings": {"numberOfInstances": 4, "coordinationCommandLine": "c"},
        },
    )
    await raw.add_task(job, {"id": "plain", "commandLine": "x"})
    subs = await raw.send("GET", f"/jobs/{job}/tasks/mpi/subtasksinfo")
    assert subs.status == 200
    assert [s["id"] for s in subs.json()["value"]] == [1, 2, 3]
    plain = await raw.send("GET", f"/jobs/{job}/tasks/plain/subtasksinfo")
    assert plain.json()["value"] == []


async def test_job_add_get_list_delete(raw: RawClient, batch_emulator: Emulator) -> None:
    job = uid("job")
    add = await raw.create_job(job, priority=5)
    assert add.headers["Location"] == f"{batch_emulator.url}/jobs/{job}"
    dup = await raw.send("POST", "/jobs", body={"id": job.upper(), "poolInfo": {"poolId": "p"}})
    assert (dup.status, dup.code) == (409, "JobExists")
    got = (await raw.send("GET", f"/jobs/{job}")).json()
    assert got["state"] == "active"
    assert got["priority"] == 5
    assert got["poolInfo"] == {"poolId": "p"}
    listed = (await raw.send("GET", "/jobs")).json()
    assert job in [j["id"] for j in listed["value"]]
    await raw.add_task(job, {"id": "t", "commandLine": "x"})
    delete = await raw.send("DELETE", f"/jobs/{job}")
    assert delete.status == 202
    for _ in range(100):
        gone = await raw.send("GET", f"/jobs/{job}")
        if gone.status == 404:
            break
    assert gone.code == "JobNotFound"
    assert (await raw.get_task(job, "t")).code == "JobNotFound"


async def test_client_request_id_echo(raw: RawClient) -> None:
    crid = str(uuid.uuid4())
    silent = await raw.send("GET", "/jobs", headers={"client-request-id": crid})
    assert "client-request-id" not in silent.headers
    echoed = await raw.send(
        "GET", "/jobs", headers={"client-request-id": crid, "return-client-request-id": "true"}
    )
    assert echoed.headers["client-request-id"] == crid
    assert echoed.headers["request-id"]


async def test_nested_required_properties(raw: RawClient) -> None:
    job = uid("job")
    await raw.create_job(job)
    base = {"id": "t", "commandLine": "x"}
    cases = [
        ({"resourceFiles": [{"filePath": "a"}]}, "InvalidPropertyValue"),
        ({"resourceFiles": [{"httpUrl": "https://h/x"}]}, "MissingRequiredProperty"),
        (
            {"resourceFiles": [{"httpUrl": "https://h/x", "filePath": "../up"}]},
            "InvalidPropertyValue",
        ),
        (
            {"resourceFiles": [{"httpUrl": "https://h/x", "filePath": "a\\..\\b"}]},
            "InvalidPropertyValue",
        ),
        ({"outputFiles": [{"filePattern": "*.txt"}]}, "MissingRequiredProperty"),
        ({"environmentSettings": [{"value": "v"}]}, "MissingRequiredProperty"),
        ({"containerSettings": {"containerRunOptions": "--rm"}}, "MissingRequiredProperty"),
        ({"affinityInfo": {}}, "MissingRequiredProperty"),
        ({"userIdentity": {"username": "u", "autoUser": {}}}, "InvalidPropertyValue"),
        ({"multiInstanceSettings": {"numberOfInstances": 2}}, "MissingRequiredProperty"),
    ]
    for extra, code in cases:
        reply = await raw.add_task(job, {**base, **extra})
        assert (reply.status, reply.code) == (400, code), extra
    ok = {
        "resourceFiles": [{"httpUrl": "https://h/x", "filePath": "dir/x"}],
        "outputFiles": [
            {
                "filePattern": "*.txt",
                "destination": {"container": {"containerUrl": "https://c"}},
                "uploadOptions": {"uploadCondition": "taskCompletion"},
            }
        ],
        "environmentSettings": [{"name": "A", "value": "1"}],
    }
    assert (await raw.add_task(job, {**base, **ok})).status == 201
