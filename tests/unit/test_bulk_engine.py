"""The bulk engine against a precise fake service: exactly-once accounting under faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from batchtasks._private.bulk import (
    BulkProgress,
    Outcome,
    TaskAddOutcome,
    iter_add_collection,
    run_add_collection,
)
from batchtasks._private.errors import AddCollectionError, TaskValidationError
from batchtasks.models import TaskAddParameter, TaskAddStatus
from tests.unit.test_bulk_support import FakeService, SleepRecorder, fast_policy, tasks


def _assert_agrees_with_service(result: Any, svc: FakeService, n: int) -> None:
    """Every task has exactly one outcome, no task is stored twice, and results match the store."""
    assert result.total == n
    assert len(result.outcomes) == n
    assert [o.index for o in result.outcomes] == list(range(n))
    assert all(count == 1 for count in svc.stored_counts.values())
    for o in result.outcomes:
        key = (o.task_id or "").lower()
        if o.outcome in (Outcome.ADDED, Outcome.ADDED_ON_RETRY):
            assert key in svc.store, o
        elif o.outcome in (Outcome.FAILED, Outcome.NOT_ATTEMPTED):
            # Stored only if this was a clash or a repeat of an earlier input ID.
            assert svc.stored_counts[key] == 0 or o.error_code in ("TaskExists", "DuplicateTaskId")


async def test_adds_models_and_dicts_in_input_order() -> None:
    svc = FakeService()
    items: list[Any] = [TaskAddParameter(id=f"m{i}", command_line="x") for i in range(150)]
    items += tasks(160)
    result = await run_add_collection(svc, "job", items, policy=fast_policy())
    assert result.ok
    assert result.counts["added"] == 310
    assert [r.task_id for r in result.value] == [
        i.id if hasattr(i, "id") else i["id"] for i in items
    ]
    assert all(r.status is TaskAddStatus.SUCCESS for r in result.value)
    assert [len(r) for r in svc.requests] == [100, 100, 100, 10]
    assert result.requests == 4
    assert result.retries == 0
    _assert_agrees_with_service(result, svc, 310)


async def test_async_iterable_input_and_threads_alias() -> None:
    async def gen() -> AsyncIterator[dict[str, Any]]:
        for item in tasks(230):
            await asyncio.sleep(0)
            yield item

    svc = FakeService(delay=0.001)
    result = await run_add_collection(svc, "job", gen(), policy=fast_policy(), threads=2)
    assert result.counts["added"] == 230
    assert svc.max_in_flight <= 2
    _assert_agrees_with_service(result, svc, 230)


async def test_per_task_servererror_retries_exactly_those_ids() -> None:
    flaky = {"t3", "t77", "t150"}
    svc = FakeService(
        task_fault=lambda tid, seen: "servererror" if tid in flaky and seen == 0 else None
    )
    result = await run_add_collection(svc, "job", tasks(200), policy=fast_policy())
    assert result.ok
    # Two first-attempt requests, then only the failed IDs again (each once).
    retried = [i for r in svc.requests[2:] for i in r]
    assert sorted(retried) == sorted(flaky)
    assert len(svc.requests) <= 4
    assert result.retries == 3
    by_id = {o.task_id: o for o in result.outcomes}
    assert {t for t, o in by_id.items() if o.attempts == 2} == flaky
    assert all(o.outcome is Outcome.ADDED for o in result.outcomes)
    _assert_agrees_with_service(result, svc, 200)


async def test_retries_are_coalesced_while_fresh_work_flows() -> None:
    # One servererror in every 50 tasks: the retries must share requests, not get one each.
    svc = FakeService(
        task_fault=lambda tid, seen: "servererror" if int(tid[1:]) % 50 == 0 and seen == 0 else None
    )
    result = await run_add_collection(
        svc, "job", iter(tasks(3000)), policy=fast_policy(), max_concurrency=2
    )
    assert result.ok
    assert result.retries == 60
    retry_requests = [r for r in svc.requests if all(int(i[1:]) % 50 == 0 for i in r)]
    assert len(svc.requests) - 30 == len(retry_requests)
    assert len(retry_requests) <= 4


async def test_held_retries_still_go_out_while_the_input_stalls() -> None:
    svc = FakeService(
        task_fault=lambda tid, seen: "servererror" if tid == "t0" and seen == 0 else None
    )
    more = asyncio.Event()

    async def trickle() -> AsyncIterator[dict[str, Any]]:
        for item in tasks(100):
            yield item
        await more.wait()
        yield {"id": "late", "commandLine": "x"}

    run = asyncio.ensure_future(run_add_collection(svc, "job", trickle(), policy=fast_policy()))
    for _ in range(300):  # the retry is held at most RETRY_HOLD (0.5 s), then sent
        if len(svc.requests) == 2:
            break
        await asyncio.sleep(0.01)
    assert svc.requests[1] == ["t0"]
    more.set()
    result = await run
    assert result.ok
    assert svc.requests[2] == ["late"]


async def test_partial_chunk_of_a_stalled_async_input_is_sent() -> None:
    svc = FakeService()
    more = asyncio.Event()

    async def stalls() -> AsyncIterator[dict[str, Any]]:
        for item in tasks(30):
            yield item
        await more.wait()
        for item in tasks(5, "u"):
            yield item

    run = asyncio.ensure_future(run_add_collection(svc, "job", stalls(), policy=fast_policy()))
    for _ in range(300):
        if svc.requests:
            break
        await asyncio.sleep(0.01)
    assert [len(r) for r in svc.requests] == [30]
    more.set()
    result = await run
    assert result.counts["added"] == 35


@pytest.mark.parametrize("burst", [["500", "500", "500"], ["503", "503"], ["408"], ["drop-before"]])
async def test_whole_request_failures_are_retried_for_the_same_ids(burst: list[str]) -> None:
    svc = FakeService(plan=burst)
    sleep = SleepRecorder()
    result = await run_add_collection(svc, "job", tasks(100), policy=fast_policy(sleep))
    assert result.ok
    assert len(svc.requests) == len(burst) + 1
    assert all(sorted(r) == sorted(svc.requests[0]) for r in svc.requests)
    assert len(sleep.delays) == len(burst)
    # Exponential backoff: 0.01, 0.02, 0.04 ... (jitter 0 in the fast policy).
    assert sleep.delays == [pytest.approx(0.01 * 2**i) for i in range(len(burst))]
    _assert_agrees_with_service(result, svc, 100)


async def test_429_retry_after_is_honoured_and_capped() -> None:
    svc = FakeService(plan=["429:3", "429:500"])
    sleep = SleepRecorder()
    policy = fast_policy(sleep, retry_after_cap=60.0)
    result = await run_add_collection(svc, "job", tasks(10), policy=policy)
    assert result.ok
    assert sleep.delays == [3.0, 60.0]


@pytest.mark.parametrize("action", ["drop-after", "timeout-after", "500-after", "partial"])
async def test_unknown_outcome_then_task_exists_is_added_on_retry(action: str) -> None:
    svc = FakeService(plan=[action])
    result = await run_add_collection(svc, "job", tasks(50), policy=fast_policy())
    assert result.ok
    counts = result.counts
    if action == "partial":
        # Only the task whose result was missing is in doubt.
        assert counts["added_on_retry"] == 1
        assert counts["added"] == 49
    else:
        assert counts["added_on_retry"] == 50
    retried = result.by_outcome(Outcome.ADDED_ON_RETRY)
    assert all(o.error_code == "TaskExists" and o.attempts == 2 for o in retried)
    assert all(o.result.status is TaskAddStatus.CLIENT_ERROR for o in retried)
    _assert_agrees_with_service(result, svc, 50)


async def test_malformed_results_are_unknown_outcomes_and_retried() -> None:
    svc = FakeService()
    calls = 0

    async def sender(job_id: str, body: bytes, **_: Any) -> Any:
        nonlocal calls
        calls += 1
        answer = await svc(job_id, body)
        if calls == 1:
            return {"not": "a list"}  # processed by the service, garbage to us
        if calls == 2:
            return [None, "x", {"taskId": 5}, {"status": "success"}, *answer]
        return answer

    result = await run_add_collection(sender, "job", tasks(4), policy=fast_policy())
    assert result.counts["added_on_retry"] == 4
    _assert_agrees_with_service(result, svc, 4)


async def test_task_exists_without_unknown_outcome_is_an_id_clash() -> None:
    svc = FakeService(existing=("T5", "t9"))
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", tasks(20), policy=fast_policy())
    err = info.value
    assert sorted(o.task_id for o in err.failed) == ["t5", "t9"]
    assert all(o.outcome is Outcome.FAILED and o.error_code == "TaskExists" for o in err.failed)
    assert len(err.succeeded) == 18
    assert not err.not_attempted
    assert err.result.counts["failed"] == 2  # type: ignore[attr-defined]
    assert "TaskExists" in str(err)


async def test_task_exists_is_success_opt_in() -> None:
    svc = FakeService(existing=("t5",))
    result = await run_add_collection(
        svc, "job", tasks(20), policy=fast_policy(), task_exists_is_success=True
    )
    assert result.ok
    assert [o.task_id for o in result.by_outcome(Outcome.ALREADY_EXISTS)] == ["t5"]


async def test_persistent_server_error_is_bounded_and_reported_unknown() -> None:
    svc = FakeService(default_action="500")
    sleep = SleepRecorder()
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", tasks(30), policy=fast_policy(sleep), max_attempts=4)
    result = info.value.result  # type: ignore[attr-defined]
    assert len(svc.requests) == 4
    assert len(sleep.delays) == 3
    assert result.counts["unknown"] == 30
    assert all(o.attempts == 4 and o.error_code == "InternalError" for o in result.outcomes)
    assert not svc.store


async def test_persistent_per_task_servererror_is_bounded_and_failed() -> None:
    svc = FakeService(task_fault=lambda tid, seen: "servererror" if tid == "t1" else None)
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", tasks(5), policy=fast_policy(max_attempts=3))
    (failed,) = info.value.failed
    assert failed.task_id == "t1"
    assert failed.outcome is Outcome.FAILED
    assert failed.attempts == 3
    assert failed.result.status is TaskAddStatus.SERVER_ERROR
    assert svc.seen["t1"] == 3


async def test_duplicate_ids_in_a_sequence_fail_before_sending() -> None:
    svc = FakeService()
    items = [*tasks(10), {"id": "T3", "commandLine": "x"}]
    with pytest.raises(TaskValidationError, match="'T3'"):
        await run_add_collection(svc, "job", items, policy=fast_policy())
    assert svc.requests == []


async def test_duplicate_ids_in_a_generator_fail_only_the_repeat() -> None:
    def gen() -> Iterator[dict[str, Any]]:
        yield from tasks(120)
        yield {"id": "T7", "commandLine": "dup"}
        yield {"id": "z1", "commandLine": "x"}

    svc = FakeService()
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", gen(), policy=fast_policy())
    (dup,) = info.value.failed
    assert dup.task_id == "T7"
    assert dup.index == 120
    assert dup.error_code == "DuplicateTaskId"
    assert isinstance(dup.exception, TaskValidationError)
    assert len(info.value.succeeded) == 121
    assert all("T7" not in r for r in svc.requests)
    _assert_agrees_with_service(info.value.result, svc, 122)  # type: ignore[attr-defined]


async def test_duplicate_detection_can_be_disabled_for_generators() -> None:
    svc = FakeService()
    items = iter([*tasks(3), {"id": "t1", "commandLine": "x"}])
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", items, policy=fast_policy(), detect_duplicates=False)
    # The service sees the repeat and answers TaskExists: an ID clash.
    assert [o.error_code for o in info.value.failed] == ["TaskExists"]


async def test_invalid_item_fails_alone() -> None:
    svc = FakeService()
    items: list[Any] = [*tasks(3), {"id": "bad id!", "commandLine": "x"}, 42, *tasks(2, "u")]
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", iter(items), policy=fast_policy())
    assert [o.index for o in info.value.failed] == [3, 4]
    assert all(o.error_code == "InvalidTaskParameter" for o in info.value.failed)
    assert all(o.result.status is TaskAddStatus.CLIENT_ERROR for o in info.value.failed)
    assert len(info.value.succeeded) == 5


@pytest.mark.parametrize("send_max_limit", [True, False])
async def test_413_teaches_a_smaller_limit_and_loses_nothing(send_max_limit: bool) -> None:
    svc = FakeService(limit=20_000, send_max_limit=send_max_limit)
    result = await run_add_collection(
        svc, "job", tasks(400, pad=500), policy=fast_policy(), max_concurrency=1
    )
    assert result.ok
    assert result.body_limit <= 20_000
    # Learned once (or a few halvings without MaxLimit), then no more 413s.
    assert svc.statuses["413"] <= (1 if send_max_limit else 3)
    assert all(o.attempts == 1 for o in result.outcomes)  # 413s are not attempts
    _assert_agrees_with_service(result, svc, 400)


async def test_zero_413s_under_the_configured_limit() -> None:
    svc = FakeService(limit=50_000)
    result = await run_add_collection(
        svc, "job", tasks(300, pad=900), policy=fast_policy(), body_limit=50_000
    )
    assert result.ok
    assert svc.statuses["413"] == 0
    assert max(svc.sizes) < 50_000


async def test_task_too_large_alone_fails_client_side_without_a_request() -> None:
    svc = FakeService()
    items = [*tasks(2), {"id": "huge", "commandLine": "x" * 2000}, *tasks(2, "u")]
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", items, policy=fast_policy(), body_limit=1000)
    (big,) = info.value.failed
    assert big.task_id == "huge"
    assert big.error_code == "RequestBodyTooLarge"
    assert big.attempts == 0
    assert all("huge" not in r for r in svc.requests)
    assert len(info.value.succeeded) == 4


async def test_task_too_large_for_the_service_fails_after_413() -> None:
    svc = FakeService(limit=1500)
    items = [*tasks(3), {"id": "huge", "commandLine": "x" * 2000}]
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", items, policy=fast_policy())
    (big,) = info.value.failed
    assert big.task_id == "huge"
    assert big.error_code == "RequestBodyTooLarge"
    assert len(info.value.succeeded) == 3


async def test_fatal_request_error_stops_and_accounts_for_everything() -> None:
    svc = FakeService(plan=["ok", "404"])

    def gen() -> Iterator[dict[str, Any]]:
        yield from tasks(1000)

    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", gen(), policy=fast_policy(), max_concurrency=1)
    result = info.value.result  # type: ignore[attr-defined]
    assert result.counts["added"] == 100
    assert result.counts["failed"] == 100
    assert result.counts["not_attempted"] == 800
    assert all(o.error_code == "JobNotFound" for o in result.failed)
    assert len(svc.requests) == 2
    assert "JobNotFound" in str(info.value)
    _assert_agrees_with_service(result, svc, 1000)


async def test_deadline_cancels_the_request_in_flight_and_reports_the_rest_not_attempted() -> None:
    svc = FakeService(delay=0.05)
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(
            svc, "job", tasks(1000), policy=fast_policy(), max_concurrency=1, deadline=0.02
        )
    result = info.value.result  # type: ignore[attr-defined]
    # The one request started was cut at the deadline, before the service processed it: its
    # tasks are UNKNOWN (the client cannot know that), everything else was never sent.
    assert svc.requests == []
    assert len(svc.time_left) == 1
    assert 0 < svc.time_left[0] <= 0.02
    unknown = [o for o in result.outcomes if o.outcome is Outcome.UNKNOWN]
    assert [o.index for o in unknown] == list(range(100))
    assert {(o.attempts, o.code) for o in unknown} == {(1, "TaskAddOutcomeUnknown")}
    assert all("deadline exceeded while its request was in flight" in o.reason for o in unknown)
    assert result.counts["not_attempted"] == 900
    assert result.requests == 1
    assert result.stop_reason == "deadline exceeded"


async def test_retry_that_would_pass_the_deadline_is_not_made() -> None:
    svc = FakeService(plan=["500"])
    policy = fast_policy(backoff_initial=100.0, backoff_max=100.0)
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", tasks(10), policy=policy, deadline=5.0)
    assert len(svc.requests) == 1
    assert info.value.result.counts["unknown"] == 10  # type: ignore[attr-defined]


async def test_deadline_counts_injected_sleeps_as_elapsed_time() -> None:
    svc = FakeService(default_action="500")
    sleep = SleepRecorder()
    policy = fast_policy(sleep, backoff_initial=2.0, backoff_max=100.0)
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", tasks(10), policy=policy, deadline=5.0)
    # t=0 fails, wait 2 -> t=2 fails, the next wait (4) would end at t=6, past the deadline.
    assert sleep.delays == [2.0]
    assert len(svc.requests) == 2
    outcomes = info.value.result.outcomes  # type: ignore[attr-defined]
    assert {(o.outcome, o.attempts) for o in outcomes} == {(Outcome.UNKNOWN, 2)}


async def test_retry_policy_deadline_bounds_each_tasks_retry_window() -> None:
    svc = FakeService(task_fault=lambda tid, seen: "servererror")
    sleep = SleepRecorder()
    policy = fast_policy(sleep, backoff_initial=2.0, backoff_max=100.0, deadline=3.0)
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", tasks(3), policy=policy)
    # First try at t=0, retry at t=2; a second retry would start at t=6 > 0 + 3.
    assert sleep.delays == [2.0]
    (reason,) = {o.reason for o in info.value.failed}
    assert "retry window" in (reason or "")
    assert {o.attempts for o in info.value.failed} == {2}


async def test_generator_that_raises_midway() -> None:
    def gen() -> Iterator[dict[str, Any]]:
        yield from tasks(250)
        raise OSError("input file vanished")

    svc = FakeService()
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", gen(), policy=fast_policy())
    assert isinstance(info.value.__cause__, OSError)
    assert "input file vanished" in str(info.value)
    result = info.value.result  # type: ignore[attr-defined]
    # Everything read before the failure was still sent (incl. the open 50-task chunk).
    assert result.counts["added"] == 250
    assert [len(r) for r in svc.requests] == [100, 100, 50]
    _assert_agrees_with_service(result, svc, 250)


async def test_status_strings_are_matched_case_insensitively() -> None:
    svc = FakeService(
        existing=("t2",),
        status_case=lambda s: {"success": "Success", "clienterror": "ClientError"}.get(s, s),
    )
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", tasks(5), policy=fast_policy())
    assert [o.task_id for o in info.value.failed] == ["t2"]
    assert len(info.value.succeeded) == 4


async def test_progress_and_on_result_callbacks() -> None:
    seen: list[TaskAddOutcome] = []
    progress: list[BulkProgress] = []

    async def on_result(outcome: TaskAddOutcome) -> None:
        seen.append(outcome)

    svc = FakeService(plan=["500"])
    await run_add_collection(
        svc,
        "job",
        tasks(250),
        policy=fast_policy(),
        on_result=on_result,
        on_progress=progress.append,
        collect_results=False,
    )
    assert sorted(o.index for o in seen) == list(range(250))
    final = progress[-1]
    assert final.done
    assert final.submitted == 250
    assert final.added == 250
    assert final.pending == 0
    assert final.retried == 100
    assert final.requests == 4
    assert any(not p.done and p.pending > 0 for p in progress)


async def test_collect_results_false_keeps_counts_only() -> None:
    svc = FakeService()
    result = await run_add_collection(
        svc, "job", tasks(120), policy=fast_policy(), collect_results=False
    )
    assert result.value == []
    assert result.outcomes == []
    assert result.counts["added"] == 120
    assert result.total == 120
    assert result.ok


async def test_raise_on_failure_false_returns_the_result() -> None:
    svc = FakeService(existing=("t1",))
    result = await run_add_collection(
        svc, "job", tasks(3), policy=fast_policy(), raise_on_failure=False
    )
    assert not result.ok
    assert result.counts["failed"] == 1
    assert result.value[1].status is TaskAddStatus.CLIENT_ERROR


async def test_pipeline_stays_full_while_one_request_is_slow() -> None:
    release = asyncio.Event()
    svc = FakeService()
    first = True

    async def sender(job_id: str, body: bytes, **_: Any) -> list[dict[str, Any]]:
        nonlocal first
        if first:
            first = False
            await release.wait()
        return await svc(job_id, body)

    run = asyncio.ensure_future(
        run_add_collection(sender, "job", tasks(2000), policy=fast_policy(), max_concurrency=2)
    )
    for _ in range(200):
        await asyncio.sleep(0)
    # One worker is stuck on the first request; the other kept going (no waves).
    assert len(svc.requests) == 19
    release.set()
    result = await run
    assert result.ok


async def test_input_is_read_lazily_with_bounded_read_ahead() -> None:
    pulled = 0

    def gen() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for i in range(100_000):
            pulled += 1
            yield {"id": f"t{i}", "commandLine": "x"}

    svc = FakeService()
    svc.gate = asyncio.Event()
    run = asyncio.ensure_future(
        run_add_collection(
            svc, "job", gen(), policy=fast_policy(), max_concurrency=4, collect_results=False
        )
    )
    for _ in range(100):
        await asyncio.sleep(0)
    # 4 in flight + 5 packed and waiting + the open chunk (+1 read that closed it).
    assert pulled <= (4 + 5 + 1) * 100 + 1
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run


def _generated(n: int) -> Iterator[dict[str, Any]]:
    yield from tasks(n)


def _models(n: int) -> list[TaskAddParameter]:
    # A list of models travels as whole requests (column chunks) until something needs entries.
    return [TaskAddParameter.model_validate(t) for t in tasks(n)]


@pytest.mark.parametrize("make", [_generated, _models], ids=["generator", "list of models"])
async def test_cancellation_accounts_for_every_task_read(make: Any) -> None:
    svc = FakeService()
    svc.gate = asyncio.Event()
    seen: list[TaskAddOutcome] = []
    progress: list[BulkProgress] = []
    run = asyncio.ensure_future(
        run_add_collection(
            svc,
            "job",
            make(5000),
            policy=fast_policy(),
            max_concurrency=3,
            on_result=seen.append,
            on_progress=progress.append,
        )
    )
    for _ in range(50):
        await asyncio.sleep(0)
    assert svc.in_flight == 3
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    final = progress[-1]
    assert final.done
    assert final.pending == 0
    assert final.submitted == len(seen) == final.added + final.failed + final.not_attempted
    indexes = sorted(o.index for o in seen)
    assert indexes == list(range(len(seen)))  # everything read, once, nothing beyond
    unknown = [o for o in seen if o.outcome is Outcome.UNKNOWN]
    assert len(unknown) == 300
    assert all("in flight" in (o.reason or "") for o in unknown)
    assert {o.attempts for o in unknown} == {1}
    rest = [o for o in seen if o.outcome is not Outcome.UNKNOWN]
    assert rest
    assert all(o.outcome is Outcome.NOT_ATTEMPTED for o in rest)
    assert {o.attempts for o in rest} == {0}
    assert svc.in_flight == 0


async def test_iterator_streams_outcomes_and_stops_on_break() -> None:
    svc = FakeService(existing=("t3",))
    got: list[TaskAddOutcome] = []
    async for outcome in iter_add_collection(svc, "job", tasks(300), policy=fast_policy()):
        got.append(outcome)
    assert sorted(o.index for o in got) == list(range(300))
    assert [o.task_id for o in got if not o.ok] == ["t3"]

    svc2 = FakeService()
    stream = iter_add_collection(svc2, "job", iter(tasks(100_000)), policy=fast_policy())
    count = 0
    async for _ in stream:
        count += 1
        if count == 150:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    assert len(svc2.requests) < 100


async def test_iterator_raise_on_failure_and_input_errors() -> None:
    svc = FakeService(existing=("t0",))
    stream = iter_add_collection(svc, "job", tasks(3), policy=fast_policy(), raise_on_failure=True)
    assert (await stream.__anext__()).task_id in ("t0", "t1", "t2")
    await stream.__anext__()
    await stream.__anext__()
    with pytest.raises(AddCollectionError):
        await stream.__anext__()

    def gen() -> Iterator[dict[str, Any]]:
        yield from tasks(5, "u")
        raise RuntimeError("boom")

    outcomes: list[TaskAddOutcome] = []

    async def consume() -> None:
        async for o in iter_add_collection(FakeService(), "job", gen(), policy=fast_policy()):
            outcomes.append(o)

    with pytest.raises(AddCollectionError) as info:
        await consume()
    assert isinstance(info.value.__cause__, RuntimeError)
    assert len(outcomes) == 5
    assert all(o.outcome is Outcome.ADDED for o in outcomes)


async def test_argument_validation() -> None:
    with pytest.raises(ValueError, match="threads"):
        await run_add_collection(FakeService(), "job", [], policy=fast_policy(), threads=-1)
    with pytest.raises(ValueError, match="max_concurrency"):
        await run_add_collection(FakeService(), "job", [], policy=fast_policy(), max_concurrency=0)
    result = await run_add_collection(FakeService(), "job", [], policy=fast_policy())
    assert result.ok
    assert result.total == 0
    assert result.requests == 0
