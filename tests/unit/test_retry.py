"""RetryPolicy: what is retried, backoff and Retry-After, attempts and deadline (fake sleep)."""

from __future__ import annotations

import pytest

from batchtasks._private.errors import (
    BadRequestError,
    BatchConnectionError,
    BatchServiceError,
    BatchTimeoutError,
    ConflictError,
    ServerError,
    ThrottledError,
)
from batchtasks._private.retry import RetryPolicy
from tests.unit.conftest import FakeSleep


def service_error(status: int, retry_after: float | None = None) -> BatchServiceError:
    cls = ThrottledError if status == 429 else ServerError if status >= 500 else BadRequestError
    return cls(status=status, retry_after=retry_after)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retryable(status: int) -> None:
    assert RetryPolicy().is_retryable(BatchServiceError(status=status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 412, 413, 501])
def test_other_statuses_are_not(status: int) -> None:
    assert not RetryPolicy().is_retryable(BatchServiceError(status=status))


def test_connection_errors_and_timeouts_are_retryable_others_not() -> None:
    policy = RetryPolicy()
    assert policy.is_retryable(BatchConnectionError("reset"))
    assert policy.is_retryable(BatchTimeoutError("slow"))
    assert not policy.is_retryable(ValueError("x"))
    assert not policy.is_retryable(ConflictError(status=409))


def test_delay_exponential_capped_with_bounded_jitter() -> None:
    policy = RetryPolicy(backoff_initial=0.5, backoff_max=4.0, jitter=0.25)
    for attempt, base in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (500, 4.0)]:
        for _ in range(20):
            value = policy.delay(attempt)
            assert base <= value <= base + 0.25


def test_delay_without_jitter_is_exact() -> None:
    policy = RetryPolicy(backoff_initial=1.0, backoff_max=100.0, jitter=0.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]


def test_retry_after_replaces_backoff_and_is_capped() -> None:
    policy = RetryPolicy(retry_after_cap=10.0)
    assert policy.delay(1, retry_after=3.0) == 3.0
    assert policy.delay(4, retry_after=3.0) == 3.0
    assert policy.delay(1, retry_after=3600.0) == 10.0
    assert policy.delay(1, retry_after=-1.0) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"backoff_initial": -1.0}, {"jitter": -0.1}, {"deadline": 0.0}],
)
def test_invalid_policies_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


async def _run(
    policy: RetryPolicy, failures: list[BaseException], **kw: object
) -> tuple[int, object]:
    calls = 0
    result: object = None
    async for attempt in policy.retrying(**kw):  # type: ignore[arg-type]
        with attempt:
            calls += 1
            if failures:
                raise failures.pop(0)
            result = "ok"
    return calls, result


async def test_retrying_counts_attempts_and_sleeps(fake_sleep: FakeSleep) -> None:
    policy = RetryPolicy(max_attempts=5, backoff_initial=1.0, jitter=0.0, sleep=fake_sleep)
    calls, result = await _run(policy, [service_error(500), BatchConnectionError("x")])
    assert (calls, result) == (3, "ok")
    assert fake_sleep.calls == [1.0, 2.0]


async def test_retrying_honours_retry_after_capped(fake_sleep: FakeSleep) -> None:
    policy = RetryPolicy(retry_after_cap=5.0, sleep=fake_sleep)
    calls, _ = await _run(
        policy, [service_error(429, retry_after=2.0), service_error(429, retry_after=99.0)]
    )
    assert calls == 3
    assert fake_sleep.calls == [2.0, 5.0]


async def test_retrying_gives_up_after_max_attempts_with_last_error(fake_sleep: FakeSleep) -> None:
    policy = RetryPolicy(max_attempts=3, jitter=0.0, sleep=fake_sleep)
    errors = [service_error(503), service_error(503), service_error(502), service_error(500)]
    with pytest.raises(ServerError) as info:
        await _run(policy, errors)
    assert info.value.status == 502
    assert len(fake_sleep.calls) == 2
    assert len(errors) == 1  # the fourth was never tried


async def test_non_retryable_error_raises_at_once(fake_sleep: FakeSleep) -> None:
    policy = RetryPolicy(sleep=fake_sleep)
    with pytest.raises(BadRequestError):
        await _run(policy, [service_error(400)])
    assert fake_sleep.calls == []


async def test_deadline_stops_before_a_wait_that_would_overrun(fake_sleep: FakeSleep) -> None:
    policy = RetryPolicy(
        max_attempts=100,
        backoff_initial=1.0,
        backoff_max=100.0,
        jitter=0.0,
        deadline=10.0,
        sleep=fake_sleep,
    )
    with pytest.raises(ServerError):
        await _run(policy, [service_error(500) for _ in range(100)])
    # 1 + 2 + 4 = 7 s slept; the next wait (8 s) would end at 15 s > 10 s.
    assert fake_sleep.calls == [1.0, 2.0, 4.0]


async def test_deadline_override_and_none(fake_sleep: FakeSleep) -> None:
    policy = RetryPolicy(
        max_attempts=6, backoff_initial=1.0, jitter=0.0, deadline=2.0, sleep=fake_sleep
    )
    calls, _ = await _run(policy, [service_error(500)] * 5, deadline=None)
    assert calls == 6
    assert fake_sleep.calls == [1.0, 2.0, 4.0, 8.0, 16.0]


async def test_retry_if_narrows_the_predicate(fake_sleep: FakeSleep) -> None:
    policy = RetryPolicy(sleep=fake_sleep)
    with pytest.raises(ServerError):
        await _run(
            policy, [service_error(500)], retry_if=lambda exc: isinstance(exc, ThrottledError)
        )
    assert fake_sleep.calls == []
