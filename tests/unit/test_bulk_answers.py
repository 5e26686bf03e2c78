"""How the engine reads an add_collection answer: every shape of answer gives every task exactly one
outcome, matched to its own result (whatever the order), on the whole-request path for a list of
models (which reads an all-success answer without making per-task entries) and on the per-item path.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from batchtasks._private.bulk import Outcome, run_add_collection
from batchtasks._private.errors import AddCollectionError
from batchtasks.models import TaskAddParameter
from tests.unit.test_bulk_support import FakeService, fast_policy, tasks

Results = list[Any]


def _success(task_id: str, attempt: int) -> dict[str, Any]:
    return {
        "status": "success",
        "taskId": task_id,
        "eTag": f"0x{attempt}-{task_id}",
        "lastModified": "2026-12-02T12:00:00.0000000Z",
        "location": f"https://acct.region.batch.azure.com/jobs/job/tasks/{task_id}",
    }


class _ScriptedService:
    """Answers the first request through `first` (given the correct all-success answer), every
    later one correctly; records the IDs each request carried."""

    def __init__(self, first: Callable[[Results], Results]) -> None:
        self.first = first
        self.requests: list[list[str]] = []

    async def __call__(self, job_id: str, body: bytes, **_: Any) -> Results:
        ids = [task["id"] for task in json.loads(body)["value"]]
        self.requests.append(ids)
        answer: Results = [_success(task_id, len(self.requests)) for task_id in ids]
        return self.first(answer) if len(self.requests) == 1 else answer


def _shuffled(results: Results) -> Results:
    random.Random(7).shuffle(results)
    return results


def _drop_one(results: Results) -> Results:
    return results[:10] + results[11:]


def _foreign_instead_of_one(results: Results) -> Results:
    results[10] = _success("not-sent", 1)
    return results


def _twice_instead_of_one(results: Results) -> Results:
    results[10] = dict(results[11])
    return results


def _other_casing(results: Results) -> Results:
    results[3]["status"] = "Success"
    results[4]["taskId"] = results[4]["taskId"].upper()
    return results


def _not_an_object(results: Results) -> Results:
    results[10] = "success"
    return results


def _no_status(results: Results) -> Results:
    del results[10]["status"]
    return results


def _unhashable_id(results: Results) -> Results:
    results[10]["taskId"] = ["T10"]
    return results


def _server_error_for_one(results: Results) -> Results:
    results[10] = {"status": "serverError", "taskId": results[10]["taskId"]}
    return results


def _not_a_list(results: Results) -> Results:
    return {"value": results}  # type: ignore[return-value]


#: (answer to the first request, the input indexes that must have needed a second attempt)
ANSWERS = {
    "all added, in order": (lambda r: r, []),
    "all added, shuffled": (_shuffled, []),
    "one result missing": (_drop_one, [10]),
    "a foreign result instead of one": (_foreign_instead_of_one, [10]),
    "one task answered twice, another not at all": (_twice_instead_of_one, [10]),
    "other casings of status and ID": (_other_casing, []),
    "a result that is not an object": (_not_an_object, [10]),
    "a result without a status": (_no_status, [10]),
    "an unhashable taskId": (_unhashable_id, [10]),
    "a per-task server error": (_server_error_for_one, [10]),
    "a value that is not a list": (_not_a_list, list(range(100))),
}


@pytest.mark.parametrize("answer", ANSWERS, ids=list(ANSWERS))
@pytest.mark.parametrize("observed", [False, True], ids=["collected", "on_result"])
async def test_every_answer_shape_gives_each_task_one_outcome_with_its_own_result(
    answer: str, observed: bool
) -> None:
    first, retried = ANSWERS[answer]
    models = [TaskAddParameter(id=f"T{i}", command_line=f"echo {i}") for i in range(100)]
    svc = _ScriptedService(first)
    seen: list[Any] = []
    result = await run_add_collection(
        svc,
        "job",
        models,
        policy=fast_policy(),
        on_result=seen.append if observed else None,
    )
    assert svc.requests[0] == [m.id for m in models]  # one whole request first
    assert result.counts["added"] == 100
    assert [o.index for o in result.outcomes] == list(range(100))
    for i, outcome in enumerate(result.outcomes):
        assert outcome.outcome is Outcome.ADDED
        assert outcome.task_id == f"T{i}"
        assert outcome.attempts == (2 if i in retried else 1)
        # Its own result: the eTag names the request that added it and the task itself.
        assert outcome.result.e_tag == f"0x{outcome.attempts}-T{i}"
        assert result.value is not None
        assert result.value[i].task_id == f"T{i}"
    if observed:
        assert sorted(o.index for o in seen) == list(range(100))


@pytest.mark.parametrize("kind", ["models", "dicts", "generator"])
async def test_an_id_repeated_in_one_request_still_gets_its_own_outcome(kind: str) -> None:
    # detect_duplicates=False: nothing rejects the repeat up front, so both occurrences travel
    # in the same request. The service adds the first and answers TaskExists for the second;
    # each occurrence must end with its own outcome (the repeat used to get none). Two results
    # with the same taskId cannot tell which occurrence each one is about, so either may fail.
    wire = [*tasks(99), {"id": "t7", "commandLine": "again"}]
    value: Any = [TaskAddParameter.model_validate(w) for w in wire] if kind == "models" else wire
    if kind == "generator":
        value = iter(wire)
    svc = FakeService()
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", value, policy=fast_policy(), detect_duplicates=False)
    result = info.value.result
    assert [request.count("t7") for request in svc.requests] == [2]
    assert [o.index for o in result.outcomes] == list(range(100))
    assert (result.counts["added"], result.counts["failed"]) == (99, 1)
    [failed] = info.value.failed
    assert failed.index in (7, 99)
    assert failed.error_code == "TaskExists"
    assert svc.stored_counts["t7"] == 1
