"""Validation of request bodies and their conversion into stored resources.

Turns a `TaskAddParameter` / `JobAddParameter` / `TaskUpdateParameter` JSON object into the
stored `CloudTask` / `CloudJob` dict with the service's defaults filled in (resolved autoUser,
all three constraints, requiredSlots, executionInfo). Raises `ApiError` for what the service
rejects. Must not touch the store or HTTP; kept cheap because add_collection runs it per task.
"""

from __future__ import annotations

import re
from typing import Any

from .constants import (
    DEFAULT_RETENTION,
    INFINITE_DURATION,
    MAX_DEPENDS_ON_IDS_CHARS,
    MAX_DISPLAY_NAME_LENGTH,
    MAX_ID_LENGTH,
)
from .errors import ApiError
from .formats import parse_duration

#: Emulator bound (the service bounds it by the pool's node count).
MAX_INSTANCES = 10_000
_INT32_MAX = 2**31 - 1
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

TASK_KEYS = frozenset(
    {
        "id",
        "displayName",
        "commandLine",
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
    }
)
JOB_KEYS = frozenset(
    {
        "id",
        "displayName",
        "priority",
        "maxParallelTasks",
        "allowTaskPreemption",
        "constraints",
        "jobManagerTask",
        "jobPreparationTask",
        "jobReleaseTask",
        "commonEnvironmentSettings",
        "poolInfo",
        "onAllTasksComplete",
        "onTaskFailure",
        "metadata",
        "usesTaskDependencies",
        "networkConfiguration",
    }
)
_CONSTRAINT_KEYS = frozenset({"maxWallClockTime", "retentionTime", "maxTaskRetryCount"})
_LIST_KEYS = (
    "resourceFiles",
    "outputFiles",
    "environmentSettings",
    "applicationPackageReferences",
)
_OBJECT_KEYS = (
    "containerSettings",
    "exitConditions",
    "affinityInfo",
    "authenticationTokenSettings",
)


def invalid(name: str, value: object, reason: str | None = None) -> ApiError:
    """An InvalidPropertyValue error naming the property (and why)."""
    values = [("PropertyName", name), ("PropertyValue", _short(value))]
    if reason:
        values.append(("Reason", reason))
    return ApiError("InvalidPropertyValue", values)


def missing(name: str) -> ApiError:
    """A MissingRequiredProperty error naming the property."""
    return ApiError("MissingRequiredProperty", [("PropertyName", name)])


def _short(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 128 else text[:125] + "..."


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_id(value: object, name: str = "id") -> str:
    """Validate a task/job id: 1..64 characters of letters, digits, ``-`` and ``_``.

    Raises:
        ApiError: MissingRequiredProperty or InvalidPropertyValue.
    """
    if value is None:
        raise missing(name)
    if not isinstance(value, str) or not _ID_RE.match(value):
        reason = (
            f"The id exceeds {MAX_ID_LENGTH} characters."
            if isinstance(value, str) and len(value) > MAX_ID_LENGTH
            else "The id may contain only letters, digits, hyphens and underscores."
        )
        raise invalid(name, value, reason)
    return value


def _duration(obj: dict[str, Any], key: str, prefix: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or parse_duration(value) is None:
        raise invalid(f"{prefix}.{key}", value, "Not a valid ISO 8601 duration.")
    return value


def constraints(raw: object, *, job_retry: int = 0, prefix: str = "constraints") -> dict[str, Any]:
    """Resolve task constraints, filling the service defaults for absent keys.

    Raises:
        ApiError: wrong type or invalid value.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise invalid(prefix, raw, "Expected an object.")
    unknown = set(raw) - _CONSTRAINT_KEYS
    if unknown:
        raise ApiError("UnsupportedProperty", [("PropertyName", f"{prefix}.{sorted(unknown)[0]}")])
    retry = raw.get("maxTaskRetryCount", job_retry)
    if retry is None:
        retry = job_retry
    if not _is_int(retry) or retry < -1:
        raise invalid(f"{prefix}.maxTaskRetryCount", retry, "Must be an integer >= -1.")
    return {
        "maxWallClockTime": _duration(raw, "maxWallClockTime", prefix) or INFINITE_DURATION,
        "retentionTime": _duration(raw, "retentionTime", prefix) or DEFAULT_RETENTION,
        "maxTaskRetryCount": retry,
    }


def _user_identity(raw: object) -> dict[str, Any]:
    if raw is None:
        return {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}}
    if not isinstance(raw, dict):
        raise invalid("userIdentity", raw, "Expected an object.")
    username = raw.get("username")
    auto = raw.get("autoUser")
    if (username is None) == (auto is None):
        raise invalid("userIdentity", raw, "Exactly one of username and autoUser must be given.")
    if username is not None:
        if not isinstance(username, str) or not username:
            raise invalid("userIdentity.username", username)
        return {"username": username}
    if not isinstance(auto, dict):
        raise invalid("userIdentity.autoUser", auto, "Expected an object.")
    scope = str(auto.get("scope") or "pool").lower()
    elevation = str(auto.get("elevationLevel") or "nonadmin").lower()
    if scope not in ("task", "pool"):
        raise invalid("userIdentity.autoUser.scope", auto.get("scope"))
    if elevation not in ("nonadmin", "admin"):
        raise invalid("userIdentity.autoUser.elevationLevel", auto.get("elevationLevel"))
    return {"autoUser": {"scope": scope, "elevationLevel": elevation}}


_SOURCE_KEYS = ("autoStorageContainerName", "storageContainerUrl", "httpUrl")
_UPLOAD_CONDITIONS = frozenset({"tasksuccess", "taskfailure", "taskcompletion"})


def _require(obj: object, key: str, where: str) -> Any:
    if not isinstance(obj, dict):
        raise invalid(where, obj, "Expected an object.")
    value = obj.get(key)
    if value is None:
        raise missing(f"{where}.{key}")
    return value


def _resource_files(files: object, where: str) -> None:
    if not isinstance(files, list):
        raise invalid(where, files, "Expected a list.")
    for item in files:
        if not isinstance(item, dict):
            raise invalid(where, item, "Expected an object.")
        sources = [k for k in _SOURCE_KEYS if item.get(k) is not None]
        if len(sources) != 1:
            raise invalid(where, item, f"Exactly one of {', '.join(_SOURCE_KEYS)} is required.")
        path = item.get("filePath")
        if sources[0] == "httpUrl" and not path:
            raise missing(f"{where}.filePath")
        if isinstance(path, str) and ".." in path.replace("\\", "/").split("/"):
            raise invalid(
                f"{where}.filePath", path, "The path may not leave the working directory."
            )


def _check_parts(task: dict[str, Any]) -> None:
    """Required keys of the nested objects of a task (fact sheet §4.3-4.13)."""
    if "resourceFiles" in task:
        _resource_files(task["resourceFiles"], "resourceFiles")
    for item in task.get("outputFiles", []):
        _require(item, "filePattern", "outputFiles")
        _require(
            _require(item, "destination", "outputFiles"), "container", "outputFiles.destination"
        )
        _require(
            item["destination"]["container"], "containerUrl", "outputFiles.destination.container"
        )
        condition = _require(
            _require(item, "uploadOptions", "outputFiles"),
            "uploadCondition",
            "outputFiles.uploadOptions",
        )
        if str(condition).lower() not in _UPLOAD_CONDITIONS:
            raise invalid("outputFiles.uploadOptions.uploadCondition", condition)
    for item in task.get("environmentSettings", []):
        if not isinstance(_require(item, "name", "environmentSettings"), str):
            raise invalid("environmentSettings.name", item.get("name"))
    for item in task.get("applicationPackageReferences", []):
        _require(item, "applicationId", "applicationPackageReferences")
    if "affinityInfo" in task:
        _require(task["affinityInfo"], "affinityId", "affinityInfo")
    if "containerSettings" in task:
        _require(task["containerSettings"], "imageName", "containerSettings")


def _multi_instance(raw: object, required_slots: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise invalid("multiInstanceSettings", raw, "Expected an object.")
    count = raw.get("numberOfInstances", 1)
    if count is None:
        count = 1
    if not _is_int(count) or not 1 <= count <= MAX_INSTANCES:
        raise invalid(
            "multiInstanceSettings.numberOfInstances", count, f"Must be 1..{MAX_INSTANCES}."
        )
    coordination = raw.get("coordinationCommandLine")
    if coordination is None:
        raise missing("multiInstanceSettings.coordinationCommandLine")
    if not isinstance(coordination, str):
        raise invalid("multiInstanceSettings.coordinationCommandLine", coordination)
    # The spec text says requiredSlots must be 1 here, but the service's own examples
    # (TaskAddCollection_Complex, TaskGet) use 2 with multi-instance settings: accept them.
    del required_slots
    if raw.get("commonResourceFiles") is not None:
        _resource_files(raw["commonResourceFiles"], "multiInstanceSettings.commonResourceFiles")
    out = dict(raw)
    out["numberOfInstances"] = count
    return out


def _depends_on(raw: object, uses_dependencies: bool) -> dict[str, Any]:
    if not uses_dependencies:
        raise ApiError("TaskDependenciesNotSpecifiedOnJob")
    if not isinstance(raw, dict):
        raise invalid("dependsOn", raw, "Expected an object.")
    ids = raw.get("taskIds") or []
    ranges = raw.get("taskIdRanges") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise invalid("dependsOn.taskIds", ids, "Expected a list of task ids.")
    if sum(len(i) for i in ids) > MAX_DEPENDS_ON_IDS_CHARS:
        raise ApiError("TaskDependencyListTooLong")
    if not isinstance(ranges, list):
        raise invalid("dependsOn.taskIdRanges", ranges, "Expected a list.")
    for item in ranges:
        if not (
            isinstance(item, dict)
            and _is_int(item.get("start"))
            and _is_int(item.get("end"))
            and 0 <= item["start"] <= item["end"] <= _INT32_MAX
        ):
            # 32-bit like the service's; a larger end also could not be compared in SQLite.
            raise invalid(
                "dependsOn.taskIdRanges",
                item,
                "Each range needs integers 0 <= start <= end < 2^31.",
            )
    if len(ranges) > 64:
        raise ApiError("TaskDependencyRangesTooLong")
    return dict(raw)


def new_task(
    raw: object,
    *,
    uses_dependencies: bool,
    job_retry: int = 0,
    job_uses_exit_actions: bool = False,
) -> dict[str, Any]:
    """Validate a `TaskAddParameter` and build the stored `CloudTask` (without times/eTag/url).

    Args:
        raw: the decoded JSON value.
        uses_dependencies: the job's ``usesTaskDependencies``.
        job_retry: the job's ``constraints.maxTaskRetryCount`` (inherited default).
        job_uses_exit_actions: the job's onTaskFailure is ``performexitoptionsjobaction``.

    Returns:
        The task dict in the service's key order, with defaults resolved.

    Raises:
        ApiError: MissingRequiredProperty, InvalidPropertyValue, UnsupportedProperty,
            TaskDependenciesNotSpecifiedOnJob, TaskDependencyListTooLong, ...
    """
    if not isinstance(raw, dict):
        raise ApiError("InvalidRequestBody", [("Reason", "A task must be a JSON object.")])
    unknown = raw.keys() - TASK_KEYS
    if unknown:
        raise ApiError("UnsupportedProperty", [("PropertyName", sorted(unknown)[0])])
    task_id = check_id(raw.get("id"))
    command = raw.get("commandLine")
    if command is None:
        raise missing("commandLine")
    if not isinstance(command, str):
        raise invalid("commandLine", command)
    task: dict[str, Any] = {"id": task_id}
    display = raw.get("displayName")
    if display is not None:
        if not isinstance(display, str) or len(display) > MAX_DISPLAY_NAME_LENGTH:
            raise invalid("displayName", display, "At most 1024 characters.")
        task["displayName"] = display
    for key in _OBJECT_KEYS:
        value = raw.get(key)
        if value is not None:
            if not isinstance(value, dict):
                raise invalid(key, value, "Expected an object.")
            task[key] = value
    task["commandLine"] = command
    for key in _LIST_KEYS:
        value = raw.get(key)
        if value is not None:
            if not isinstance(value, list):
                raise invalid(key, value, "Expected a list.")
            task[key] = value
    _check_parts(task)
    slots = raw.get("requiredSlots", 1)
    if slots is None:
        slots = 1
    if not _is_int(slots) or slots < 1:
        raise invalid("requiredSlots", slots, "Must be an integer >= 1.")
    task["constraints"] = constraints(raw.get("constraints"), job_retry=job_retry)
    task["requiredSlots"] = slots
    task["userIdentity"] = _user_identity(raw.get("userIdentity"))
    task["executionInfo"] = {"retryCount": 0, "requeueCount": 0}
    if raw.get("multiInstanceSettings") is not None:
        task["multiInstanceSettings"] = _multi_instance(raw["multiInstanceSettings"], slots)
    if raw.get("dependsOn") is not None:
        task["dependsOn"] = _depends_on(raw["dependsOn"], uses_dependencies)
    if "exitConditions" in task and not job_uses_exit_actions:
        _check_no_job_action(task["exitConditions"])
    return task


def _check_no_job_action(conditions: dict[str, Any]) -> None:
    """Reject a jobAction (other than none) unless the job performs exit-option actions."""
    options: list[Any] = [
        conditions.get(k) for k in ("preProcessingError", "fileUploadError", "default")
    ]
    for key in ("exitCodes", "exitCodeRanges"):
        items = conditions.get(key) or []
        if not isinstance(items, list):
            raise invalid(f"exitConditions.{key}", items, "Expected a list.")
        options.extend(i.get("exitOptions") for i in items if isinstance(i, dict))
    for option in options:
        if isinstance(option, dict) and str(option.get("jobAction") or "none").lower() != "none":
            raise invalid(
                "exitConditions.jobAction",
                option["jobAction"],
                "A jobAction requires the job's onTaskFailure to be performexitoptionsjobaction.",
            )


def new_job(raw: object) -> dict[str, Any]:
    """Validate a `JobAddParameter` and build the stored `CloudJob` (without times/eTag/url).

    Raises:
        ApiError: for an invalid or incomplete body.
    """
    if not isinstance(raw, dict):
        raise ApiError("InvalidRequestBody", [("Reason", "The body must be a JSON object.")])
    unknown = raw.keys() - JOB_KEYS
    if unknown:
        raise ApiError("UnsupportedProperty", [("PropertyName", sorted(unknown)[0])])
    job_id = check_id(raw.get("id"))
    pool = raw.get("poolInfo")
    if pool is None:
        raise missing("poolInfo")
    if not isinstance(pool, dict) or (pool.get("poolId") is None) == (
        pool.get("autoPoolSpecification") is None
    ):
        raise invalid("poolInfo", pool, "Exactly one of poolId and autoPoolSpecification.")
    priority = raw.get("priority", 0)
    if priority is None:
        priority = 0
    if not _is_int(priority) or not -1000 <= priority <= 1000:
        raise invalid("priority", priority, "Must be an integer in -1000..1000.")
    max_parallel = raw.get("maxParallelTasks", -1)
    if max_parallel is None:
        max_parallel = -1
    if not _is_int(max_parallel) or (max_parallel != -1 and max_parallel < 1):
        raise invalid("maxParallelTasks", max_parallel, "Must be -1 or a positive integer.")
    uses = raw.get("usesTaskDependencies", False)
    if not isinstance(uses, bool):
        raise invalid("usesTaskDependencies", uses)
    display = raw.get("displayName")
    if display is not None and (not isinstance(display, str) or len(display) > 1024):
        raise invalid("displayName", display, "At most 1024 characters.")
    job_constraints = raw.get("constraints") or {}
    if not isinstance(job_constraints, dict):
        raise invalid("constraints", job_constraints, "Expected an object.")
    retry = job_constraints.get("maxTaskRetryCount", 0)
    if not _is_int(retry) or retry < -1:
        raise invalid("constraints.maxTaskRetryCount", retry)
    wall = _duration(job_constraints, "maxWallClockTime", "constraints") or INFINITE_DURATION
    job: dict[str, Any] = {"id": job_id}
    if display is not None:
        job["displayName"] = display
    job["usesTaskDependencies"] = uses
    job["priority"] = priority
    job["allowTaskPreemption"] = bool(raw.get("allowTaskPreemption", False))
    job["maxParallelTasks"] = max_parallel
    job["constraints"] = {"maxWallClockTime": wall, "maxTaskRetryCount": retry}
    for key in ("jobManagerTask", "jobPreparationTask", "jobReleaseTask"):
        if raw.get(key) is not None:
            job[key] = raw[key]
    if raw.get("commonEnvironmentSettings") is not None:
        job["commonEnvironmentSettings"] = raw["commonEnvironmentSettings"]
    job["poolInfo"] = pool
    job["onAllTasksComplete"] = str(raw.get("onAllTasksComplete") or "noaction").lower()
    job["onTaskFailure"] = str(raw.get("onTaskFailure") or "noaction").lower()
    if job["onAllTasksComplete"] not in ("noaction", "terminatejob"):
        raise invalid("onAllTasksComplete", raw.get("onAllTasksComplete"))
    if job["onTaskFailure"] not in ("noaction", "performexitoptionsjobaction"):
        raise invalid("onTaskFailure", raw.get("onTaskFailure"))
    if raw.get("networkConfiguration") is not None:
        job["networkConfiguration"] = raw["networkConfiguration"]
    if raw.get("metadata") is not None:
        job["metadata"] = raw["metadata"]
    return job


def task_update(raw: object, *, job_retry: int = 0) -> dict[str, Any]:
    """Validate a `TaskUpdateParameter`; return the replacement constraints (defaults if absent).

    Raises:
        ApiError: invalid body or constraints.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ApiError("InvalidRequestBody", [("Reason", "The body must be a JSON object.")])
    unknown = raw.keys() - {"constraints"}
    if unknown:
        raise ApiError("UnsupportedProperty", [("PropertyName", sorted(unknown)[0])])
    return constraints(raw.get("constraints"), job_retry=job_retry)
