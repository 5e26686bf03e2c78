"""The bulk engine's parts on their own: retry decisions, reading an answer, the chunk sender."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from batchtasks._private.bulk.answers import MissingResult, read_answer
from batchtasks._private.bulk.decisions import (
    give_up,
    learn_limit,
    outcome_unknown,
    retry_delay,
)
from batchtasks._private.bulk.ledger import Ledger
from batchtasks._private.bulk.outcome import Outcome
from batchtasks._private.bulk.packer import ENVELOPE_SIZE, Chunk, Entry
from batchtasks._private.bulk.sender import PipelineChunkSender
from batchtasks._private.errors import (
    BatchConnectionError,
    BatchServiceError,
    answer_unreadable,
    error_from_response,
)
from batchtasks._private.protocol import Request, Response
from batchtasks._private.retry import RetryPolicy
from batchtasks._private.transport import Timeout
from tests.unit.test_bulk_support import service_error


def _entry(task_id: str, attempts: int = 1, first_sent: float = 0.0) -> Entry:
    entry = Entry(task_id, task_id.lower(), b'{"id":"' + task_id.encode() + b'"}', 0)
    entry.attempts = attempts
    entry.first_sent = first_sent
    return entry


@pytest.mark.parametrize(
    ("exc", "unknown"),
    [
        (BatchConnectionError("refused", request_sent=False), False),
        (BatchConnectionError("reset", request_sent=True), True),
        (service_error(500, "InternalError"), True),
        (service_error(404, "JobNotFound"), False),
        (service_error(429, "TooManyRequests"), False),
        (error_from_response(200, {}, b"<html>", expected_status=200), True),
        (error_from_response(204, {}, b"", expected_status=200), True),
        (BatchServiceError(status=200, message="malformed success response"), True),
        (RuntimeError("a sender bug"), True),
    ],
)
def test_outcome_unknown_and_retryable_agree_on_unreadable_answers(
    exc: BaseException, unknown: bool
) -> None:
    assert outcome_unknown(exc) is unknown
    if isinstance(exc, BatchServiceError) and 200 <= exc.status < 300:
        assert answer_unreadable(exc)
        assert RetryPolicy().is_retryable(exc)
    else:
        assert not answer_unreadable(exc)


def test_learn_limit_prefers_max_limit_below_the_rejected_size() -> None:
    told = service_error(413, "RequestBodyTooLarge", MaxLimit="5000")
    assert learn_limit(told, size=8000, limit=10_000) == 5000
    # A MaxLimit that does not explain the rejection: halve the body instead.
    assert learn_limit(told, size=4000, limit=10_000) == 2000
    silent = service_error(413, "RequestBodyTooLarge")
    assert learn_limit(silent, size=8000, limit=3000) == 3000  # never above the current limit
    assert learn_limit(silent, size=4, limit=3000) == ENVELOPE_SIZE + 3  # never useless


async def test_retry_delay_drops_by_budget_deadline_and_window() -> None:
    ledger = Ledger(collect=True)
    dropped: list[tuple[str, str]] = []

    def drop(entry: Entry, reason: str) -> None:
        dropped.append((entry.task_id, reason))
        give_up(ledger, entry, reason, None)

    policy = RetryPolicy(backoff_initial=1.0, jitter=0.0, deadline=10.0)
    spent, fresh, old = _entry("spent", attempts=3), _entry("fresh", 1, 95.0), _entry("old", 1, 0.0)
    pending, delay = retry_delay(
        [spent, fresh, old],
        None,
        policy=policy,
        max_attempts=3,
        stop_reason=None,
        now=100.0,
        deadline_at=None,
        drop=drop,
    )
    assert (pending, delay) == ([fresh], 1.0)
    assert dropped == [
        ("spent", "gave up after 3 attempts"),
        ("old", "not retried: its retry window (10s) would pass"),
    ]
    # A call deadline the retry would reach: nobody is retried.
    pending, _ = retry_delay(
        [fresh],
        5.0,
        policy=policy,
        max_attempts=3,
        stop_reason=None,
        now=100.0,
        deadline_at=104.0,
        drop=drop,
    )
    assert pending == []
    assert dropped[-1] == ("fresh", "not retried: the deadline would pass before the retry")
    assert ledger.counts["failed"] == 3


async def test_give_up_decides_by_what_is_known() -> None:
    ledger = Ledger(collect=True)
    never, doubted, refused = _entry("never", 0), _entry("doubted"), _entry("refused")
    doubted.maybe_added = True
    for entry in (never, doubted, refused):
        give_up(ledger, entry, "stopped", None)
    await ledger.flush()
    assert [(o.task_id, o.outcome) for o in ledger.collected or []] == [
        ("never", Outcome.NOT_ATTEMPTED),
        ("doubted", Outcome.UNKNOWN),
        ("refused", Outcome.FAILED),
    ]


async def test_read_answer_records_terminal_results_and_returns_the_rest() -> None:
    ledger = Ledger(collect=True)
    entries = [_entry(name) for name in ("ok", "Case", "busy", "exists", "odd", "lost")]
    entries[3].maybe_added = True
    chunk = Chunk(entries, 0)
    results: list[Any] = [
        {"taskId": "ok", "status": "success"},
        {"taskId": "case", "status": "Success"},  # another case of the ID and the status
        {"taskId": "busy", "status": "servererror"},
        {"taskId": "exists", "status": "clienterror", "error": {"code": "TaskExists"}},
        {"taskId": "odd", "status": "pending"},
        {"taskId": "not-sent", "status": "success"},
    ]
    retry = read_answer(chunk, results, ledger, exists_ok=False)
    assert [e.task_id for e in retry] == ["busy", "odd", "lost"]
    assert [e.maybe_added for e in retry] == [False, True, True]
    assert isinstance(retry[2].last_exception, MissingResult)
    await ledger.flush()
    assert {o.task_id: o.outcome for o in ledger.collected or []} == {
        "ok": Outcome.ADDED,
        "Case": Outcome.ADDED,
        "exists": Outcome.ADDED_ON_RETRY,
    }


class _RecordingPipeline:
    timeout = Timeout(connect=5, read=50, total=60)

    def __init__(self) -> None:
        self.sent: list[tuple[Request, Timeout | None]] = []

    async def send(self, request: Request, *, timeout: Timeout | None, **_: Any) -> Response:
        self.sent.append((request, timeout))
        await asyncio.sleep(0)
        body = json.dumps({"value": [{"taskId": "a", "status": "success"}]}).encode()
        return Response(status=200, headers={}, body=body)


async def test_sender_caps_each_request_timeout_at_the_time_left() -> None:
    pipeline = _RecordingPipeline()
    sender = PipelineChunkSender(pipeline, timeout=30)  # type: ignore[arg-type]
    body = b'{"value":[{"id":"a","commandLine":"x"}]}'
    assert await sender("job", body) == [{"taskId": "a", "status": "success"}]
    await sender("job", body, time_left=2.5)
    await sender("job", body, time_left=600.0)
    timeouts = [timeout for _, timeout in pipeline.sent]
    assert timeouts == [None, Timeout(connect=5, read=50, total=2.5), pipeline.timeout]
    request = pipeline.sent[0][0]
    assert (request.path, request.body, dict(request.query)["timeout"]) == (
        "/jobs/job/addtaskcollection",
        body,
        "30",
    )
