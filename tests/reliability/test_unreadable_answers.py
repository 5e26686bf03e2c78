"""A write applied by the service whose success answer cannot be read is an *unknown* outcome.

A proxy that blanks, replaces or cuts the body of one answer, or a service that answers with a
success status the operation does not use, leaves the client not knowing whether the write was
applied — the same as a timeout. Over loopback (tests/reliability/_storing_service.py, which
stores each request before spoiling its answer):

* `add_collection` retries the tasks of that request; the `TaskExists` the retry gets reads as
  ADDED_ON_RETRY. Nothing is FAILED, the run is not aborted, every task is in the job once.
  (Regression: 200 added, 100 FAILED although stored, 700 not attempted, "aborted after a
  non-retryable request error".)
* When every answer is unreadable, every task ends UNKNOWN after its attempt budget — never
  FAILED, never NOT_ATTEMPTED.
* `tasks.add` retries; the `TaskExists` that follows has `after_unknown_outcome=True`.
  `tasks.terminate` (a safe write) retries and succeeds.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from batchtasks import (
    AddCollectionError,
    AlreadyExistsError,
    BatchClient,
    Outcome,
    RetryPolicy,
    SharedKeyCredential,
)

from ._storing_service import SPOILERS, storing_service

N_TASKS = 1000


async def _no_sleep(_: float) -> None:
    return None


def _client(url: str) -> BatchClient:
    policy = RetryPolicy(max_attempts=3, sleep=_no_sleep, jitter=0.0)
    return BatchClient(url, SharedKeyCredential("acct", "a2V5"), retry_policy=policy)


def _tasks(n: int) -> list[dict[str, Any]]:
    return [{"id": f"t{i:04d}", "commandLine": "echo"} for i in range(n)]


@pytest.mark.parametrize("spoiler", sorted(SPOILERS))
async def test_one_unreadable_answer_is_retried_and_reads_as_added_on_retry(spoiler: str) -> None:
    async with storing_service() as service:
        service.spoil = lambda kind, number: spoiler if number == 2 else None
        async with _client(service.url) as client:
            result = await asyncio.wait_for(
                client.tasks.add_collection("job", _tasks(N_TASKS), max_concurrency=4), 60
            )
    assert result.stop_reason is None
    assert result.requests == N_TASKS // 100 + 1  # the spoiled request's tasks went once more
    assert result.counts == {
        "added": N_TASKS - 100,
        "added_on_retry": 100,
        "already_exists": 0,
        "failed": 0,
        "unknown": 0,
        "not_attempted": 0,
    }
    retried = [o for o in result.outcomes if o.outcome is Outcome.ADDED_ON_RETRY]
    assert {o.attempts for o in retried} == {2}
    assert {o.attempts for o in result.outcomes if o.outcome is Outcome.ADDED} == {1}
    # Every task is in the job exactly once; the retried ones were received twice.
    assert len(service.stored) == N_TASKS
    assert set(service.stored.values()) == {1}
    twice = {key for key, count in service.received.items() if count == 2}
    assert twice == {(o.task_id or "").lower() for o in retried}


@pytest.mark.parametrize("spoiler", ["blank", "truncated", "204"])
async def test_every_answer_unreadable_ends_unknown_never_failed(spoiler: str) -> None:
    async with storing_service() as service:
        service.spoil = lambda kind, number: spoiler
        async with _client(service.url) as client:
            with pytest.raises(AddCollectionError) as caught:
                await asyncio.wait_for(
                    client.tasks.add_collection("job", _tasks(250), max_concurrency=2), 60
                )
    result = caught.value.result
    assert result.stop_reason is None
    assert result.counts["unknown"] == 250
    assert {(o.outcome, o.attempts) for o in result.outcomes} == {(Outcome.UNKNOWN, 3)}
    assert {o.code for o in result.outcomes} == {"TaskAddOutcomeUnknown"}
    assert len(service.stored) == 250
    assert set(service.stored.values()) == {1}


@pytest.mark.parametrize("spoiler", ["blank", "html", "202", "204"])
async def test_tasks_add_retries_an_unreadable_answer(spoiler: str) -> None:
    # (`tasks.add` wants 201 and reads no body: 201 with any body is a success.)
    async with storing_service() as service:
        service.spoil = lambda kind, number: spoiler if number == 1 else None
        async with _client(service.url) as client:
            with pytest.raises(AlreadyExistsError) as caught:
                await client.tasks.add("job", {"id": "solo", "commandLine": "echo"})
    assert caught.value.after_unknown_outcome
    assert service.received["solo"] == 2
    assert service.stored["solo"] == 1


async def test_a_safe_write_retries_an_unexpected_success_status() -> None:
    async with storing_service() as service:
        service.spoil = lambda kind, number: "blank" if number == 1 else None  # 200, wants 204
        async with _client(service.url) as client:
            assert await client.tasks.terminate("job", "t") is None
    assert service.requests["terminate"] == 2
