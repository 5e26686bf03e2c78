"""RetryPolicy: what is retried, how long to wait, when to give up — and the one tenacity factory.

The policy is a frozen value object shared by the client (per-request retries) and the bulk
engine (per-task retries via `delay()` / `is_retryable()`). Which *operations* may be retried
after an unknown outcome is decided by the caller (see `TaskOperations.add`); this module only
knows which *failures* are transient. It must not import aiohttp or do I/O besides sleeping.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import tenacity

from batchtasks._private.errors import BatchConnectionError, BatchServiceError, answer_unreadable

__all__ = ["DEFAULT_RETRY_POLICY", "NO_RETRY", "RETRYABLE_STATUSES", "RetryPolicy"]

#: Statuses worth another try: timeout, throttling and transient server/proxy failures.
RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})

_UNSET: Any = object()


class _Clock:
    """Time of one retried call: real time spent outside sleeps plus the sleeps requested.

    With the real `asyncio.sleep` this equals wall time; with an injected fake sleep (tests) the
    deadline still advances by the delays the policy asked for, so deadlines are testable without
    waiting.
    """

    __slots__ = ("_real_slept", "_requested", "_start")

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._real_slept = 0.0
        self._requested = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self._start - self._real_slept + self._requested

    async def sleep(self, sleep: Callable[[float], Awaitable[None]], seconds: float) -> None:
        began = time.monotonic()
        try:
            await sleep(seconds)
        finally:
            self._real_slept += time.monotonic() - began
            self._requested += seconds


@dataclass(frozen=True)
class RetryPolicy:
    """How requests are retried.

    Transient failures (connection errors, timeouts, HTTP 408/429/500/502/503/504) are retried
    with exponential backoff plus jitter, honouring a server's `Retry-After` up to
    `retry_after_cap`, for at most `max_attempts` tries and `deadline` seconds in total.

    Args:
        max_attempts: total tries of one request (1 = no retries).
        backoff_initial: delay before the first retry, in seconds; doubles each retry.
        backoff_max: ceiling of the exponential part.
        jitter: up to this many random seconds are added to each backoff delay.
        retry_after_cap: a `Retry-After` longer than this is cut to this.
        deadline: total seconds for one call including retries and waits (None: unbounded).
            A retry whose wait would end past the deadline is not attempted.
        sleep: the coroutine used to wait; inject a fake in tests.
    """

    max_attempts: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    jitter: float = 0.5
    retry_after_cap: float = 60.0
    deadline: float | None = 300.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        for name in ("backoff_initial", "backoff_max", "jitter", "retry_after_cap"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.deadline is not None and self.deadline <= 0:
            raise ValueError("deadline must be positive or None")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number `attempt` (1-based) before the next one.

        Args:
            attempt: how many tries have failed so far (>= 1).
            retry_after: the server's `Retry-After` in seconds, if it sent one; it replaces the
                backoff (capped at `retry_after_cap`).
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        exponent = max(attempt - 1, 0)
        # Avoid float overflow for absurd attempt numbers; the cap applies anyway.
        backoff = self.backoff_initial * (2.0 ** min(exponent, 64))
        return min(backoff, self.backoff_max) + random.uniform(0.0, self.jitter)

    def is_retryable(self, exc: BaseException) -> bool:
        """Whether `exc` is a transient failure worth another try of the same request.

        Connection failures and timeouts, the `RETRYABLE_STATUSES`, and a success answer that
        could not be read (`answer_unreadable`: a proxy that blanked or cut the body).
        """
        if isinstance(exc, BatchConnectionError):
            return exc.transient
        if isinstance(exc, BatchServiceError):
            return exc.status in RETRYABLE_STATUSES or answer_unreadable(exc)
        return False

    def retrying(
        self,
        *,
        deadline: float | None = _UNSET,
        retry_if: Callable[[BaseException], bool] | None = None,
    ) -> tenacity.AsyncRetrying:
        """A fresh tenacity `AsyncRetrying` applying this policy (use one per call).

        Args:
            deadline: override of `self.deadline` for this call (None: unbounded).
            retry_if: narrower predicate for this call (e.g. a non-idempotent operation may only
                retry failures it knows were not processed); default `is_retryable`.

        Returns:
            An `AsyncRetrying` that re-raises the last exception when it gives up.
        """
        limit = self.deadline if deadline is _UNSET else deadline
        should_retry = retry_if or self.is_retryable
        clock = _Clock()

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = exc.retry_after if isinstance(exc, BatchServiceError) else None
            return self.delay(state.attempt_number, retry_after)

        def stop(state: tenacity.RetryCallState) -> bool:
            if state.attempt_number >= self.max_attempts:
                return True
            return limit is not None and clock.elapsed() + state.upcoming_sleep > limit

        def retry(state: tenacity.RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            return exc is not None and should_retry(exc)

        async def sleep(seconds: float) -> None:
            await clock.sleep(self.sleep, seconds)

        return tenacity.AsyncRetrying(stop=stop, wait=wait, retry=retry, sleep=sleep, reraise=True)


DEFAULT_RETRY_POLICY: Final = RetryPolicy()

#: A policy that never retries (one attempt, no deadline).
NO_RETRY: Final = RetryPolicy(max_attempts=1, deadline=None)
