"""The poll loop of `watch`/`wait` on a fake job: exactly once, none missed, cost, timeouts."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchtasks import (
    BatchClient,
    NotFoundError,
    RetryPolicy,
    ServerError,
    SharedKeyCredential,
    ThrottledError,
)
from batchtasks._private.wait_query import TaskQuery, merge_select
from batchtasks._private.wait_summary import WaitTimeoutError
from batchtasks._private.waiting import TaskWatch, WatchSettings
from batchtasks.models import TaskState

from ._fake_job import FakeJob, FakeTask


async def _no_sleep(seconds: float) -> None:
    return None


POLICY = RetryPolicy(max_attempts=4, jitter=0.0, sleep=_no_sleep)


def _watch(job: FakeJob, **kw: object) -> TaskWatch:
    return TaskWatch(job, "j", WatchSettings(**kw), POLICY, clock=job.clock, sleep=job.sleep)  # type: ignore[arg-type]


async def _ids(watch: TaskWatch) -> list[str]:
    return [t.id async for t in watch if t.id is not None]


# -- exactly once, none missed -----------------------------------------------------------------

finish_times = st.lists(
    st.tuples(
        st.integers(0, 30),  # finish time: many equal timestamps
        st.sampled_from([0.0, 0.5, 3.0]),  # list visibility lag (below and near the look-back)
        st.integers(0, 2),  # exit code
    ),
    min_size=0,
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=finish_times,
    counts_lag=st.sampled_from([0.0, 2.0]),
    interval=st.sampled_from([0.5, 1.0, 4.0]),
)
def test_every_task_is_yielded_exactly_once(
    plan: list[tuple[int, float, int]], counts_lag: float, interval: float
) -> None:
    tasks = [
        FakeTask(
            f"t{i}", start=max(f - 1, 0), finish=f + 0.25 * (i % 2), exit_code=c, visible_lag=lag
        )
        for i, (f, lag, c) in enumerate(plan)
    ]
    job = FakeJob(tasks, counts_lag=counts_lag)
    watch = _watch(job, poll_interval=interval, max_poll_interval=8.0, lookback=1.0)
    got = asyncio.run(_ids(watch))
    assert sorted(got) == sorted(t.id for t in tasks)
    assert len(got) == len(set(got))
    summary = watch.summary
    assert summary.reached == len(tasks)
    assert summary.failed == sum(t.exit_code != 0 for t in tasks)
    assert {f.task_id for f in summary.failures} == {t.id for t in tasks if t.exit_code}


@settings(max_examples=30, deadline=None)
@given(
    plan=st.lists(st.integers(0, 20), min_size=1, max_size=15),
    chosen=st.sets(st.integers(0, 14), min_size=1, max_size=30),
)
def test_named_tasks_only(plan: list[int], chosen: set[int]) -> None:
    tasks = [FakeTask(f"T{i}", start=0, finish=f) for i, f in enumerate(plan)]
    names = [f"t{i}" for i in sorted(chosen) if i < len(plan)]  # other case: ids are case-blind
    if not names:
        return
    job = FakeJob(tasks)
    got = asyncio.run(_ids(_watch(job, task_ids=tuple(names), poll_interval=1.0)))
    assert sorted(i.lower() for i in got) == sorted(names)


async def test_a_late_named_task_is_found_while_the_job_keeps_running() -> None:
    # "late" (stamped at 5) shows up only at 10, after "t3" (7) was seen: beyond the 1 s
    # look-back. "forever" keeps the job from ever settling, so no end check would save it;
    # the quiet-time listing (every 300 s here) must ask for the named ids without a time bound.
    tasks = [FakeTask("late", start=0, finish=5, visible_lag=5), FakeTask("forever", 0, 10**6)]
    tasks += [FakeTask(f"t{i}", start=0, finish=4 + i) for i in range(6)]
    job = FakeJob(tasks)
    watch = _watch(job, task_ids=("late", "t3"), lookback=1.0, timeout=1000.0)
    assert sorted(await _ids(watch)) == ["late", "t3"]


async def test_running_is_reached_by_running_and_completed_tasks() -> None:
    job = FakeJob([FakeTask("a", start=2, finish=3), FakeTask("b", start=5, finish=50)])
    watch = _watch(job, until=TaskState.RUNNING)
    assert await _ids(watch) == ["a", "b"]
    assert job.now < 50  # b was yielded while running


# -- cost -------------------------------------------------------------------------------------


async def test_nothing_is_listed_while_the_counts_do_not_move() -> None:
    job = FakeJob([FakeTask("slow", start=0, finish=200)])
    summary = await _watch(job, poll_interval=1.0, max_poll_interval=30.0).wait()
    assert summary.reached == 1
    assert summary.ok
    # ~12 count polls (backing off to 30 s) but only a handful of listings
    assert job.calls["list"] <= 12
    assert job.calls["counts"] < 25


async def test_an_empty_job_ends_at_once() -> None:
    job = FakeJob([])
    summary = await _watch(job).wait()
    assert (summary.reached, job.calls["counts"], job.now) == (0, 1, 0.0)


async def test_no_named_tasks_means_no_request() -> None:
    job = FakeJob([FakeTask("a", start=0, finish=5)])
    summary = await _watch(job, task_ids=()).wait()
    assert (summary.reached, summary.pending_task_ids) == (0, ())
    assert job.calls == {"counts": 0, "list": 0, "get": 0}


async def test_incremental_listings_ask_only_for_recent_transitions() -> None:
    job = FakeJob([FakeTask(f"t{i:02}", start=0, finish=i) for i in range(30)], page_size=1000)
    seen: list[TaskQuery] = []
    real = job.list_tasks

    def spy(query: TaskQuery, *, max_results: int | None = None):  # type: ignore[no-untyped-def]
        seen.append(query)
        return real(query, max_results=max_results)

    job.list_tasks = spy  # type: ignore[method-assign]
    await _watch(job, poll_interval=1.0, lookback=2.0).wait()
    since = [q.since for q in seen if q.since is not None]
    assert since == sorted(since)
    assert len(since) >= 10
    assert "stateTransitionTime ge datetime'" in seen[-2].to_odata()


# -- failures, throttling, timeout, missing tasks ----------------------------------------------


async def test_throttling_and_server_errors_are_retried() -> None:
    job = FakeJob([FakeTask("a", start=0, finish=3)])
    job.faults = [
        ThrottledError(status=429, code="TooManyRequests", retry_after=7),
        ServerError(status=500, code="InternalError"),
    ]
    assert await _ids(_watch(job)) == ["a"]
    assert job.now >= 7  # the Retry-After was honoured


async def test_a_persistent_failure_surfaces() -> None:
    job = FakeJob([FakeTask("a", start=0, finish=3)])
    job.faults = [ServerError(status=500, code="InternalError") for _ in range(10)]
    with pytest.raises(ServerError):
        await _watch(job).wait()
    assert job.calls["counts"] == POLICY.max_attempts


async def test_timeout_carries_the_summary_so_far() -> None:
    job = FakeJob([FakeTask("quick", start=0, finish=1, exit_code=4), FakeTask("slow", 0, 999)])
    with pytest.raises(WaitTimeoutError) as info:
        await _watch(job, timeout=20.0).wait()
    summary = info.value.summary
    assert (summary.reached, summary.failed, summary.failures[0].task_id) == (1, 1, "quick")
    assert summary.task_counts is not None
    assert summary.task_counts.running == 1
    assert job.now <= 20.0
    assert "timed out after 20 s" in str(info.value)


async def test_a_named_task_that_does_not_exist_raises_not_found() -> None:
    job = FakeJob([FakeTask("a", start=0, finish=2)])
    with pytest.raises(NotFoundError):
        await _watch(job, task_ids=("a", "ghost")).wait()


async def test_closing_early_stops_polling() -> None:
    job = FakeJob([FakeTask(f"t{i}", start=0, finish=i) for i in range(10)])
    async with _watch(job) as watch:
        async for _task in watch:
            break
    calls = dict(job.calls)
    await asyncio.sleep(0)
    assert job.calls == calls


# -- settings and queries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {"poll_interval": 0},
        {"poll_interval": 5, "max_poll_interval": 1},
        {"timeout": 0},
        {"task_ids": "abc"},
        {"task_ids": ("a", "")},
        {"until": "finished"},
    ],
)
def test_bad_settings_are_refused(kw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        WatchSettings(**kw)  # type: ignore[arg-type]


def test_query_text() -> None:
    query = TaskQuery(
        (TaskState.RUNNING, TaskState.COMPLETED),
        since=datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=timezone.utc),
        ids=("a", "o'b"),
        user_filter="startswith(id,'a')",
    )
    assert query.to_odata() == (
        "(state eq 'running' or state eq 'completed') and "
        "stateTransitionTime ge datetime'2026-01-02T03:04:05.000600Z' and "
        "(id eq 'a' or id eq 'o''b') and (startswith(id,'a'))"
    )
    assert merge_select("executionInfo, id") == "executionInfo,id,state,stateTransitionTime"


# -- the client's watch: options checked at call time, nothing sent -----------------------------


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        ({"bogus": 1}, TypeError),
        ({"timeout": 5, "client_request_id": "x"}, TypeError),
        ({"task_ids": "t1"}, ValueError),
        ({"until": "finished"}, ValueError),
        ({"poll_interval": -1}, ValueError),
    ],
)
async def test_client_watch_refuses_bad_options(kw: dict[str, object], error: type) -> None:
    client = BatchClient("http://127.0.0.1:9", SharedKeyCredential("a", "a2V5"))
    with pytest.raises(error):
        client.tasks.watch("j", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        client.tasks.watch("")
    watch = client.tasks.watch("j", task_ids=["T1"], until="Running", select="id")
    assert watch.summary.pending_task_ids == ("T1",)
    assert watch.summary.until == TaskState.RUNNING
    await client.close()
