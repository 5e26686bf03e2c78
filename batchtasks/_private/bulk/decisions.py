"""Retry decisions of a bulk add: what a failed request means for its tasks, and when to stop.

Pure decisions over what is known of a task (`Entry`) and of the failure: whether a failure
leaves the outcome unknown, which body limit a 413 teaches, which terminal state a task gets
when the engine stops working on it, and which of a request's tasks may still be retried and
after how long. The ledger records the terminal states; this module must not schedule, sleep,
send or read answers (engine.py and answers.py do).
"""

from __future__ import annotations

from collections.abc import Callable

from batchtasks._private.bulk.ledger import Ledger
from batchtasks._private.bulk.outcome import (
    CLIENT_CODE_NOT_ATTEMPTED,
    CLIENT_CODE_TOO_LARGE,
    CLIENT_CODE_UNKNOWN,
    Outcome,
)
from batchtasks._private.bulk.packer import ENVELOPE_SIZE, Entry
from batchtasks._private.errors import (
    BatchConnectionError,
    BatchServiceError,
    RequestBodyTooLargeError,
    answer_unreadable,
)
from batchtasks._private.retry import RetryPolicy

__all__ = [
    "fail_too_large",
    "give_up",
    "learn_limit",
    "max_limit_detail",
    "outcome_unknown",
    "retry_delay",
]


def outcome_unknown(exc: BaseException) -> bool:
    """Whether a request that failed with `exc` may have been applied by the service.

    Yes after a connection failure once the request was sent, a 5xx, and a success answer
    that could not be read (a 2xx that is not the operation's, or a body that does not decode):
    the service may have stored the tasks before the answer was lost or mangled.
    """
    if isinstance(exc, BatchConnectionError):
        return exc.request_sent
    if isinstance(exc, BatchServiceError):
        return exc.status >= 500 or answer_unreadable(exc)
    # An unexpected exception from the sender: nothing proves the request was not applied.
    return True


def max_limit_detail(exc: BatchServiceError) -> int | None:
    """The `MaxLimit` detail of a 413 (bytes), if the service sent a usable one."""
    for detail in exc.values:
        if (detail.key or "").lower() == "maxlimit" and detail.value:
            try:
                return int(detail.value.strip())
            except ValueError:
                return None
    return None


def learn_limit(exc: RequestBodyTooLargeError, size: int, limit: int) -> int:
    """The body limit to use after a `size`-byte body got `exc` under the limit `limit`.

    The service's MaxLimit detail if it is below the rejected size, else half that size; never
    above the current limit, never below the smallest body that can carry a task.
    """
    max_limit = max_limit_detail(exc)
    learned = max_limit if max_limit is not None and max_limit < size else size // 2
    return max(min(learned, limit), ENVELOPE_SIZE + 3)


def fail_too_large(
    ledger: Ledger, entry: Entry, limit: int, exc: RequestBodyTooLargeError | None
) -> None:
    """Terminal state of a task that cannot travel alone under `limit` (None: found client-side)."""
    size = ENVELOPE_SIZE + len(entry.data)
    if exc is None:
        reason = (
            f"the task alone needs a {size}-byte request body; the body limit is {limit}"
            " bytes (bodies must be strictly below it)"
        )
    else:
        reason = f"the service rejected a request carrying only this task as too large: {exc}"
    if entry.maybe_added:
        ledger.finish(entry, Outcome.UNKNOWN, exception=exc, reason=reason)
    else:
        ledger.finish(
            entry, Outcome.FAILED, exception=exc, reason=reason, code=CLIENT_CODE_TOO_LARGE
        )


def give_up(ledger: Ledger, entry: Entry, reason: str, stopped_by: BaseException | None) -> None:
    """Terminal state of a task the engine stops working on, decided by what is known of it.

    Never sent: NOT_ATTEMPTED (blamed on `stopped_by`, the error that stopped the run, if any).
    Sent, and some attempt's outcome was unknown: UNKNOWN. Sent, every attempt failed
    definitely: FAILED.
    """
    exc = entry.last_exception
    code = getattr(exc, "code", None) if exc is not None else None
    if entry.attempts <= 0:
        ledger.finish(
            entry,
            Outcome.NOT_ATTEMPTED,
            exception=stopped_by,
            reason=reason,
            code=CLIENT_CODE_NOT_ATTEMPTED,
        )
    elif entry.maybe_added:
        ledger.finish(
            entry,
            Outcome.UNKNOWN,
            exception=exc,
            reason=reason + "; an attempt had an unknown outcome, so it may have been added",
            code=code or CLIENT_CODE_UNKNOWN,
        )
    else:
        ledger.finish(
            entry,
            Outcome.FAILED,
            raw=entry.last_error,
            exception=exc,
            reason=reason,
            code=code,
        )


def retry_delay(
    entries: list[Entry],
    retry_after: float | None,
    *,
    policy: RetryPolicy,
    max_attempts: int,
    stop_reason: str | None,
    now: float,
    deadline_at: float | None,
    drop: Callable[[Entry, str], None],
) -> tuple[list[Entry], float]:
    """Which of `entries` get another attempt, and after how many seconds.

    A task is dropped (`drop(entry, reason)`: the caller gives it its terminal state) when its
    attempt budget is spent, when the run is stopping, when the retry would start at or after
    the call's deadline, or when it would start after the task's retry window
    (`RetryPolicy.deadline`, counted from its first attempt) closed.

    Returns:
        (the tasks to retry, the delay), or ([], 0.0) when none is retried.
    """
    pending: list[Entry] = []
    for entry in entries:
        if entry.attempts >= max_attempts:
            drop(entry, f"gave up after {entry.attempts} attempts")
        elif stop_reason is not None:
            drop(entry, f"not retried: {stop_reason}")
        else:
            pending.append(entry)
    if not pending:
        return [], 0.0
    attempt = max(entry.attempts for entry in pending)
    delay = policy.delay(attempt, retry_after)
    retry_at = now + delay
    if deadline_at is not None and retry_at >= deadline_at:
        for entry in pending:
            drop(entry, "not retried: the deadline would pass before the retry")
        return [], 0.0
    window = policy.deadline
    if window is not None:
        started_at = retry_at - window
        if any(entry.first_sent < started_at for entry in pending):
            keep = []
            for entry in pending:
                if entry.first_sent < started_at:
                    drop(entry, f"not retried: its retry window ({window:g}s) would pass")
                else:
                    keep.append(entry)
            pending = keep
    return pending, delay
