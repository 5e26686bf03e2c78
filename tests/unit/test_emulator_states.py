"""The emulator's shared task state machine and its pool of task slots (pure, no I/O)."""

from __future__ import annotations

from typing import Any

from batchtasks.emulator.execute.pool import NodePool, Placement, node_id
from batchtasks.emulator.states import (
    Outcome,
    apply_job_action,
    begin_run,
    dependency_satisfied,
    end_run,
    exit_options,
    failure_info,
)


def _running(**extra: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "id": "t",
        "state": "active",
        "stateTransitionTime": "2026-01-01T00:00:00.0000000Z",
        "executionInfo": {"retryCount": 0, "requeueCount": 0},
        **extra,
    }
    begin_run(task, "2026-01-01T00:00:01.0000000Z", {"nodeId": "n"})
    return task


def test_a_failure_is_retried_until_the_budget_is_spent() -> None:
    task = _running(constraints={"maxTaskRetryCount": 1})
    assert end_run(task, Outcome(2), "s1") is False
    assert (task["state"], task["executionInfo"]["retryCount"]) == ("active", 1)
    begin_run(task, "s2", {"nodeId": "n"})
    assert end_run(task, Outcome(2), "s3") is True
    info = task["executionInfo"]
    assert (task["state"], info["exitCode"], info["result"]) == ("completed", 2, "failure")
    assert info["failureInfo"]["code"] == "FailureExitCode"


def test_pre_processing_errors_are_final_and_have_no_exit_code() -> None:
    task = _running(constraints={"maxTaskRetryCount": -1})
    failure = failure_info("usererror", "CommandProgramNotFound", "not found")
    assert end_run(task, Outcome(None, failure, "preprocessing"), "s") is True
    assert "exitCode" not in task["executionInfo"]
    assert task["executionInfo"]["failureInfo"] == failure


def test_exit_options_precedence_and_defaults() -> None:
    conditions = {
        "exitCodes": [{"code": 3, "exitOptions": {"dependencyAction": "satisfy"}}],
        "exitCodeRanges": [{"start": 3, "end": 9, "exitOptions": {"jobAction": "disable"}}],
        "fileUploadError": {"jobAction": "none"},
        "default": {"jobAction": "terminate"},
    }
    for code, expected in [
        (3, {"jobAction": "terminate", "dependencyAction": "satisfy"}),  # code wins over range
        (5, {"jobAction": "disable", "dependencyAction": "block"}),
        (10, {"jobAction": "terminate", "dependencyAction": "block"}),
        (0, {"jobAction": "none", "dependencyAction": "satisfy"}),  # default is for failures
    ]:
        task = _running(exitConditions=conditions)
        end_run(task, Outcome(code), "s")
        assert exit_options(task) == expected, code
    plain = _running()
    end_run(plain, Outcome(0), "s")
    assert exit_options(plain) == {"jobAction": "none", "dependencyAction": "satisfy"}
    assert dependency_satisfied(plain)
    upload = _running(exitConditions=conditions)
    failed = failure_info("usererror", "FileUploadError", "x")
    end_run(upload, Outcome(0, failed, "fileupload"), "s")
    assert exit_options(upload)["jobAction"] == "none"  # fileUploadError, not the default


def test_job_action_needs_perform_exit_options() -> None:
    task = _running()
    end_run(task, Outcome(1), "s")
    job = {"id": "j", "state": "active", "stateTransitionTime": "s0"}
    assert apply_job_action(dict(job, onTaskFailure="noaction"), task, "s") is None
    acting = dict(job, onTaskFailure="performexitoptionsjobaction")
    assert apply_job_action(acting, task, "s") == "completed"
    assert acting["executionInfo"]["terminateReason"] == "TaskFailed"


def test_pool_places_by_slots_nodes_and_retry_node() -> None:
    pool = NodePool(nodes=3, task_slots_per_node=2)
    assert pool.ids == [node_id(0), node_id(1), node_id(2)]
    free = pool.snapshot()
    assert pool.place(free, ("j", "big"), {"requiredSlots": 3}) is False
    assert (
        pool.place(free, ("j", "mi"), {"multiInstanceSettings": {"numberOfInstances": 4}}) is False
    )
    mi = pool.place(free, ("j", "mi"), {"multiInstanceSettings": {"numberOfInstances": 3}})
    assert isinstance(mi, Placement)
    assert len(set(mi.nodes)) == 3
    two = pool.place(free, ("j", "a"), {"requiredSlots": 1})
    assert isinstance(two, Placement)
    assert pool.place(free, ("j", "b"), {"requiredSlots": 2}) is None  # no node has 2 left
    pool.reserve(("j", "a"), Placement((node_id(2),), 2))
    pool.release(Placement((node_id(2),), 2))
    retry = pool.place(pool.snapshot(), ("j", "a"), {})
    assert isinstance(retry, Placement)
    assert retry.nodes == (node_id(2),)
    pool.forget(("j", "a"))
    assert pool.free == dict.fromkeys(pool.ids, 2)
