"""JSON shapes of stored resources as the service returns them (CloudTask, CloudJob, stats,
SubtaskInformation).

Pure functions over dicts: adds ``url``, applies ``$select``/``$expand``, derives statistics and
subtasks. Must not do I/O or know about aiohttp.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from . import lifecycle
from .formats import iso7, parse_iso, seconds_to_duration

TASK_PROPERTIES = frozenset(
    {
        "id",
        "displayName",
        "url",
        "eTag",
        "lastModified",
        "creationTime",
        "exitConditions",
        "state",
        "stateTransitionTime",
        "previousState",
        "previousStateTransitionTime",
        "commandLine",
        "containerSettings",
        "resourceFiles",
        "outputFiles",
        "environmentSettings",
        "affinityInfo",
        "constraints",
        "requiredSlots",
        "userIdentity",
        "executionInfo",
        "nodeInfo",
        "multiInstanceSettings",
        "stats",
        "dependsOn",
        "applicationPackageReferences",
        "authenticationTokenSettings",
    }
)
JOB_PROPERTIES = frozenset(
    {
        "id",
        "displayName",
        "usesTaskDependencies",
        "url",
        "eTag",
        "lastModified",
        "creationTime",
        "state",
        "stateTransitionTime",
        "previousState",
        "previousStateTransitionTime",
        "priority",
        "allowTaskPreemption",
        "maxParallelTasks",
        "constraints",
        "jobManagerTask",
        "jobPreparationTask",
        "jobReleaseTask",
        "commonEnvironmentSettings",
        "poolInfo",
        "onAllTasksComplete",
        "onTaskFailure",
        "networkConfiguration",
        "metadata",
        "executionInfo",
        "stats",
    }
)
SUBTASK_PROPERTIES = frozenset(
    {
        "id",
        "nodeInfo",
        "startTime",
        "endTime",
        "exitCode",
        "containerInfo",
        "failureInfo",
        "state",
        "stateTransitionTime",
        "previousState",
        "previousStateTransitionTime",
        "result",
    }
)


def task_url(base: str, job_id: str, task_id: str) -> str:
    """Absolute URL of a task."""
    return f"{base}/jobs/{quote(job_id, safe='')}/tasks/{quote(task_id, safe='')}"


def job_url(base: str, job_id: str) -> str:
    """Absolute URL of a job."""
    return f"{base}/jobs/{quote(job_id, safe='')}"


def select_keys(body: dict[str, Any], select: frozenset[str] | None) -> dict[str, Any]:
    """Keep only the `select`ed keys (all when None)."""
    if select is None:
        return body
    return {k: v for k, v in body.items() if k in select}


def render_task(
    task: dict[str, Any],
    base: str,
    job_id: str,
    select: frozenset[str] | None = None,
    stats: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The CloudTask JSON of a stored task (url added, $select/$expand applied)."""
    out: dict[str, Any] = {"id": task["id"]}
    if "displayName" in task:
        out["displayName"] = task["displayName"]
    out["url"] = task_url(base, job_id, task["id"])
    out.update(task)
    if stats and now is not None:
        out["stats"] = task_stats(out, now)
    return select_keys(out, select)


def task_stats(task: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A `TaskStatistics` object derived from the task's times (simulated: no real usage)."""
    info = task.get("executionInfo") or {}
    created = parse_iso(task["creationTime"]) or now
    started = parse_iso(info["startTime"]) if info.get("startTime") else None
    ended = parse_iso(info["endTime"]) if info.get("endTime") else None
    wall = ((ended or now) - started).total_seconds() if started else 0.0
    wait = ((started or now) - created).total_seconds()
    return {
        "url": f"{task['url']}/stats" if "url" in task else "",
        "startTime": task["creationTime"],
        "lastUpdateTime": iso7(now),
        "userCPUTime": seconds_to_duration(0.0),
        "kernelCPUTime": seconds_to_duration(0.0),
        "wallClockTime": seconds_to_duration(max(wall, 0.0)),
        "readIOps": "0",
        "writeIOps": "0",
        "readIOGiB": 0.0,
        "writeIOGiB": 0.0,
        "waitTime": seconds_to_duration(max(wait, 0.0)),
    }


def render_job(
    job: dict[str, Any], base: str, select: frozenset[str] | None = None
) -> dict[str, Any]:
    """The CloudJob JSON of a stored job."""
    out: dict[str, Any] = {"id": job["id"]}
    if "displayName" in job:
        out["displayName"] = job["displayName"]
    out["usesTaskDependencies"] = job.get("usesTaskDependencies", False)
    out["url"] = job_url(base, job["id"])
    out.update(job)
    return select_keys(out, select)


def job_stats(job: dict[str, Any], counts: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A `JobStatistics` object: task counts are real, resource usage is simulated as zero."""
    created = parse_iso(job["creationTime"]) or now
    return {
        "url": f"{job['url']}/stats",
        "startTime": job["creationTime"],
        "lastUpdateTime": iso7(now),
        "userCPUTime": seconds_to_duration(0.0),
        "kernelCPUTime": seconds_to_duration(0.0),
        "wallClockTime": seconds_to_duration(max((now - created).total_seconds(), 0.0)),
        "readIOps": "0",
        "writeIOps": "0",
        "readIOGiB": 0.0,
        "writeIOGiB": 0.0,
        "numSucceededTasks": str(counts["succeeded"]),
        "numFailedTasks": str(counts["failed"]),
        "numTaskRetries": str(counts["retries"]),
        "waitTime": seconds_to_duration(0.0),
    }


def subtasks_of(task: dict[str, Any], base: str, job: dict[str, Any]) -> list[dict[str, Any]]:
    """The `SubtaskInformation` list of a multi-instance task, mirroring its primary's state."""
    settings = task.get("multiInstanceSettings")
    if not settings:
        return []
    count = int(settings.get("numberOfInstances", 1)) - 1
    info = task.get("executionInfo") or {}
    state = task["state"]
    out = []
    for number in range(1, count + 1):
        sub: dict[str, Any] = {"id": number}
        if state in ("active", "preparing"):
            sub["state"] = "preparing"
            sub["stateTransitionTime"] = task["stateTransitionTime"]
        else:
            sub["startTime"] = info.get("startTime", task["stateTransitionTime"])
            if state == "completed":
                sub["endTime"] = info.get("endTime", task["stateTransitionTime"])
            sub["state"] = "running" if state == "running" else "completed"
            sub["stateTransitionTime"] = task["stateTransitionTime"]
            if state == "completed":
                sub["previousState"] = "running"
                sub["previousStateTransitionTime"] = sub["startTime"]
                if "exitCode" in info:
                    sub["exitCode"] = info["exitCode"]
                if "result" in info:
                    sub["result"] = info["result"]
                if "failureInfo" in info:
                    sub["failureInfo"] = info["failureInfo"]
            pool_id = str(job.get("poolInfo", {}).get("poolId") or "autopool")
            node = lifecycle.node_info(base, pool_id, job["id"], f"{task['id']}/{number}")
            sub["nodeInfo"] = node
        out.append(sub)
    return out
