"""Intake of a task-add request: per item, validate, detect repeated ids, and shape the stored
`CloudTask`; the store then inserts the survivors in one transaction.

Pure functions over dicts (the store calls them on its DB thread, with the job it read). Must not
run SQL or know about HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .errors import ApiError
from .validation import new_task

#: ``(task_id, status, detail)``: ``success`` + stored task, ``clienterror`` + ApiError, or
#: ``servererror`` + None.
AddResult = tuple[str, str, dict[str, Any] | ApiError | None]


def check_job_accepts_tasks(job: dict[str, Any]) -> None:
    """Raise the 409 the service gives for task writes in a job that is not active."""
    state = job.get("state")
    if state == "deleting":
        raise ApiError("JobBeingDeleted")
    if state == "terminating":
        raise ApiError("JobBeingTerminated")
    if state == "completed":
        raise ApiError("JobCompleted")


def prepare_tasks(
    job: dict[str, Any],
    items: Sequence[object],
    stamp: str,
    server_errors: Sequence[bool],
    version: str,
    next_etag: Callable[[], str],
) -> tuple[list[AddResult], list[int]]:
    """Validate `items` for `job` and build the stored tasks (state active, times `stamp`).

    Returns:
        The per-item results (``success`` ones hold the stored task, still to be inserted) and
        the indexes of the ``success`` results. Duplicate ids in one request: the first wins,
        later ones get TaskExists.
    """
    uses_deps = bool(job.get("usesTaskDependencies"))
    job_retry = int(job.get("constraints", {}).get("maxTaskRetryCount", 0))
    exit_actions = job.get("onTaskFailure") == "performexitoptionsjobaction"
    results: list[AddResult] = []
    pending: list[int] = []
    seen: set[str] = set()
    for index, raw in enumerate(items):
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        task_id = raw_id if isinstance(raw_id, str) else ""
        if server_errors[index]:
            results.append((task_id, "servererror", None))
            continue
        try:
            task = new_task(
                raw,
                uses_dependencies=uses_deps,
                job_retry=job_retry,
                job_uses_exit_actions=exit_actions,
                version=version,
            )
        except ApiError as exc:
            results.append((task_id, "clienterror", exc))
            continue
        lowered = task_id.lower()
        if lowered in seen:
            results.append((task_id, "clienterror", ApiError("TaskExists")))
            continue
        seen.add(lowered)
        # Key order follows the service's CloudTask serialisation.
        stored = {
            "id": task.pop("id"),
            **({"displayName": task.pop("displayName")} if "displayName" in task else {}),
            "eTag": next_etag(),
            "creationTime": stamp,
            "lastModified": stamp,
            "state": "active",
            "stateTransitionTime": stamp,
            **task,
        }
        pending.append(len(results))
        results.append((stored["id"], "success", stored))
    return results, pending
