"""What one bulk add run holds, and how it stops: queues, clock, stop flag, wake-ups.

`BulkAddEngine` is built in layers, one module each, each using only the layers below it::

    state.py    this: the run's settings, queues and counters; clock; stop; waking workers
    feeder.py   reading the input into packed chunks (backpressure, duplicates, linger)
    engine.py   workers: sending, retry scheduling, deadline, final accounting

and two function modules the layers call: answers.py (an answer into outcomes) and decisions.py
(what a failure means, when to give up). The layers share one object so that the per-task hot
path reads plain attributes. This module must not send, read answers or decide outcomes.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Iterator
from typing import Any

from batchtasks._private.bulk.decisions import fail_too_large, give_up
from batchtasks._private.bulk.encode import encode_task
from batchtasks._private.bulk.ledger import Ledger
from batchtasks._private.bulk.packer import Chunk, Entry, Packer
from batchtasks._private.bulk.sender import ChunkSender, Encoder
from batchtasks._private.constants import MAX_TASKS_PER_REQUEST
from batchtasks._private.errors import RequestBodyTooLargeError
from batchtasks._private.retry import RetryPolicy

__all__ = ["EngineState", "StopReason"]


class StopReason:
    """Why a run stopped early (string constants, shown in outcome reasons)."""

    DEADLINE = "deadline exceeded"
    CANCELLED = "cancelled"
    FATAL = "aborted after a non-retryable request error"


class EngineState:
    """The state of one bulk add call shared by the engine's layers (see the module docstring).

    Args:
        sender: sends one request (`ChunkSender`).
        job_id: the job to add to.
        ledger: where every task's terminal outcome goes.
        policy: backoff (`delay`), what is retryable, the injectable `sleep`, and the per-task
            retry window (`RetryPolicy.deadline`).
        max_concurrency: requests in flight at once (one worker each).
        body_limit: request bodies stay strictly below this many bytes.
        max_attempts: sends per task.
        deadline: seconds for the whole call (None: none); it bounds requests in flight too.
        task_exists_is_success: a `TaskExists` for an ID this call had not possibly added is
            ALREADY_EXISTS rather than FAILED.
        detect_duplicates: reject repeated IDs in the input.
        max_tasks_per_request: tasks per request (the service allows 100).
        encoder: validates and serializes one input item.
    """

    def __init__(
        self,
        sender: ChunkSender,
        job_id: str,
        ledger: Ledger,
        *,
        policy: RetryPolicy,
        max_concurrency: int,
        body_limit: int,
        max_attempts: int,
        deadline: float | None,
        task_exists_is_success: bool,
        detect_duplicates: bool = True,
        max_tasks_per_request: int = MAX_TASKS_PER_REQUEST,
        encoder: Encoder = encode_task,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if deadline is not None and deadline <= 0:
            raise ValueError("deadline must be positive or None")
        self._sender = sender
        self._job_id = job_id
        self._ledger = ledger
        self._policy = policy
        self._concurrency = max_concurrency
        self._max_attempts = max_attempts
        self._exists_ok = task_exists_is_success
        self._detect_duplicates = detect_duplicates
        self._encode = encoder
        self._fast_models = encoder is encode_task
        self._packer = Packer(body_limit, max_tasks_per_request)
        self._max_tasks = max_tasks_per_request
        self._loop = asyncio.get_running_loop()
        # Virtual clock: real loop time, pushed forward when an injected fake sleep returns
        # early, so deadlines behave the same with RetryPolicy(sleep=fake).
        self._offset = 0.0
        self._deadline_at = None if deadline is None else self._now() + deadline
        self._deadline_timer: asyncio.TimerHandle | None = None

        self._fresh: collections.deque[Chunk] = collections.deque()
        self._ready: collections.deque[Chunk] = collections.deque()
        self._retry_ready: list[Entry] = []
        self._retry_bytes = 0  # sum of len(data) + 1 over _retry_ready
        self._retry_since: float | None = None  # loop time the oldest held retry became ready
        self._hold_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._sleeping: dict[asyncio.Task[None], list[Entry]] = {}
        #: chunks whose request is being sent, with the worker sending it
        self._inflight: dict[Chunk, asyncio.Task[Any]] = {}
        #: in-flight chunks whose request the deadline cancelled
        self._cut: set[Chunk] = set()
        self._input_done = False
        self._input_iter: Iterator[Any] | AsyncIterator[Any] | None = None
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._space: asyncio.Future[None] | None = None

        self.stop_reason: str | None = None
        self.fatal_error: BaseException | None = None
        self.input_error: BaseException | None = None
        self.learned_limit: int | None = None
        self.consumed = 0  # input items read

    @property
    def body_limit(self) -> int:
        """The body limit in force (lowered when a 413 teaches a smaller one)."""
        return self._packer.limit

    def _now(self) -> float:
        return self._loop.time() + self._offset

    def _time_left(self) -> float | None:
        """Seconds until the call's deadline (engine clock), or None without one."""
        deadline_at = self._deadline_at
        return None if deadline_at is None else deadline_at - self._now()

    def _stop(self, reason: str | None) -> None:
        if self.stop_reason is None and reason is not None:
            self.stop_reason = reason
        self._wake_all()
        space = self._space
        if space is not None and not space.done():
            space.set_result(None)

    def _wake_one(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _wake_all(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _fail_too_large(self, entry: Entry, exc: RequestBodyTooLargeError | None) -> None:
        fail_too_large(self._ledger, entry, self._packer.limit, exc)

    def _give_up(self, entry: Entry, reason: str) -> None:
        """Terminal state of an entry we stop working on, decided by what we know of it."""
        give_up(self._ledger, entry, reason, self.fatal_error or self.input_error)
