"""Validation of job request bodies: add (`JobAddParameter`), replace (`JobUpdateParameter`, PUT)
and update (`JobPatchParameter`, PATCH), for the request's api-version (`versions.py`).

Each returns the stored `CloudJob` fields with the service's defaults filled in; replace resets
what it omits, update changes only what it carries. Raises `ApiError` for what the service rejects.
Must not touch the store or HTTP.
"""

from __future__ import annotations

from typing import Any

from .constants import INFINITE_DURATION, MAX_DISPLAY_NAME_LENGTH
from .errors import ApiError
from .values import check_id, duration, integer, invalid, missing, unsupported
from .versions import unsupported_property

#: Properties a job can be created with (JobAddParameter).
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
#: The changeable properties: JobUpdateParameter (PUT) and JobPatchParameter (PATCH).
REPLACE_KEYS = frozenset(
    {
        "priority",
        "maxParallelTasks",
        "allowTaskPreemption",
        "constraints",
        "poolInfo",
        "metadata",
        "onAllTasksComplete",
    }
)
PATCH_KEYS = REPLACE_KEYS | {"networkConfiguration"}
_COMPLETE_MODES = frozenset({"noaction", "terminatejob"})
_FAILURE_MODES = frozenset({"noaction", "performexitoptionsjobaction"})
_CONSTRAINT_KEYS = frozenset({"maxWallClockTime", "maxTaskRetryCount"})
#: Defaults of the changeable properties (what a replace sets when a property is omitted).
_DEFAULTS: dict[str, Any] = {
    "priority": 0,
    "allowTaskPreemption": False,
    "maxParallelTasks": -1,
    "constraints": {"maxWallClockTime": INFINITE_DURATION, "maxTaskRetryCount": 0},
    "onAllTasksComplete": "noaction",
}


def _object(raw: object, kind: str, keys: frozenset[str], version: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ApiError("InvalidRequestBody", [("Reason", "The body must be a JSON object.")])
    unknown = raw.keys() - keys
    if unknown:
        raise unsupported(sorted(unknown)[0])
    not_in_version = unsupported_property(kind, raw, version)
    if not_in_version is not None:
        raise unsupported(not_in_version)
    return raw


def _changes(raw: dict[str, Any]) -> dict[str, Any]:
    """The changeable properties present (not null) in `raw`, validated and normalised."""
    out: dict[str, Any] = {}
    if raw.get("priority") is not None:
        out["priority"] = integer(raw["priority"], "priority", -1000, 1000)
    if raw.get("maxParallelTasks") is not None:
        value = integer(raw["maxParallelTasks"], "maxParallelTasks", -1)
        if value == 0:
            raise invalid("maxParallelTasks", value, "Must be -1 or a positive integer.")
        out["maxParallelTasks"] = value
    if raw.get("allowTaskPreemption") is not None:
        if not isinstance(raw["allowTaskPreemption"], bool):
            raise invalid("allowTaskPreemption", raw["allowTaskPreemption"])
        out["allowTaskPreemption"] = raw["allowTaskPreemption"]
    if raw.get("constraints") is not None:
        out["constraints"] = _constraints(raw["constraints"])
    if raw.get("poolInfo") is not None:
        out["poolInfo"] = _pool_info(raw["poolInfo"])
    if raw.get("onAllTasksComplete") is not None:
        out["onAllTasksComplete"] = _mode(raw, "onAllTasksComplete", _COMPLETE_MODES)
    for key in ("metadata", "networkConfiguration"):
        if raw.get(key) is not None:
            out[key] = raw[key]
    return out


def _constraints(raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise invalid("constraints", raw, "Expected an object.")
    unknown = raw.keys() - _CONSTRAINT_KEYS
    if unknown:
        raise unsupported(f"constraints.{sorted(unknown)[0]}")
    retry = raw.get("maxTaskRetryCount")
    return {
        "maxWallClockTime": duration(raw, "maxWallClockTime", "constraints") or INFINITE_DURATION,
        "maxTaskRetryCount": integer(
            0 if retry is None else retry, "constraints.maxTaskRetryCount", -1
        ),
    }


def _pool_info(pool: object) -> dict[str, Any]:
    if not isinstance(pool, dict) or (pool.get("poolId") is None) == (
        pool.get("autoPoolSpecification") is None
    ):
        raise invalid("poolInfo", pool, "Exactly one of poolId and autoPoolSpecification.")
    return pool


def _mode(raw: dict[str, Any], key: str, allowed: frozenset[str]) -> str:
    value = str(raw.get(key) or "noaction").lower()
    if value not in allowed:
        raise invalid(key, raw.get(key))
    return value


def new_job(raw: object, *, version: str) -> dict[str, Any]:
    """Validate a `JobAddParameter` and build the stored `CloudJob` (without times/eTag/url).

    Raises:
        ApiError: for an invalid or incomplete body, or a property `version` does not define.
    """
    body = _object(raw, "job", JOB_KEYS, version)
    job_id = check_id(body.get("id"))
    if body.get("poolInfo") is None:
        raise missing("poolInfo")
    changes = {**_DEFAULTS, **_changes(body)}
    uses = body.get("usesTaskDependencies", False)
    if not isinstance(uses, bool):
        raise invalid("usesTaskDependencies", uses)
    display = body.get("displayName")
    if display is not None and (
        not isinstance(display, str) or len(display) > MAX_DISPLAY_NAME_LENGTH
    ):
        raise invalid("displayName", display, "At most 1024 characters.")
    job: dict[str, Any] = {"id": job_id}
    if display is not None:
        job["displayName"] = display
    job["usesTaskDependencies"] = uses
    for key in ("priority", "allowTaskPreemption", "maxParallelTasks", "constraints"):
        job[key] = changes[key]
    for key in ("jobManagerTask", "jobPreparationTask", "jobReleaseTask"):
        if body.get(key) is not None:
            job[key] = body[key]
    if body.get("commonEnvironmentSettings") is not None:
        job["commonEnvironmentSettings"] = body["commonEnvironmentSettings"]
    job["poolInfo"] = changes["poolInfo"]
    job["onAllTasksComplete"] = changes["onAllTasksComplete"]
    job["onTaskFailure"] = _mode(body, "onTaskFailure", _FAILURE_MODES)
    for key in ("networkConfiguration", "metadata"):
        if key in changes:
            job[key] = changes[key]
    return job


def job_replace(raw: object, job: dict[str, Any], *, version: str) -> dict[str, Any]:
    """Apply a `JobUpdateParameter` (PUT): carried properties set, omitted ones reset.

    Raises:
        ApiError: invalid body, missing poolInfo, or a property `version` does not define.
    """
    body = _object(raw, "job", REPLACE_KEYS, version)
    if body.get("poolInfo") is None:
        raise missing("poolInfo")
    changes = _changes(body)
    new = dict(job)
    new.pop("metadata", None)
    new.update(_DEFAULTS)
    new.update(changes)
    return new


def job_patch(raw: object, job: dict[str, Any], *, version: str) -> dict[str, Any]:
    """Apply a `JobPatchParameter` (PATCH): only the carried properties change.

    Raises:
        ApiError: invalid body, or a property `version` does not define.
    """
    body = _object(raw, "jobPatch", PATCH_KEYS, version)
    return {**job, **_changes(body)}
