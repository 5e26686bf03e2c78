"""The bulk add scheduler: read input lazily, pack, send concurrently, retry only what failed.

Shape of one run::

    input --feeder--> Packer --> fresh chunks (bounded) --\\
                                                           +--> N workers --ChunkSender--> service
    retries (after backoff) --> re-packed --> ready chunks-/         |
                                                                     v
                                                  Ledger (exactly one terminal outcome per task)

* The feeder (feeder.py) validates and serializes each task once, rejects duplicate IDs, and
  blocks when `max_concurrency` packed chunks are waiting (backpressure: memory is O(in-flight)).
* `max_concurrency` workers each take the next chunk as soon as their previous request finishes,
  so the pipeline stays full (no waves). Ready retries and re-split chunks go before fresh ones.
* An answer is read into outcomes by answers.py. Per-task `servererror` results and retryable
  request failures (connection errors, timeouts, 408/429/5xx per `RetryPolicy.is_retryable`, a
  success answer that cannot be read) re-queue exactly the affected entries after
  `RetryPolicy.delay()` (Retry-After honoured, capped); their bytes are reused and re-packed with
  other ready retries. Each task has an attempt budget (decisions.py decides who is retried).
* The call's deadline bounds everything: each request's client-side timeout is at most the time
  left, and requests still in flight when it passes are cancelled (their tasks are UNKNOWN).
* 413: the limit is learned (the error's MaxLimit detail, else half the rejected body) and the
  chunk is re-packed; a task that cannot travel alone under the limit fails.
* Any other request-level error (a 4xx such as JobNotFound or AuthenticationFailed) is fatal:
  its tasks fail, nothing new is sent, and the rest of the input is reported NOT_ATTEMPTED.
* An exception from the input stops the reading; everything read before it is still sent and
  accounted, then the caller gets the error (`input_error`).

This module must not import aiohttp or build HTTP requests: it only sees a `ChunkSender`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, Iterable
from typing import Any

from batchtasks._private.bulk.answers import read_answer
from batchtasks._private.bulk.decisions import learn_limit, outcome_unknown, retry_delay
from batchtasks._private.bulk.feeder import Feeder, check_input
from batchtasks._private.bulk.outcome import CLIENT_CODE_UNKNOWN, Outcome
from batchtasks._private.bulk.packer import ENVELOPE_SIZE, Chunk, Entry, pack
from batchtasks._private.bulk.state import StopReason
from batchtasks._private.errors import (
    BatchServiceError,
    BatchTimeoutError,
    RequestBodyTooLargeError,
)

__all__ = ["BulkAddEngine", "StopReason"]


#: Seconds a ready retry may be held back, while input still flows, to share a request.
RETRY_HOLD = 0.5


class BulkAddEngine(Feeder):
    """One bulk add call. Create (arguments: see `EngineState`), `await run(value)` once, then
    read the ledger."""

    async def run(self, value: Iterable[Any] | AsyncIterable[Any]) -> None:
        """Add every task of `value`; every item read ends with one outcome in the ledger.

        Raises:
            TypeError: `value` is a single task or a string.
            TaskValidationError: `value` is a Sequence containing duplicate IDs (nothing sent).
            asyncio.CancelledError: re-raised after in-flight requests are cancelled and every
                task read so far has been given its outcome (delivered to `on_result`).
        """
        seen = check_input(value, self._detect_duplicates)
        self._arm_deadline()
        feeder = asyncio.ensure_future(self._feed(value, seen))
        workers = [asyncio.ensure_future(self._worker()) for _ in range(self._concurrency)]
        tasks = [feeder, *workers]
        try:
            await asyncio.gather(*tasks)
        except BaseException as exc:
            self._stop(StopReason.CANCELLED if isinstance(exc, asyncio.CancelledError) else None)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._account_leftovers()
            # Deliver what we can, but never let a failing callback mask the original error.
            with contextlib.suppress(Exception):
                await self._ledger.flush(to_queue=False)
                await self._ledger.report(done=True)
            raise
        finally:
            if self._deadline_timer is not None:
                self._deadline_timer.cancel()
            for timer in (self._hold_timer, self._linger_timer):
                if timer is not None:
                    timer.cancel()
        await self._account_leftovers()
        try:
            if self.stop_reason in (StopReason.DEADLINE, StopReason.FATAL):
                await self._drain_input()
        except BaseException:
            with contextlib.suppress(Exception):
                await self._ledger.flush(to_queue=False)
            raise
        await self._ledger.flush()

    # -- workers ------------------------------------------------------------------------------

    async def _worker(self) -> None:
        me = asyncio.current_task()
        assert me is not None  # a worker always runs as a task
        while True:
            chunk = self._take()
            if chunk is not None:
                await self._send(chunk, me)
                continue
            if self._finished():
                self._wake_all()
                return
            waiter: asyncio.Future[None] = self._loop.create_future()
            self._waiters.append(waiter)
            await waiter

    def _take(self) -> Chunk | None:
        if self.stop_reason is not None:
            return None
        if self._deadline_at is not None and self._now() >= self._deadline_at:
            self._on_deadline()
            return None
        while True:
            if self._ready:
                chunk = self._ready.popleft()
            elif self._retry_ready and self._retries_due():
                entries, self._retry_ready = self._retry_ready, []
                self._retry_bytes = 0
                self._retry_since = None
                chunks = self._repack(entries)
                if not chunks:
                    continue
                if len(chunks) > 1 and not self._input_done:
                    tail = chunks.pop().entries  # keep the partial remainder for coalescing
                    self._retry_ready = tail
                    self._retry_bytes = sum(len(e.data) + 1 for e in tail)
                    self._retry_since = self._loop.time()
                chunk = chunks[0]
                self._ready.extend(chunks[1:])
            elif self._fresh:
                chunk = self._fresh.popleft()
                space = self._space
                if space is not None and not space.done():
                    space.set_result(None)
            else:
                return None
            if chunk.size >= self._packer.limit:
                # Packed before a 413 lowered the limit.
                chunks = self._repack(chunk.entries)
                if not chunks:
                    continue
                chunk = chunks[0]
                self._ready.extendleft(reversed(chunks[1:]))
            return chunk

    def _retries_due(self) -> bool:
        """Whether the ready retries should be sent now rather than held for company.

        While input is still flowing, retries are held until they fill a request of their own or
        the oldest has waited `RETRY_HOLD` seconds: a 1% per-task failure rate must not add one
        request per failure. At the end of the input they go at once.
        """
        if (
            self._input_done
            or len(self._retry_ready) >= self._max_tasks
            or ENVELOPE_SIZE + self._retry_bytes >= self._packer.limit
        ):
            return True
        since = self._retry_since
        if since is None:
            since = self._retry_since = self._loop.time()
        due = since + RETRY_HOLD
        if self._loop.time() >= due:
            return True
        if self._hold_timer is None or self._hold_timer.when() != due:
            for timer in (self._hold_timer, self._linger_timer):
                if timer is not None:
                    timer.cancel()
            self._hold_timer = self._loop.call_at(due, self._wake_one)
        return False

    def _repack(self, entries: list[Entry]) -> list[Chunk]:
        chunks, too_large = pack(entries, self._packer.limit, self._max_tasks)
        for entry in too_large:
            self._fail_too_large(entry, None)
        return chunks

    def _finished(self) -> bool:
        if self.stop_reason is not None:
            return True
        return (
            self._input_done
            and not self._inflight
            and not self._sleeping
            and not self._ready
            and not self._fresh
            and not self._retry_ready
            and not self._packer.pending()
        )

    async def _send(self, chunk: Chunk, worker: asyncio.Task[Any]) -> None:
        chunk.sent(self._now())
        inflight = self._inflight
        inflight[chunk] = worker
        try:
            results = await self._sender(self._job_id, chunk.body(), time_left=self._time_left())
        except asyncio.CancelledError:
            if chunk not in self._cut:
                raise  # `run` accounts for chunks still in `_inflight`
            # The deadline cancelled this request (`_on_deadline`), not the caller: go on.
            _uncancel(worker)
            del inflight[chunk]
            self._ledger.requests += 1
            self._finish_in_flight(chunk, _deadline_error())
        except Exception as exc:
            del inflight[chunk]
            self._ledger.requests += 1
            self._on_request_error(chunk, exc)
        else:
            del inflight[chunk]
            self._ledger.requests += 1
            retry = read_answer(chunk, results, self._ledger, self._exists_ok)
            if retry:
                self._schedule_retry(retry, None)
        await self._ledger.flush()
        if self._finished():
            self._wake_all()

    # -- failures and retries --------------------------------------------------------------

    def _on_request_error(self, chunk: Chunk, exc: Exception) -> None:
        entries = chunk.entries
        if isinstance(exc, RequestBodyTooLargeError):
            self._on_too_large(chunk, exc)
            return
        unknown = outcome_unknown(exc)
        for entry in entries:
            entry.last_exception = exc
            entry.last_error = None
            if unknown:
                entry.maybe_added = True
        if self._policy.is_retryable(exc):
            retry_after = exc.retry_after if isinstance(exc, BatchServiceError) else None
            self._schedule_retry(entries, retry_after)
            return
        if self.fatal_error is None:
            self.fatal_error = exc
        for entry in entries:
            self._give_up(entry, f"request failed: {exc}")
        self._stop(StopReason.FATAL)

    def _on_too_large(self, chunk: Chunk, exc: RequestBodyTooLargeError) -> None:
        entries = chunk.entries
        for entry in entries:
            entry.attempts -= 1  # the service did not process it: not an attempt
        learned = learn_limit(exc, chunk.size, self._packer.limit)
        if learned < self._packer.limit:
            self._packer.limit = learned
            self.learned_limit = learned
        if len(entries) == 1:
            self._fail_too_large(entries[0], exc)
            return
        chunks, too_large = pack(entries, self._packer.limit, self._max_tasks)
        for entry in too_large:
            self._fail_too_large(entry, exc)
        self._ready.extendleft(reversed(chunks))
        for _ in chunks:
            self._wake_one()

    def _schedule_retry(self, entries: list[Entry], retry_after: float | None) -> None:
        pending, delay = retry_delay(
            entries,
            retry_after,
            policy=self._policy,
            max_attempts=self._max_attempts,
            stop_reason=self.stop_reason,
            now=self._now(),
            deadline_at=self._deadline_at,
            drop=self._give_up,
        )
        if not pending:
            return
        self._ledger.retried += len(pending)
        timer = asyncio.ensure_future(self._retry_later(delay))
        self._sleeping[timer] = pending

    async def _retry_later(self, delay: float) -> None:
        started = self._now()
        await self._policy.sleep(delay)
        offset = started + delay - self._loop.time()
        if offset > self._offset:
            # An injected sleep returned early: the engine clock jumps, and so does the deadline.
            self._offset = offset
            self._arm_deadline()
        me = asyncio.current_task()
        if me is not None:
            entries = self._sleeping.pop(me, [])
            if not self._retry_ready:
                self._retry_since = self._loop.time()
            self._retry_ready.extend(entries)
            self._retry_bytes += sum(len(e.data) + 1 for e in entries)
        self._wake_one()

    # -- deadline and final accounting ------------------------------------------------------

    def _arm_deadline(self) -> None:
        """(Re)start the timer of the call's deadline, at its time on the engine clock."""
        if self._deadline_at is None:
            return
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        self._deadline_timer = self._loop.call_at(
            self._deadline_at - self._offset, self._on_deadline
        )

    def _on_deadline(self) -> None:
        """Stop, and cancel the requests in flight: a deadline bounds them too."""
        self._stop(StopReason.DEADLINE)
        for chunk, worker in self._inflight.items():
            if chunk not in self._cut:
                self._cut.add(chunk)
                worker.cancel()

    def _finish_in_flight(self, chunk: Chunk, exc: BaseException | None) -> None:
        """UNKNOWN for the tasks of a request stopped while in flight (it may have been applied)."""
        reason = self.stop_reason or "stopped"
        for entry in chunk.entries:
            entry.maybe_added = True
            self._ledger.finish(
                entry,
                Outcome.UNKNOWN,
                exception=exc if exc is not None else entry.last_exception,
                reason=f"{reason} while its request was in flight; it may have been added",
                code=CLIENT_CODE_UNKNOWN,
            )

    async def _account_leftovers(self) -> None:
        """Give every entry still held anywhere its terminal state (after workers stopped)."""
        reason = self.stop_reason or "stopped"
        for chunk in list(self._inflight):
            self._finish_in_flight(chunk, None)
        self._inflight.clear()
        timers = list(self._sleeping)
        for timer in timers:
            timer.cancel()
        # Cancelled timers must finish before the loop may close; they never raise otherwise.
        await asyncio.gather(*timers, return_exceptions=True)
        for entries in self._sleeping.values():
            for entry in entries:
                self._give_up(entry, f"not retried: {reason}")
        self._sleeping.clear()
        leftovers = self._retry_ready
        self._retry_ready = []
        for entry in leftovers:
            self._give_up(entry, f"not retried: {reason}")
        for queue in (self._ready, self._fresh):
            while queue:
                for entry in queue.popleft().entries:
                    self._give_up(entry, f"not sent: {reason}")
        pending = self._packer.flush()
        if pending is not None:
            for entry in pending.entries:
                self._give_up(entry, f"not sent: {reason}")


def _deadline_error() -> BatchTimeoutError:
    return BatchTimeoutError(
        "the add_collection deadline passed while this request was in flight;"
        " its outcome is unknown"
    )


def _uncancel(task: asyncio.Task[Any]) -> None:
    """Withdraw a cancellation this engine requested and handled (Python 3.11+ counts them)."""
    uncancel = getattr(task, "uncancel", None)
    if uncancel is not None:
        uncancel()
