"""Tolerant parsing of what the service sends, and client-side validation of what we send."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest
from msrest.serialization import Serializer
from pydantic import ValidationError

from batchtasks.models import (
    INFINITE_DURATION,
    INFINITE_DURATION_WIRE,
    AutoUserScope,
    BatchError,
    CloudJob,
    CloudTask,
    CloudTaskListResult,
    ContainerRegistry,
    ContainerWorkingDirectory,
    ErrorCategory,
    JobAddParameter,
    JobState,
    PoolInformation,
    ResourceFile,
    TaskAddCollectionParameter,
    TaskAddParameter,
    TaskAddResult,
    TaskAddStatus,
    TaskConstraints,
    TaskContainerSettings,
    TaskState,
    TaskStatistics,
    TaskUpdateParameter,
    UserIdentity,
    format_duration,
)

# --- enums ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("success", TaskAddStatus.SUCCESS),
        ("Success", TaskAddStatus.SUCCESS),
        ("SUCCESS", TaskAddStatus.SUCCESS),
        ("clienterror", TaskAddStatus.CLIENT_ERROR),
        ("ClientError", TaskAddStatus.CLIENT_ERROR),
        ("serverError", TaskAddStatus.SERVER_ERROR),
    ],
)
def test_enum_values_compare_case_insensitively(wire: str, expected: TaskAddStatus) -> None:
    result = TaskAddResult.from_wire(json.dumps({"status": wire, "taskId": "t"}))
    assert result.status is expected
    # and the spec spelling is what goes back on the wire
    assert result.to_wire()["status"] == expected.value


def test_camel_case_enum_value_and_python_input() -> None:
    settings = TaskContainerSettings(image_name="x", working_directory="CONTAINERIMAGEDEFAULT")
    assert settings.working_directory is ContainerWorkingDirectory.CONTAINER_IMAGE_DEFAULT
    assert settings.to_wire()["workingDirectory"] == "containerImageDefault"


def test_unknown_enum_values_are_kept_as_strings() -> None:
    body = {
        "id": "t",
        "state": "suspended",
        "previousState": "Active",
        "executionInfo": {"retryCount": 0, "requeueCount": 0, "result": "cancelled"},
        "userIdentity": {"autoUser": {"scope": "account", "elevationLevel": "admin"}},
    }
    task = CloudTask.from_wire(body)
    assert task.state == "suspended"
    assert not isinstance(task.state, TaskState)
    assert task.previous_state is TaskState.ACTIVE
    assert task.execution_info is not None
    assert task.execution_info.result == "cancelled"
    assert task.user_identity is not None
    assert task.user_identity.auto_user is not None
    assert task.user_identity.auto_user.scope == "account"
    wire = task.to_wire()
    assert wire["state"] == "suspended"
    assert wire["previousState"] == "active"
    assert wire["executionInfo"]["result"] == "cancelled"
    assert wire["userIdentity"]["autoUser"] == {"scope": "account", "elevationLevel": "admin"}


def test_enum_str_is_the_wire_value() -> None:
    assert str(TaskState.RUNNING) == "running"
    assert f"{JobState.DELETING}" == "deleting"
    assert AutoUserScope("Pool") is AutoUserScope.POOL
    assert ErrorCategory("UserError") is ErrorCategory.USER_ERROR


# --- unknown fields ------------------------------------------------------------------------------


def test_unknown_fields_are_kept_and_round_tripped() -> None:
    body = {
        "odata.metadata": "https://a.r.batch.azure.com/$metadata#tasks",
        "value": [
            {
                "id": "t1",
                "futureTopLevel": {"x": [1, 2]},
                "constraints": {"maxTaskRetryCount": 1, "futureNested": True},
            }
        ],
        "odata.nextLink": "https://a.r.batch.azure.com/jobs/j/tasks?$skiptoken=abc",
    }
    page = CloudTaskListResult.from_wire(json.dumps(body))
    assert page.odata_next_link == body["odata.nextLink"]
    assert page.model_extra == {"odata.metadata": body["odata.metadata"]}
    assert page.value is not None
    assert page.value[0].model_extra == {"futureTopLevel": {"x": [1, 2]}}
    assert page.to_wire() == body
    assert json.loads(page.to_json_bytes()) == body


def test_error_body_with_odata_metadata() -> None:
    body = {
        "odata.metadata": "https://a.r.batch.azure.com/$metadata#Microsoft.Azure.Batch.Protocol"
        ".Entities.Container.errors/@Element",
        "code": "RequestBodyTooLarge",
        "message": {"lang": "en-US", "value": "The request body is too large.\nRequestId:x"},
        "values": [{"key": "MaxLimit", "value": "1048576"}],
    }
    error = BatchError.from_wire(json.dumps(body).encode())
    assert error.code == "RequestBodyTooLarge"
    assert error.message is not None
    assert error.message.lang == "en-US"
    assert error.values is not None
    assert error.values[0].value == "1048576"
    assert error.to_wire() == body


def test_add_result_with_error_and_navigation_link() -> None:
    body = {
        "taskId": "t3",
        "status": "ClientError",
        "error": {"code": "TaskExists", "message": {"lang": "en-US", "value": "exists"}},
        "error@odata.navigationLinkUrl": "https://a/jobs/j/tasks/t3/error",
    }
    result = TaskAddResult.from_wire(body)
    assert result.status is TaskAddStatus.CLIENT_ERROR
    assert result.error is not None
    assert result.error.code == "TaskExists"


# --- scalars -------------------------------------------------------------------------------------


def test_int64_sent_as_strings() -> None:
    stats = TaskStatistics.from_wire(
        {
            "url": "u",
            "readIOps": "12",
            "writeIOps": "9223372036854775807",
            "readIOGiB": 0.5,
            "writeIOGiB": 0,
            "userCPUTime": "PT1.5S",
            "kernelCPUTime": "PT0S",
            "wallClockTime": "PT2M",
            "waitTime": "PT0.25S",
            "startTime": "2024-10-01T12:00:00.1234567Z",
            "lastUpdateTime": "2024-10-01T12:00:01Z",
        }
    )
    assert stats.read_iops == 12
    assert stats.write_iops == 2**63 - 1
    assert stats.read_io_gib == 0.5
    assert stats.user_cpu_time == timedelta(seconds=1.5)
    wire = stats.to_wire()
    # int64 goes back as a JSON number, as msrest sends it
    assert wire["readIOps"] == 12
    assert wire["userCPUTime"] == "PT1.5S"
    assert wire["kernelCPUTime"] == "P0D"
    assert wire["waitTime"] == "PT0.25S"


def test_seven_digit_fraction_and_z_parse_without_fromisoformat() -> None:
    # datetime.fromisoformat on Python 3.10 rejects both the Z and the 7th digit; pydantic-core's
    # own parser is used on every version, so this holds on 3.10 as well.
    task = CloudTask.from_wire(b'{"creationTime": "2016-09-06T07:02:44.7589958Z"}')
    assert task.creation_time == datetime(2016, 9, 6, 7, 2, 44, 758995, tzinfo=timezone.utc)
    assert task.creation_time is not None
    assert task.creation_time.tzinfo is timezone.utc
    assert task.to_wire() == {"creationTime": "2016-09-06T07:02:44.758995Z"}


def test_dates_are_written_as_utc_with_z() -> None:
    offset = CloudTask.from_wire({"lastModified": "2024-10-01T14:00:00+02:00"})
    assert offset.to_wire() == {"lastModified": "2024-10-01T12:00:00Z"}
    naive = CloudTask(last_modified=datetime(2024, 10, 1, 12, 0, 0, 500))
    assert naive.last_modified is not None
    assert naive.last_modified.tzinfo is not None
    assert naive.to_wire() == {"lastModified": "2024-10-01T12:00:00.000500Z"}


@pytest.mark.parametrize(
    ("wire", "value", "written"),
    [
        ("PT1H", timedelta(hours=1), "PT1H"),
        ("PT15M", timedelta(minutes=15), "PT15M"),
        ("P1D", timedelta(days=1), "P1D"),
        ("P7D", timedelta(days=7), "P7D"),
        ("PT0S", timedelta(0), "P0D"),  # msrest writes zero as P0D
        ("P1DT2H3M4.5S", timedelta(days=1, hours=2, minutes=3, seconds=4.5), "P1DT2H3M4.5S"),
        ("PT36H", timedelta(hours=36), "P1DT12H"),
        (INFINITE_DURATION_WIRE, INFINITE_DURATION, INFINITE_DURATION_WIRE),
    ],
)
def test_durations(wire: str, value: timedelta, written: str) -> None:
    constraints = TaskConstraints.from_wire(json.dumps({"maxWallClockTime": wire}))
    assert constraints.max_wall_clock_time == value
    assert constraints.to_wire() == {"maxWallClockTime": written}
    assert TaskConstraints.from_wire({"retentionTime": wire}).retention_time == value


def test_infinite_duration_value() -> None:
    assert timedelta(days=10675199, seconds=10085, microseconds=477581) == INFINITE_DURATION
    assert format_duration(timedelta.max) == INFINITE_DURATION_WIRE


@pytest.mark.parametrize(
    "value",
    [
        timedelta(hours=1),
        timedelta(days=1),
        timedelta(0),
        timedelta(seconds=90.5),
        timedelta(microseconds=1),
        timedelta(days=3, hours=1),
        timedelta(seconds=-5),
        timedelta(days=-2, minutes=7),
        timedelta(days=10675199, seconds=10085, microseconds=477580),
        timedelta(seconds=59, microseconds=999999),
    ],
)
def test_duration_format_matches_msrest(value: timedelta) -> None:
    assert format_duration(value) == Serializer.serialize_duration(value)


def test_infinite_duration_differs_from_msrest_on_purpose() -> None:
    # msrest writes the rounded microsecond value, which exceeds .NET TimeSpan.MaxValue.
    assert Serializer.serialize_duration(INFINITE_DURATION) == "P10675199DT2H48M5.477581S"
    assert format_duration(INFINITE_DURATION) == "P10675199DT2H48M5.4775807S"


# --- construction and serialisation --------------------------------------------------------------


def test_populate_by_name_and_by_alias() -> None:
    by_name = TaskAddParameter(
        id="t1", command_line="echo", display_name="d", user_identity=UserIdentity(username="u")
    )
    by_alias = TaskAddParameter.model_validate(
        {"id": "t1", "commandLine": "echo", "displayName": "d", "userIdentity": {"username": "u"}}
    )
    assert by_name == by_alias
    assert by_name.to_wire() == {
        "id": "t1",
        "commandLine": "echo",
        "displayName": "d",
        "userIdentity": {"username": "u"},
    }


def test_only_set_fields_no_nulls() -> None:
    task = TaskAddParameter(id="t", command_line="c", display_name=None, constraints=None)
    assert task.to_wire() == {"id": "t", "commandLine": "c"}
    assert task.to_json_bytes() == b'{"id":"t","commandLine":"c"}'
    assert TaskUpdateParameter().to_json_bytes() == b"{}"


def test_json_bytes_are_compact_utf8() -> None:
    task = TaskAddParameter(id="t", command_line="echo \u00fc \u4e2d", display_name="\U0001f600")
    body = task.to_json_bytes()
    assert (
        body == '{"id":"t","displayName":"\U0001f600","commandLine":"echo \u00fc \u4e2d"}'.encode()
    )
    assert json.loads(body) == task.to_wire()


def test_from_wire_accepts_bytes_str_and_mappings() -> None:
    body = {"id": "t", "commandLine": "c"}
    expected = TaskAddParameter(id="t", command_line="c")
    assert TaskAddParameter.from_wire(json.dumps(body)) == expected
    assert TaskAddParameter.from_wire(json.dumps(body).encode()) == expected
    assert TaskAddParameter.from_wire(MappingProxyType(body)) == expected


def test_exit_conditions_default_key() -> None:
    body = {
        "id": "t",
        "commandLine": "c",
        "exitConditions": {
            "exitCodes": [{"code": 0, "exitOptions": {"dependencyAction": "block"}}],
            "default": {"jobAction": "terminate", "dependencyAction": "Satisfy"},
        },
    }
    task = TaskAddParameter.from_wire(body)
    assert task.exit_conditions is not None
    assert task.exit_conditions.default is not None
    assert task.exit_conditions.default.job_action == "terminate"
    assert task.to_wire()["exitConditions"]["default"]["dependencyAction"] == "satisfy"


def test_password_not_in_repr() -> None:
    registry = ContainerRegistry(username="me", password="s3cret-value", registry_server="r.io")
    assert "s3cret-value" not in repr(registry)
    assert "s3cret-value" not in str(TaskContainerSettings(image_name="i", registry=registry))
    assert registry.to_wire()["password"] == "s3cret-value"


def test_job_models() -> None:
    job = JobAddParameter(id="job-1", pool_info={"pool_id": "p"}, priority=10)
    assert job.to_wire() == {"id": "job-1", "priority": 10, "poolInfo": {"poolId": "p"}}
    auto = JobAddParameter.from_wire(
        {"id": "j", "poolInfo": {"autoPoolSpecification": {"poolLifetimeOption": "job"}}}
    )
    assert auto.to_wire()["poolInfo"] == {"autoPoolSpecification": {"poolLifetimeOption": "job"}}
    cloud = CloudJob.from_wire({"id": "j", "state": "Deleting", "executionInfo": {}})
    assert cloud.state is JobState.DELETING


# --- client-side validation ----------------------------------------------------------------------


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return str(exc.value)


@pytest.mark.parametrize(
    "bad_id", ["", "a" * 65, "has space", "dot.ted", "sl/ash", "\u00fcml", "t\n"]
)
def test_bad_task_ids_are_rejected_naming_the_id(bad_id: str) -> None:
    with pytest.raises(ValidationError) as exc:
        TaskAddParameter(id=bad_id, command_line="c")
    assert repr(bad_id) in _errors(exc)
    assert exc.value.errors()[0]["loc"] == ("id",)


@pytest.mark.parametrize("good_id", ["a", "A-b_9", "x" * 64, "0123"])
def test_good_task_ids(good_id: str) -> None:
    assert TaskAddParameter(id=good_id, command_line="c").id == good_id


def test_required_fields() -> None:
    with pytest.raises(ValidationError) as exc:
        TaskAddParameter.from_wire({"id": "t"})
    assert exc.value.errors()[0]["loc"] == ("commandLine",)
    assert exc.value.errors()[0]["type"] == "missing"
    with pytest.raises(ValidationError) as exc:
        TaskAddParameter.from_wire({"commandLine": "c"})
    assert exc.value.errors()[0]["loc"] == ("id",)


def test_display_name_length() -> None:
    assert TaskAddParameter(id="t", command_line="c", display_name="\u00fc" * 1024)
    with pytest.raises(ValidationError, match="1024"):
        TaskAddParameter(id="t", command_line="c", display_name="x" * 1025)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("requiredSlots", 0, "greater than or equal to 1"),
        ("resourceFiles", [{"filePath": "x"}], "exactly one of"),
        (
            "resourceFiles",
            [
                {"httpUrl": "https://h/x", "filePath": "x"},
                {"httpUrl": "u", "autoStorageContainerName": "c"},
            ],
            r"resourceFiles\[1\]: exactly one of",
        ),
        ("resourceFiles", [{"httpUrl": "https://h/x"}], "filePath is required"),
        ("resourceFiles", [{"httpUrl": "u", "filePath": "f", "blobPrefix": "p"}], "blobPrefix"),
        ("userIdentity", {"username": "u", "autoUser": {"scope": "task"}}, "not both"),
        ("constraints", {"maxTaskRetryCount": -2}, "maxTaskRetryCount"),
        ("multiInstanceSettings", {"coordinationCommandLine": "c", "numberOfInstances": 0}, ">= 1"),
        (
            "multiInstanceSettings",
            {"coordinationCommandLine": "c", "commonResourceFiles": [{}]},
            "commonResourceFiles",
        ),
        ("dependsOn", {"taskIds": ["x" * 64] * 1001}, "64000"),
    ],
)
def test_input_rules(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as exc:
        TaskAddParameter.from_wire({"id": "my-task", "commandLine": "c", field: value})
    if field != "requiredSlots":
        assert "'my-task'" in _errors(exc)


def test_input_rules_accept_valid_values() -> None:
    task = TaskAddParameter.from_wire(
        {
            "id": "t",
            "commandLine": "c",
            "requiredSlots": 1,
            "resourceFiles": [
                {"httpUrl": "https://h/x", "filePath": "x"},
                {"storageContainerUrl": "https://s/c", "blobPrefix": "p"},
                {"autoStorageContainerName": "c"},
            ],
            "userIdentity": {},
            "constraints": {"maxTaskRetryCount": -1},
            "dependsOn": {"taskIds": ["x" * 64] * 1000, "taskIdRanges": [{"start": 1, "end": 9}]},
        }
    )
    assert task.resource_files is not None
    assert len(task.resource_files) == 3


def test_collection_at_most_100_tasks() -> None:
    tasks = [{"id": f"t{i}", "commandLine": "c"} for i in range(101)]
    assert len(TaskAddCollectionParameter.from_wire({"value": tasks[:100]}).value) == 100
    with pytest.raises(ValidationError, match="100"):
        TaskAddCollectionParameter.from_wire({"value": tasks})


def test_collection_error_names_the_bad_task() -> None:
    with pytest.raises(ValidationError) as exc:
        TaskAddCollectionParameter.from_wire(
            {"value": [{"id": "ok", "commandLine": "c"}, {"id": "b@d", "commandLine": "c"}]}
        )
    assert "'b@d'" in _errors(exc)
    assert exc.value.errors()[0]["loc"] == ("value", 1, "id")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"id": "bad id", "poolInfo": {"poolId": "p"}}, "invalid job id 'bad id'"),
        ({"id": "j", "poolInfo": {}}, "exactly one of poolId"),
        ({"id": "j", "poolInfo": {"poolId": "p", "autoPoolSpecification": {}}}, "exactly one"),
        ({"id": "j", "poolInfo": {"poolId": "p"}, "priority": 1001}, "less than or equal"),
        ({"id": "j", "poolInfo": {"poolId": "p"}, "priority": -1001}, "greater than or equal"),
        ({"id": "j", "poolInfo": {"poolId": "p"}, "maxParallelTasks": 0}, "maxParallelTasks"),
        ({"id": "j", "poolInfo": {"poolId": "p"}, "displayName": "x" * 1025}, "1024"),
        ({"id": "j"}, "poolInfo"),
    ],
)
def test_job_input_rules(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JobAddParameter.from_wire(body)


def test_job_accepts_documented_extremes() -> None:
    for priority, parallel in ((-1000, -1), (1000, 1)):
        job = JobAddParameter.from_wire(
            {
                "id": "j",
                "poolInfo": {"poolId": "p"},
                "priority": priority,
                "maxParallelTasks": parallel,
            }
        )
        assert job.priority == priority


def test_response_models_do_not_enforce_input_rules() -> None:
    task = CloudTask.from_wire(
        {
            "id": "not a valid id!" + "x" * 100,
            "displayName": "x" * 5000,
            "requiredSlots": 0,
            "resourceFiles": [{"httpUrl": "u", "autoStorageContainerName": "c"}, {}],
            "userIdentity": {"username": "u", "autoUser": {}},
            "constraints": {"maxTaskRetryCount": -7},
        }
    )
    assert task.required_slots == 0
    assert task.resource_files is not None
    assert task.resource_files[1] == ResourceFile()
    job = CloudJob.from_wire({"id": "bad id", "priority": 5000, "poolInfo": {}})
    assert job.priority == 5000


def test_assignment_is_validated_on_request_models() -> None:
    task = TaskAddParameter(id="t", command_line="c")
    with pytest.raises(ValidationError, match="'no good'"):
        task.id = "no good"
    with pytest.raises(ValidationError, match="not both"):
        task.user_identity = UserIdentity(username="u", auto_user={})
    task.display_name = "fine"
    assert task.to_wire() == {"id": "t", "displayName": "fine", "commandLine": "c"}
    job = JobAddParameter(id="j", pool_info={"pool_id": "p"})
    with pytest.raises(ValidationError, match="exactly one"):
        job.pool_info = PoolInformation()
