"""The task state machine both ways of running tasks share: what one run's outcome does to a task.

Pure functions over stored task/job dicts. The lifecycle decides *when* a task starts and finishes
(on a simulated clock, or when a real process exits); this module decides *what* that means, the
same way for both: ``executionInfo`` (exit code, result, ``failureInfo``, retries), the
``exitConditions`` that apply (``jobAction``, ``dependencyAction``), terminate and reactivate.

Service rules followed (see the emulator README for the sources): a non-zero exit code is retried
up to ``maxTaskRetryCount`` (-1: without limit) as a new run of the same task; a failure to start
the command or to fetch resource files completes the task without retry; the exit options that
apply are the first of ``exitCodes``, ``exitCodeRanges`` (or ``preProcessingError`` /
``fileUploadError``) that matches, else ``default``; a job action is only taken when the job's
``onTaskFailure`` is ``performexitoptionsjobaction``.

Must not do I/O, SQL or HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "NODE_ID",
    "Outcome",
    "apply_job_action",
    "begin_run",
    "complete",
    "dependency_satisfied",
    "end_run",
    "node_info",
    "reactivate",
    "terminate",
    "transition",
]

#: The one simulated node (node 0 of an executing pool has the same id).
NODE_ID = "tvmps_emulator_000000000"
FAILURE_MESSAGE = "The task exited with an exit code representing a failure"
WALL_CLOCK_MESSAGE = "The task ran longer than its maximum wall clock time and was ended"
TERMINATED_MESSAGE = "Task Was Ended by User Request"


@dataclass(frozen=True)
class Outcome:
    """What one run of a task came to.

    Attributes:
        exit_code: the process's exit code (None: it never ran, or was ended without one).
        failure: a ``failureInfo`` to report instead of the one derived from the exit code.
        kind: ``exit`` (the command ran), ``timeout`` (maxWallClockTime), ``preprocessing``
            (resource files or start-up failed: never retried), ``fileupload``.
    """

    exit_code: int | None
    failure: dict[str, Any] | None = field(default=None)
    kind: str = "exit"

    @property
    def succeeded(self) -> bool:
        """Exit code 0 and nothing else went wrong."""
        return self.exit_code == 0 and self.failure is None

    @property
    def retryable(self) -> bool:
        """Whether a failed run of this kind counts against maxTaskRetryCount (else: final)."""
        return not self.succeeded and self.kind in ("exit", "timeout")


def failure_info(category: str, code: str, message: str, **details: str) -> dict[str, Any]:
    """A ``TaskFailureInformation`` object."""
    info: dict[str, Any] = {"category": category, "code": code, "message": message}
    if details:
        info["details"] = [{"name": k, "value": v} for k, v in details.items()]
    return info


def wall_clock_failure() -> dict[str, Any]:
    """failureInfo of a task ended at its maxWallClockTime (the code is an emulator choice)."""
    return failure_info("usererror", "MaxWallClockTimeExceeded", WALL_CLOCK_MESSAGE)


def node_info(
    base_url: str, pool_id: str, job_id: str, task_id: str, node_id: str = NODE_ID
) -> dict[str, str]:
    """The `ComputeNodeInformation` of a task on `node_id`."""
    node = f"{base_url}/pools/{pool_id}/nodes/{node_id}"
    return {
        "affinityId": f"TVM:{node_id}",
        "nodeUrl": node,
        "poolId": pool_id,
        "nodeId": node_id,
        "taskRootDirectory": f"workitems/{job_id}/job-1/{task_id}",
        "taskRootDirectoryUrl": f"{node}/files/workitems/{job_id}/job-1/{task_id}",
    }


def transition(task: dict[str, Any], state: str, stamp: str) -> None:
    """Move a task (or job) dict to `state`, keeping previousState/previousStateTransitionTime."""
    task["previousState"] = task["state"]
    task["previousStateTransitionTime"] = task["stateTransitionTime"]
    task["state"] = state
    task["stateTransitionTime"] = stamp


def begin_run(task: dict[str, Any], stamp: str, node: dict[str, str]) -> None:
    """An active task starts running on the node described by `node` (a nodeInfo)."""
    transition(task, "running", stamp)
    info = task.get("executionInfo") or {}
    for key in ("endTime", "exitCode", "result", "failureInfo"):
        info.pop(key, None)
    task["executionInfo"] = {"startTime": stamp, **info}
    task["nodeInfo"] = node


def end_run(task: dict[str, Any], outcome: Outcome, stamp: str) -> bool:
    """Apply the outcome of one run of a running task.

    Returns:
        True when the task completed; False when it went back to ``active`` for a retry.
    """
    info = task["executionInfo"]
    retries = int(task.get("constraints", {}).get("maxTaskRetryCount", 0))
    if outcome.retryable and (retries == -1 or info.get("retryCount", 0) < retries):
        info["retryCount"] = info.get("retryCount", 0) + 1
        info["lastRetryTime"] = stamp
        info.pop("startTime", None)
        transition(task, "active", stamp)
        task.pop("nodeInfo", None)
        return False
    complete(task, stamp, outcome.exit_code, outcome.failure)
    return True


def terminate(task: dict[str, Any], stamp: str) -> None:
    """Mark a task completed by user request (a failure, so it can be reactivated)."""
    info = task.setdefault("executionInfo", {})
    info["endTime"] = stamp
    info["result"] = "failure"
    info["failureInfo"] = failure_info("usererror", "TaskEnded", TERMINATED_MESSAGE)
    transition(task, "completed", stamp)


def reactivate(task: dict[str, Any], stamp: str) -> None:
    """Move a completed, failed task back to active with a fresh retry budget."""
    info = task["executionInfo"]
    task["executionInfo"] = {
        "retryCount": 0,
        "requeueCount": info.get("requeueCount", 0),
        **({"lastRequeueTime": info["lastRequeueTime"]} if "lastRequeueTime" in info else {}),
    }
    task.pop("nodeInfo", None)
    transition(task, "active", stamp)


def requeue(task: dict[str, Any], stamp: str) -> None:
    """A running task whose node restarted goes back to active (requeueCount + 1)."""
    info = task["executionInfo"]
    info["requeueCount"] = info.get("requeueCount", 0) + 1
    info["lastRequeueTime"] = stamp
    info.pop("startTime", None)
    task.pop("nodeInfo", None)
    transition(task, "active", stamp)


def complete(
    task: dict[str, Any], stamp: str, code: int | None, failure: dict[str, Any] | None = None
) -> None:
    """Mark a task completed with exit code `code` (None: none) and an optional failureInfo."""
    info = task["executionInfo"]
    if task["state"] == "running" or code is not None:
        info.setdefault("startTime", stamp)
    info["endTime"] = stamp
    if code is not None:
        info["exitCode"] = code
    else:
        info.pop("exitCode", None)
    if code == 0 and failure is None:
        info["result"] = "success"
        info.pop("failureInfo", None)
    else:
        info["result"] = "failure"
        info["failureInfo"] = failure or failure_info(
            "usererror", "FailureExitCode", FAILURE_MESSAGE, Message=FAILURE_MESSAGE
        )
    transition(task, "completed", stamp)


def exit_options(task: dict[str, Any]) -> dict[str, str]:
    """The ``exitOptions`` in force for a completed task (defaults filled in).

    Defaults (REST spec, ExitOptions): ``dependencyAction`` is ``satisfy`` for exit code 0 and
    ``block`` otherwise; ``jobAction`` is ``none`` for exit code 0 and ``terminate`` otherwise.
    """
    info = task.get("executionInfo") or {}
    conditions = task.get("exitConditions") or {}
    code = info.get("exitCode")
    failure = info.get("failureInfo") or {}
    chosen: dict[str, Any] | None = None
    if failure.get("code") in _PREPROCESSING_CODES:
        chosen = conditions.get("preProcessingError")
    elif code is not None:
        for item in conditions.get("exitCodes") or []:
            if item.get("code") == code:
                chosen = item.get("exitOptions")
                break
        else:
            for rng in conditions.get("exitCodeRanges") or []:
                if int(rng.get("start", 0)) <= code <= int(rng.get("end", -1)):
                    chosen = rng.get("exitOptions")
                    break
    if chosen is None and failure.get("code") == "FileUploadError":
        # An exit code's own options take precedence over fileUploadError (REST spec).
        chosen = conditions.get("fileUploadError")
    success = info.get("result") == "success"
    if chosen is None and not success:
        # "default" covers failures only: exit code 0 needs an explicit exitCodes entry.
        chosen = conditions.get("default")
    options = dict(chosen or {})
    return {
        "jobAction": str(options.get("jobAction") or ("none" if success else "terminate")),
        "dependencyAction": str(
            options.get("dependencyAction") or ("satisfy" if success else "block")
        ),
    }


_PREPROCESSING_CODES = frozenset(
    {
        "BlobNotFound",
        "BlobAccessDenied",
        "BlobDownloadMiscError",
        "ResourceFileCreateFailed",
        "ResourceFileWriteFailed",
        "CommandProgramNotFound",
        "CommandLaunchFailed",
    }
)


def dependency_satisfied(task: dict[str, Any]) -> bool:
    """Whether a task lets the tasks that depend on it run (completed, dependencyAction
    ``satisfy``)."""
    return task.get("state") == "completed" and exit_options(task)["dependencyAction"] == "satisfy"


def apply_job_action(job: dict[str, Any], task: dict[str, Any], stamp: str) -> str | None:
    """Take the completed task's ``jobAction`` on its job (only when the job's onTaskFailure is
    ``performexitoptionsjobaction``); return the job's new state, or None when nothing changed.

    ``terminate`` completes the job (terminateReason ``TaskFailed``); ``disable`` disables it.
    """
    if job.get("onTaskFailure") != "performexitoptionsjobaction" or job.get("state") != "active":
        return None
    action = exit_options(task)["jobAction"]
    if action == "terminate":
        transition(job, "completed", stamp)
        info = job.setdefault("executionInfo", {})
        info["endTime"] = stamp
        info["terminateReason"] = "TaskFailed"
        return "completed"
    if action == "disable":
        transition(job, "disabled", stamp)
        return "disabled"
    return None
