"""BulkAddResult / AddCollectionError shape, the lazy `value`, and misuse of the bulk API."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest

from batchtasks import AddCollectionError, BulkAddResult, Outcome, TaskAddCollectionResult
from batchtasks._private.bulk import TaskAddOutcome, run_add_collection
from batchtasks.models import TaskAddParameter, TaskAddResult, TaskAddStatus
from tests.unit.test_bulk_support import FakeService, fast_policy, tasks


async def _result(n: int = 5, **kw: Any) -> BulkAddResult:
    return await run_add_collection(FakeService(**kw), "job", tasks(n), policy=fast_policy())


async def test_result_is_a_task_add_collection_result_with_lazy_value() -> None:
    result = await _result()
    assert isinstance(result, TaskAddCollectionResult)
    assert "value" not in result.__dict__  # nothing built yet
    dumped = json.loads(result.model_dump_json(by_alias=True, exclude_none=True))
    assert [r["taskId"] for r in dumped["value"]] == [f"t{i}" for i in range(5)]
    assert set(dumped) == {"value"}  # accounting fields are not part of the wire shape
    assert all(isinstance(r, TaskAddResult) for r in result.value)
    assert result.value[0].last_modified is not None


@pytest.mark.parametrize(
    "use",
    [
        lambda r: r.model_dump()["value"],
        lambda r: json.loads(r.to_json_bytes())["value"],
        lambda r: copy.copy(r).value,
        lambda r: copy.deepcopy(r).value,
        lambda r: r.model_copy().value,
        lambda r: pickle.loads(pickle.dumps(r)).value,
        lambda r: dict(iter(r))["value"],
    ],
    ids=["dump", "json", "copy", "deepcopy", "model_copy", "pickle", "iter"],
)
async def test_every_pydantic_entry_point_sees_the_value(use: Any) -> None:
    result = await _result(3)
    value = use(result)
    assert len(value) == 3


async def test_repr_is_a_summary_that_builds_nothing() -> None:
    result = await _result(3)
    text = repr(result)
    assert "value" not in result.__dict__  # printing a million-task result stays cheap
    assert text.startswith("BulkAddResult(total=3, counts={'added': 3}, requests=")
    assert "task_id" not in text


async def test_results_compare_by_content() -> None:
    a = await _result(4)
    b = await _result(4)
    assert "value" not in a.__dict__
    assert a == copy.copy(a)  # comparing materializes both sides first
    assert a.value == b.value  # same service answers, same TaskAddResult models


async def test_error_carries_outcomes_and_the_whole_result() -> None:
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(
            FakeService(existing=("t1",)), "job", tasks(4), policy=fast_policy()
        )
    err = info.value
    assert isinstance(err.result, BulkAddResult)
    assert [o.task_id for o in err.failed] == ["t1"]
    assert all(isinstance(o, TaskAddOutcome) for o in err.succeeded + err.failed)
    assert err.result.counts["failed"] == 1
    assert "3 of 4 tasks added" in str(err)
    assert "TaskExists" in str(err)
    again = pickle.loads(pickle.dumps(err))
    assert isinstance(again, AddCollectionError)
    assert again.result.counts == err.result.counts


async def test_error_with_collect_results_false_has_counts_but_no_lists() -> None:
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(
            FakeService(existing=("t1", "t2")),
            "job",
            tasks(4),
            policy=fast_policy(),
            collect_results=False,
        )
    assert info.value.failed == []
    assert info.value.result.counts["failed"] == 2
    assert "2 of 4 tasks added" in str(info.value)


async def test_synthesized_results_for_outcomes_without_a_service_answer() -> None:
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(
            FakeService(plan=["ok", "404"]),
            "job",
            iter(tasks(300)),
            policy=fast_policy(),
            max_concurrency=1,
        )
    result = info.value.result
    by_outcome = {o.outcome: o for o in result.outcomes}
    failed = by_outcome[Outcome.FAILED].result
    assert failed.status is TaskAddStatus.CLIENT_ERROR
    assert failed.error is not None
    assert failed.error.code == "JobNotFound"
    skipped = by_outcome[Outcome.NOT_ATTEMPTED].result
    assert skipped.status is TaskAddStatus.SERVER_ERROR
    assert skipped.error is not None
    assert skipped.error.code == "TaskNotAttempted"
    assert len(result.value) == 300


@pytest.mark.parametrize(
    "value",
    ["t1", b"t1", {"id": "t1", "commandLine": "x"}, TaskAddParameter(id="t1", command_line="x")],
    ids=["str", "bytes", "mapping", "model"],
)
async def test_a_single_task_instead_of_a_collection_is_a_type_error(value: Any) -> None:
    svc = FakeService()
    with pytest.raises(TypeError, match="iterable of tasks"):
        await run_add_collection(svc, "job", value, policy=fast_policy())
    assert svc.requests == []


async def test_a_failing_on_result_callback_surfaces_and_stops_the_run() -> None:
    calls = 0

    def on_result(outcome: TaskAddOutcome) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("callback bug")

    svc = FakeService()
    with pytest.raises(RuntimeError, match="callback bug"):
        await run_add_collection(
            svc, "job", iter(tasks(1000)), policy=fast_policy(), on_result=on_result
        )
    assert calls >= 1
    assert len(svc.requests) < 10
