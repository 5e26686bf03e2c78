"""The bulk deadline against the in-process fake: requests in flight are cut, the time left is
passed on, and a caller's cancellation that meets the deadline still propagates, every task read
accounted once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from batchtasks._private.bulk import Outcome, TaskAddOutcome, run_add_collection
from batchtasks._private.bulk.engine import BulkAddEngine
from batchtasks._private.errors import AddCollectionError, BatchTimeoutError
from batchtasks._private.retry import RetryPolicy
from tests.unit.test_bulk_support import FakeService, SleepRecorder, fast_policy, tasks


async def test_time_left_follows_the_engine_clock_across_injected_sleeps() -> None:
    # The first request fails (500); the fake sleep "waits" 2.5 s at once, so the retry starts
    # 2.5 s into the call on the engine's clock and may take only what is left of deadline=3.
    svc = FakeService(plan=["500"])
    svc.gate = asyncio.Event()  # the retry never gets an answer
    svc.gate.set()
    sleep = SleepRecorder()

    async def close_gate_then_sleep(seconds: float) -> None:
        await sleep(seconds)
        assert svc.gate is not None
        svc.gate.clear()

    policy = RetryPolicy(
        backoff_initial=2.5, backoff_max=2.5, jitter=0.0, sleep=close_gate_then_sleep
    )
    with pytest.raises(AddCollectionError) as info:
        await run_add_collection(svc, "job", tasks(10), policy=policy, deadline=3.0)
    assert sleep.delays == [2.5]
    first, retry = svc.time_left
    assert first is not None
    assert retry is not None
    assert 2.9 < first <= 3.0
    assert 0 < retry <= 0.5
    outcomes = info.value.result.outcomes  # type: ignore[attr-defined]
    assert {(o.outcome, o.attempts) for o in outcomes} == {(Outcome.UNKNOWN, 2)}
    assert all(isinstance(o.exception, BatchTimeoutError) for o in outcomes)


async def test_cancellation_meeting_the_deadline_still_propagates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    svc = FakeService()
    svc.gate = asyncio.Event()  # nothing is ever answered
    seen: list[TaskAddOutcome] = []
    runner: asyncio.Task[Any] | None = None
    original = BulkAddEngine._on_deadline

    def deadline_then_cancel(self: BulkAddEngine) -> None:
        original(self)
        assert runner is not None
        runner.cancel()  # before any cut worker runs again

    monkeypatch.setattr(BulkAddEngine, "_on_deadline", deadline_then_cancel)
    runner = asyncio.ensure_future(
        run_add_collection(
            svc,
            "job",
            tasks(450),
            policy=fast_policy(),
            max_concurrency=3,
            deadline=0.05,
            on_result=seen.append,
        )
    )
    with pytest.raises(asyncio.CancelledError):
        await runner
    assert sorted(o.index for o in seen) == list(range(len(seen)))  # each read task once
    unknown = [o for o in seen if o.outcome is Outcome.UNKNOWN]
    assert len(unknown) == 300  # the three requests in flight
    assert {o.attempts for o in unknown} == {1}
    assert {o.outcome for o in seen} == {Outcome.UNKNOWN, Outcome.NOT_ATTEMPTED}
