"""Property test: under any schedule of faults, every task gets exactly one outcome and the
outcomes agree with what the (fake) service holds."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchtasks._private.bulk import Outcome, run_add_collection
from tests.unit.test_bulk_support import FakeService, fast_policy, tasks

_ACTIONS = st.sampled_from(
    [
        "ok",
        "ok",
        "ok",
        "500",
        "503",
        "429:1",
        "408",
        "drop-before",
        "drop-after",
        "timeout-after",
        "500-after",
        "partial",
        "404",
    ]
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    n=st.integers(0, 450),
    plan=st.lists(_ACTIONS, max_size=12),
    flaky=st.frozensets(st.integers(0, 449), max_size=30),
    existing=st.frozensets(st.integers(0, 449), max_size=5),
    concurrency=st.integers(1, 5),
    max_attempts=st.integers(1, 6),
    limit=st.sampled_from([1 << 20, 6_000, 2_500]),
    exists_ok=st.booleans(),
)
def test_exactly_one_outcome_that_agrees_with_the_service(
    n: int,
    plan: list[str],
    flaky: frozenset[int],
    existing: frozenset[int],
    concurrency: int,
    max_attempts: int,
    limit: int,
    exists_ok: bool,
) -> None:
    svc = FakeService(
        plan=list(plan),
        limit=limit,
        existing=tuple(f"t{i}" for i in existing),
        task_fault=lambda tid, seen: "servererror" if int(tid[1:]) in flaky and seen < 2 else None,
    )
    pre_existing = {f"t{i}" for i in existing}
    result = asyncio.run(
        run_add_collection(
            svc,
            "job",
            iter(tasks(n, pad=40)),
            policy=fast_policy(),
            max_concurrency=concurrency,
            max_attempts=max_attempts,
            task_exists_is_success=exists_ok,
            raise_on_failure=False,
        )
    )
    assert result.total == n
    assert [o.index for o in result.outcomes] == list(range(n))
    assert all(count == 1 for count in svc.stored_counts.values())
    for o in result.outcomes:
        assert o.attempts <= max_attempts
        key = o.task_id
        stored_by_us = svc.stored_counts[key] == 1
        if o.outcome is Outcome.ADDED:
            assert stored_by_us
        elif o.outcome is Outcome.ADDED_ON_RETRY:
            assert key in svc.doubted, o
            assert stored_by_us or key in pre_existing
        elif o.outcome is Outcome.ALREADY_EXISTS:
            assert exists_ok
            assert key in pre_existing
            assert key not in svc.doubted
        elif o.outcome in (Outcome.FAILED, Outcome.NOT_ATTEMPTED):
            assert not stored_by_us, o
            if o.error_code == "TaskExists":  # an ID clash, never a doubted one
                assert key in pre_existing
                assert key not in svc.doubted
                assert not exists_ok
        elif o.outcome is Outcome.UNKNOWN:
            assert key in svc.doubted, o
    if "404" not in plan and not existing and not flaky and max_attempts > len(plan):
        assert result.ok, result.counts
