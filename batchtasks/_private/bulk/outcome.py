"""The per-task terminal outcome of a bulk add, and the progress snapshot for progress bars.

Value objects only: this module must not decide outcomes (that is `engine.py`) nor do I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from batchtasks.models import BatchError, TaskAddResult, TaskAddStatus

__all__ = ["BulkProgress", "Outcome", "TaskAddOutcome"]


class Outcome(str, enum.Enum):
    """The one terminal state every input task of a bulk add ends in.

    * ``ADDED`` — the service answered ``success`` for it.
    * ``ADDED_ON_RETRY`` — the service answered ``TaskExists`` to a retry, and an earlier attempt
      of this call had an *unknown* outcome (timeout, dropped connection, 5xx, missing result):
      that attempt almost certainly added it. Reported distinctly because batchtasks cannot prove
      the task was not created by someone else in between.
    * ``ALREADY_EXISTS`` — ``TaskExists`` for an ID this call had not (possibly) added, accepted as
      success only because ``task_exists_is_success=True``. Without that flag it is ``FAILED``.
    * ``FAILED`` — definitely not added by this call: the service (or client-side validation)
      rejected it, or it was retried until the budget/deadline ran out and every attempt got a
      definite failure.
    * ``UNKNOWN`` — it was sent, the last word we have is "outcome unknown", and we stopped
      trying (cancelled while in flight, or the attempt budget/deadline ran out after a timeout,
      connection loss or 5xx). The task may exist; list the job to find out.
    * ``NOT_ATTEMPTED`` — never sent (deadline, cancellation, or the run was aborted by a fatal
      error or an exception from the input).
    """

    ADDED = "added"
    ADDED_ON_RETRY = "added_on_retry"
    ALREADY_EXISTS = "already_exists"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NOT_ATTEMPTED = "not_attempted"

    def __str__(self) -> str:
        return self.value

    @property
    def is_success(self) -> bool:
        """The task is in the service and the call counts it as done."""
        return self in _SUCCESS


_SUCCESS = frozenset({Outcome.ADDED, Outcome.ADDED_ON_RETRY, Outcome.ALREADY_EXISTS})

#: Error codes batchtasks itself puts into synthesized per-task results (never sent by Batch).
CLIENT_CODE_DUPLICATE = "DuplicateTaskId"
CLIENT_CODE_INVALID = "InvalidTaskParameter"
CLIENT_CODE_TOO_LARGE = "RequestBodyTooLarge"
CLIENT_CODE_NOT_ATTEMPTED = "TaskNotAttempted"
CLIENT_CODE_UNKNOWN = "TaskAddOutcomeUnknown"


class TaskAddOutcome:
    """How one input task ended (passed to `on_result`, yielded by `add_collection_iter`).

    Attributes:
        task_id: the task's ID as given (None only if an input item had no usable ID).
        index: the task's position in the input (0-based).
        outcome: the terminal state (`Outcome`).
        attempts: requests that carried this task to the service (413 answers not counted).
        raw: the service's own per-task result JSON for the attempt that decided the outcome,
            or None if the service never gave one (request-level failures, not attempted).
        exception: the request-level or client-side error behind a FAILED / UNKNOWN /
            NOT_ATTEMPTED outcome, if there was one.
        reason: a short human-readable explanation for anything but ADDED.
        code: the error code when the service gave no per-task result: the request's Batch
            error code, or one of batchtasks' own (``DuplicateTaskId``, ``InvalidTaskParameter``,
            ``RequestBodyTooLarge``, ``TaskNotAttempted``, ``TaskAddOutcomeUnknown``).
    """

    __slots__ = (
        "_result",
        "attempts",
        "code",
        "exception",
        "index",
        "outcome",
        "raw",
        "reason",
        "task_id",
    )

    def __init__(
        self,
        task_id: str | None,
        index: int,
        outcome: Outcome,
        attempts: int,
        raw: Mapping[str, Any] | None = None,
        exception: BaseException | None = None,
        reason: str | None = None,
        code: str | None = None,
    ) -> None:
        self.task_id = task_id
        self.index = index
        self.outcome = outcome
        self.attempts = attempts
        self.raw = raw
        self.exception = exception
        self.reason = reason
        self.code = code
        self._result: TaskAddResult | None = None

    @property
    def ok(self) -> bool:
        """True for ADDED, ADDED_ON_RETRY and ALREADY_EXISTS."""
        return self.outcome in _SUCCESS

    @property
    def error_code(self) -> str | None:
        """The Batch error code of a failure (service's or a client-side one), else None."""
        if self.raw is not None:
            error = self.raw.get("error")
            if isinstance(error, Mapping):
                code = error.get("code")
                return code if isinstance(code, str) else None
            return None
        return self.code

    @property
    def result(self) -> TaskAddResult:
        """This outcome as the service's `TaskAddResult` model (built on first access).

        For outcomes the service never answered (client-side rejection, request-level failure,
        not attempted), a result is synthesized: status ``clienterror`` for FAILED by client-side
        or non-retryable rejections, ``servererror`` otherwise (retries exhausted, UNKNOWN,
        NOT_ATTEMPTED: resending unchanged may work), with a `BatchError` whose code is the
        request's error code or one of batchtasks' own codes (``DuplicateTaskId``,
        ``InvalidTaskParameter``, ``RequestBodyTooLarge``, ``TaskNotAttempted``,
        ``TaskAddOutcomeUnknown``).
        """
        if self._result is None:
            if self.raw is not None:
                raw = self.raw
                self._result = TaskAddResult.model_validate(raw if type(raw) is dict else dict(raw))
            else:
                self._result = _synthesize(self)
        return self._result

    def __repr__(self) -> str:
        extra = f", reason={self.reason!r}" if self.reason else ""
        return (
            f"TaskAddOutcome(task_id={self.task_id!r}, index={self.index}, "
            f"outcome={self.outcome.value}, attempts={self.attempts}{extra})"
        )


def _synthesize(outcome: TaskAddOutcome) -> TaskAddResult:
    from batchtasks._private.errors import BatchServiceError, TaskValidationError

    exc = outcome.exception
    if outcome.outcome is Outcome.ADDED:  # pragma: no cover - ADDED always has `raw`
        return TaskAddResult(status=TaskAddStatus.SUCCESS, task_id=outcome.task_id or "")
    # Only a definite rejection is a client error; NOT_ATTEMPTED / UNKNOWN may be re-sent as is.
    client_side = outcome.outcome is Outcome.FAILED and (
        exc is None
        or isinstance(exc, TaskValidationError)
        or (
            isinstance(exc, BatchServiceError) and exc.status < 500 and exc.status not in (408, 429)
        )
    )
    status = TaskAddStatus.CLIENT_ERROR if client_side else TaskAddStatus.SERVER_ERROR
    message = outcome.reason or (str(exc) if exc is not None else outcome.outcome.value)
    error = BatchError.model_validate(
        {
            "code": outcome.code or CLIENT_CODE_UNKNOWN,
            "message": {"lang": "en-US", "value": message},
        }
    )
    return TaskAddResult(status=status, task_id=outcome.task_id or "", error=error)


@dataclass(frozen=True, slots=True)
class BulkProgress:
    """A snapshot of a running bulk add, for progress bars (`on_progress`).

    Attributes:
        submitted: tasks read from the input so far.
        added: tasks in a success state (ADDED, ADDED_ON_RETRY, ALREADY_EXISTS).
        failed: tasks FAILED or UNKNOWN.
        not_attempted: tasks NOT_ATTEMPTED.
        retried: task re-sends so far (one task retried twice counts 2).
        pending: tasks read but without a terminal state yet.
        requests: add_collection requests completed (any answer or error).
        elapsed: seconds since the call started.
        tasks_per_second: terminal outcomes per second so far.
        done: True in the final snapshot.
    """

    submitted: int
    added: int
    failed: int
    not_attempted: int
    retried: int
    pending: int
    requests: int
    elapsed: float
    tasks_per_second: float
    done: bool = False
