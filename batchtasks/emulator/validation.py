"""Validation of task request bodies and their conversion into stored tasks.

Turns a `TaskAddParameter` / `TaskUpdateParameter` JSON object into the stored `CloudTask` dict
with the service's defaults filled in (resolved autoUser, all three constraints, requiredSlots,
executionInfo), for the request's api-version (`versions.py`). Raises `ApiError` for what the
service rejects. Job bodies are `job_validation.py`; single values are `values.py`. Must not touch
the store or HTTP; kept cheap because add_collection runs it per task.
"""

from __future__ import annotations

from typing import Any

from .constants import MAX_DEPENDS_ON_IDS_CHARS, MAX_DISPLAY_NAME_LENGTH
from .errors import ApiError
from .values import (
    INT32_MAX,
    INT32_MIN,
    check_id,
    constraints,
    int32,
    integer,
    invalid,
    missing,
    unsupported,
)
from .versions import unsupported_property

#: Emulator bound (the service bounds it by the pool's node count).
MAX_INSTANCES = 10_000

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
_EXIT_OPTION_VALUES = {
    "jobAction": frozenset({"none", "disable", "terminate"}),
    "dependencyAction": frozenset({"satisfy", "block"}),
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
    count = raw.get("numberOfInstances")
    count = integer(
        1 if count is None else count,
        "multiInstanceSettings.numberOfInstances",
        1,
        MAX_INSTANCES,
        f"Must be 1..{MAX_INSTANCES}.",
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
    checked = []
    for item in ranges:
        start = int32(item.get("start")) if isinstance(item, dict) else None
        end = int32(item.get("end")) if isinstance(item, dict) else None
        if start is None or end is None or not 0 <= start <= end:
            # 32-bit like the service's; a larger end also could not be compared in SQLite.
            raise invalid(
                "dependsOn.taskIdRanges",
                item,
                "Each range needs integers 0 <= start <= end < 2^31.",
            )
        checked.append({**item, "start": start, "end": end})
    if len(ranges) > 64:
        raise ApiError("TaskDependencyRangesTooLong")
    out = dict(raw)
    if ranges:
        out["taskIdRanges"] = checked
    return out


def new_task(
    raw: object,
    *,
    uses_dependencies: bool,
    job_retry: int = 0,
    job_uses_exit_actions: bool = False,
    version: str,
) -> dict[str, Any]:
    """Validate a `TaskAddParameter` and build the stored `CloudTask` (without times/eTag/url).

    Args:
        raw: the decoded JSON value.
        version: the request's api-version (a property it does not define is unsupported).
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
        raise unsupported(sorted(unknown)[0])
    not_in_version = unsupported_property("task", raw, version)
    if not_in_version is not None:
        raise unsupported(not_in_version)
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
    slots = raw.get("requiredSlots")
    slots = integer(1 if slots is None else slots, "requiredSlots", 1, reason="Must be >= 1.")
    task["constraints"] = constraints(raw.get("constraints"), job_retry=job_retry)
    task["requiredSlots"] = slots
    task["userIdentity"] = _user_identity(raw.get("userIdentity"))
    task["executionInfo"] = {"retryCount": 0, "requeueCount": 0}
    if raw.get("multiInstanceSettings") is not None:
        task["multiInstanceSettings"] = _multi_instance(raw["multiInstanceSettings"], slots)
    if raw.get("dependsOn") is not None:
        task["dependsOn"] = _depends_on(raw["dependsOn"], uses_dependencies)
    if "exitConditions" in task:
        task["exitConditions"] = _exit_conditions(task["exitConditions"], job_uses_exit_actions)
    return task


def _exit_conditions(conditions: dict[str, Any], job_uses_exit_actions: bool) -> dict[str, Any]:
    """Check exit codes (Int32, ranges ordered) and exit options; numeric strings become ints.

    A jobAction other than none needs the job's onTaskFailure to be performexitoptionsjobaction.
    """
    out = dict(conditions)
    options: list[tuple[str, Any]] = [
        (f"exitConditions.{k}", conditions.get(k))
        for k in ("preProcessingError", "fileUploadError", "default")
    ]
    fields = {"exitCodes": ("code",), "exitCodeRanges": ("start", "end")}
    for key, names in fields.items():
        items = conditions.get(key)
        if items is None:
            continue
        where = f"exitConditions.{key}"
        if not isinstance(items, list):
            raise invalid(where, items, "Expected a list.")
        checked = []
        for item in items:
            if not isinstance(item, dict):
                raise invalid(where, item, "Expected an object.")
            numbers = {}
            for name in names:
                if item.get(name) is None:
                    raise missing(f"{where}.{name}")
                numbers[name] = integer(item[name], f"{where}.{name}", INT32_MIN, INT32_MAX)
            if key == "exitCodeRanges" and numbers["start"] > numbers["end"]:
                raise invalid(where, item, "start must not be greater than end.")
            options.append((f"{where}.exitOptions", item.get("exitOptions")))
            checked.append({**item, **numbers})
        out[key] = checked
    for where, option in options:
        if option is None:
            continue
        if not isinstance(option, dict):
            raise invalid(where, option, "Expected an object.")
        for name, allowed in _EXIT_OPTION_VALUES.items():
            value = option.get(name)
            if value is not None and str(value).lower() not in allowed:
                raise invalid(f"{where}.{name}", value)
        action = str(option.get("jobAction") or "none").lower()
        if action != "none" and not job_uses_exit_actions:
            raise invalid(
                "exitConditions.jobAction",
                option["jobAction"],
                "A jobAction requires the job's onTaskFailure to be performexitoptionsjobaction.",
            )
    return out


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
        raise unsupported(sorted(unknown)[0])
    return constraints(raw.get("constraints"), job_retry=job_retry)
