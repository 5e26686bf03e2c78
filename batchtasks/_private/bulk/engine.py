"""The bulk add scheduler: read input lazily, pack, send concurrently, retry only what failed.

Shape of one run::

    input --feeder--> Packer --> fresh chunks (bounded) --\\
                                                           +--> N workers --ChunkSender--> service
    retries (after backoff) --> re-packed --> ready chunks-/         |
                                                                     v
                                                  Ledger (exactly one terminal outcome per task)

* The feeder validates and serializes each task once, rejects duplicate IDs, and blocks when
  `max_concurrency` packed chunks are waiting (backpressure: memory is O(in-flight)).
* `max_concurrency` workers each take the next chunk as soon as their previous request finishes,
  so the pipeline stays full (no waves). Ready retries and re-split chunks go before fresh ones.
* Per-task `servererror` results and retryable request failures (connection errors, timeouts,
  408/429/5xx per `RetryPolicy.is_retryable`) re-queue exactly the affected entries after
  `RetryPolicy.delay()` (Retry-After honoured, capped); their bytes are reused and re-packed with
  other ready retries. Each task has an attempt budget; the call has a deadline.
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
import collections
import contextlib
import itertools
import operator
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from batchtasks._private.bulk.encode import encode_task, peek_id
from batchtasks._private.bulk.ledger import Ledger
from batchtasks._private.bulk.outcome import (
    CLIENT_CODE_DUPLICATE,
    CLIENT_CODE_INVALID,
    CLIENT_CODE_NOT_ATTEMPTED,
    CLIENT_CODE_TOO_LARGE,
    CLIENT_CODE_UNKNOWN,
    Outcome,
)
from batchtasks._private.bulk.packer import ENVELOPE_SIZE, Chunk, Entry, Packer, pack
from batchtasks._private.bulk.sender import ChunkSender, Encoder
from batchtasks._private.constants import MAX_TASKS_PER_REQUEST
from batchtasks._private.errors import (
    BatchConnectionError,
    BatchServiceError,
    RequestBodyTooLargeError,
    TaskValidationError,
)
from batchtasks._private.retry import RetryPolicy
from batchtasks.models import TaskAddParameter

__all__ = ["BulkAddEngine", "StopReason"]


#: Seconds a ready retry may be held back, while input still flows, to share a request.
RETRY_HOLD = 0.5
#: Seconds a partial chunk waits for more tasks from a stalled async input before it is sent.
LINGER = 0.02


class StopReason:
    """Why a run stopped early (string constants, shown in outcome reasons)."""

    DEADLINE = "deadline exceeded"
    CANCELLED = "cancelled"
    FATAL = "aborted after a non-retryable request error"


class _MissingResult(BatchServiceError):
    """The service answered 200 but gave no result for a task it was sent."""

    def __init__(self) -> None:
        super().__init__(
            status=200, message="the add_collection response had no result for this task"
        )


def outcome_unknown(exc: BaseException) -> bool:
    """Whether a request that failed with `exc` may have been applied by the service."""
    if isinstance(exc, BatchConnectionError):
        return exc.request_sent
    if isinstance(exc, BatchServiceError):
        return exc.status >= 500
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


class BulkAddEngine:
    """One bulk add call. Create, `await run(value)` once, then read the ledger."""

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
        self._inflight: set[Chunk] = set()
        self._input_done = False
        self._input_iter: Iterator[Any] | AsyncIterator[Any] | None = None
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._space: asyncio.Future[None] | None = None

        self.stop_reason: str | None = None
        self.fatal_error: BaseException | None = None
        self.input_error: BaseException | None = None
        self.learned_limit: int | None = None
        self.consumed = 0  # input items read

    # -- public -------------------------------------------------------------------------------

    @property
    def body_limit(self) -> int:
        """The body limit in force (lowered when a 413 teaches a smaller one)."""
        return self._packer.limit

    async def run(self, value: Iterable[Any] | AsyncIterable[Any]) -> None:
        """Add every task of `value`; every item read ends with one outcome in the ledger.

        Raises:
            TaskValidationError: `value` is a Sequence containing duplicate IDs (nothing sent).
            asyncio.CancelledError: re-raised after in-flight requests are cancelled and every
                task read so far has been given its outcome (delivered to `on_result`).
        """
        if isinstance(value, (str, bytes, Mapping, BaseModel)):
            raise TypeError(
                f"value must be an iterable of tasks, not a single {type(value).__name__};"
                " wrap one task in a list"
            )
        if self._detect_duplicates and isinstance(value, Sequence):
            _check_sequence_duplicates(value)
            seen: set[str] | None = None
        else:
            seen = set() if self._detect_duplicates else None
        if self._deadline_at is not None:
            self._deadline_timer = self._loop.call_at(
                self._deadline_at - self._offset, self._on_deadline
            )
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

    # -- feeder -------------------------------------------------------------------------------

    async def _feed(self, value: Iterable[Any] | AsyncIterable[Any], seen: set[str] | None) -> None:
        try:
            if isinstance(value, AsyncIterable):
                aiterator = aiter(value)
                self._input_iter = aiterator
                packer = self._packer
                async for item in aiterator:
                    full = self._ingest(item, seen)
                    if full is not None:
                        await self._push(full)
                    if len(packer) == 1:
                        self._arm_linger()
                    if self.stop_reason is not None:
                        return
            else:
                iterator = iter(value)
                self._input_iter = iterator
                fast = self._fast_models
                ledger = self._ledger
                packer = self._packer
                model = TaskAddParameter
                to_json = model.__pydantic_serializer__.to_json
                # A list or tuple of models: whole requests at a time (see `_whole_request`).
                whole = fast and seen is None and type(value) in (list, tuple)
                if whole and await self._push_whole_requests(value, iterator):  # type: ignore[arg-type]
                    return
                for item in iterator:
                    if fast and seen is None and type(item) is model:
                        # `_ingest`'s hot path, inlined: a validated model from a Sequence
                        # (duplicates were checked up front). Same steps, same order.
                        index = self.consumed
                        self.consumed = index + 1
                        ledger.submitted += 1
                        task_id: str = item.id
                        # = item.to_json_bytes(), without the extra call
                        data = to_json(item, by_alias=True, exclude_none=True)
                        entry = Entry(task_id, task_id.lower(), data, index)
                        if ENVELOPE_SIZE + len(data) >= packer.limit:
                            self._fail_too_large(entry, None)
                            full = None
                        else:
                            full = packer.add(entry)
                    else:
                        full = self._ingest(item, seen)
                    if full is not None:
                        await self._push(full)
                        if self.stop_reason is not None:
                            return
                        if whole and await self._push_whole_requests(value, iterator):  # type: ignore[arg-type]
                            return
                    if self.stop_reason is not None:
                        return
        except Exception as exc:
            # The tasks read before the failure are valid requests: they are still sent (the
            # open chunk is flushed below) and accounted; `run_add_collection` raises afterwards.
            self.input_error = exc
        finally:
            self._input_done = True
            self._wake_all()
        last = self._packer.flush()
        if last is not None:
            await self._push(last)
        # In case the final flush made nothing to do (e.g. every task was rejected client-side).
        self._wake_all()

    async def _push_whole_requests(
        self, value: list[Any] | tuple[Any, ...], iterator: Iterator[Any]
    ) -> bool:
        """Push whole requests from `value` while they can be built at once; True: stop feeding.

        Called only where the item loop would read its next item with the packer empty; leaves
        `iterator` exactly where that loop would be after the same chunks.
        """
        packer = self._packer
        while not len(packer):
            chunk = self._whole_request(value, iterator)
            if chunk is None:
                return False
            await self._push(chunk)
            if self.stop_reason is not None:
                return True
        return False

    def _whole_request(
        self, value: list[Any] | tuple[Any, ...], iterator: Iterator[Any]
    ) -> Chunk | None:
        """The next `max_tasks` items of `value` as one chunk, if the item loop would make exactly
        that chunk from them (all models, all serializable, all fitting one body); else None.

        The same steps as the item loop's model path, done per request rather than per task
        (serialization, IDs, keys, entries and the size as list operations). `value` is read by
        position (`consumed` is where `iterator` stands; nothing can run between reading the
        slice and advancing `iterator` past it), so nothing is read that the loop would not read.
        Anything unusual returns None and the item loop handles these items one by one, with
        its own errors at its own places.
        """
        packer = self._packer
        step = packer.max_tasks
        start = self.consumed
        batch = value[start : start + step]
        if len(batch) != step or set(map(type, batch)) != _ONLY_MODELS:
            return None
        to_json = TaskAddParameter.__pydantic_serializer__.to_json
        try:
            datas = [to_json(item, by_alias=True, exclude_none=True) for item in batch]
        except Exception:  # the item loop meets (and reports) the same error at the same item
            return None
        size = ENVELOPE_SIZE - 1 + step + sum(map(len, datas))
        if size >= packer.limit:
            return None
        ids: list[str] = list(map(_ID, batch))
        collections.deque(itertools.islice(iterator, step), maxlen=0)
        self.consumed = start + step
        self._ledger.submitted += step
        return Chunk.from_columns(ids, datas, start, size)

    def _arm_linger(self) -> None:
        """An async input may stall: send a partial chunk if it gets no company for `LINGER`."""
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        self._linger_timer = self._loop.call_later(
            LINGER, self._linger_flush, self._packer.pending()
        )

    def _linger_flush(self, opened: list[Entry]) -> None:
        packer = self._packer
        if packer.pending() is not opened or self._input_done or self.stop_reason is not None:
            return  # that chunk was closed meanwhile, or the feeder is finishing itself
        chunk = packer.flush()
        if chunk is not None:
            self._fresh.append(chunk)
            self._wake_one()

    def _ingest(self, item: Any, seen: set[str] | None) -> Chunk | None:
        index = self.consumed
        self.consumed = index + 1
        self._ledger.submitted += 1
        if self._fast_models and type(item) is TaskAddParameter:
            # Hot path: an already-validated model; one to_json_bytes(), the key computed once.
            task_id: str = item.id
            key = task_id.lower()
            if seen is not None:
                if key in seen:
                    self._reject_duplicate(task_id, key, index)
                    return None
                seen.add(key)
            entry = Entry(task_id, key, item.to_json_bytes(), index)
        else:
            if seen is not None:
                found = peek_id(item)
                if found is not None:
                    key = found.lower()
                    if key in seen:
                        self._reject_duplicate(found, key, index)
                        return None
                    seen.add(key)
            try:
                entry = self._encode(item, index)
            except TaskValidationError as exc:
                found = peek_id(item)
                self._ledger.finish(
                    Entry(found or "", (found or "").lower(), b"", index),
                    Outcome.FAILED,
                    exception=exc,
                    reason=str(exc),
                    code=CLIENT_CODE_INVALID,
                )
                return None
        packer = self._packer
        if ENVELOPE_SIZE + len(entry.data) >= packer.limit:
            self._fail_too_large(entry, None)
            return None
        return packer.add(entry)

    def _reject_duplicate(self, task_id: str, key: str, index: int) -> None:
        self._ledger.finish(
            Entry(task_id, key, b"", index),
            Outcome.FAILED,
            exception=TaskValidationError(
                "duplicate task ID in the input (IDs are compared ignoring case);"
                " this occurrence was not sent",
                task_id=task_id,
                index=index,
            ),
            reason="duplicate task ID in the input; not sent",
            code=CLIENT_CODE_DUPLICATE,
        )

    async def _push(self, chunk: Chunk) -> None:
        # Queue first, then wait: a chunk must never live only in this frame, or cancellation
        # while waiting would lose it from the final accounting.
        self._fresh.append(chunk)
        self._wake_one()
        while len(self._fresh) > self._concurrency and self.stop_reason is None:
            self._space = self._loop.create_future()
            await self._space
        # Let a woken worker start its request now rather than after the next chunk is packed.
        await asyncio.sleep(0)

    # -- workers ------------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            chunk = self._take()
            if chunk is not None:
                await self._send(chunk)
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
            self._stop(StopReason.DEADLINE)
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

    async def _send(self, chunk: Chunk) -> None:
        chunk.sent(self._now())
        self._inflight.add(chunk)
        try:
            results = await self._sender(self._job_id, chunk.body())
        except asyncio.CancelledError:
            raise  # `run` accounts for chunks still in `_inflight`
        except Exception as exc:
            self._inflight.discard(chunk)
            self._ledger.requests += 1
            self._on_request_error(chunk, exc)
        else:
            self._inflight.discard(chunk)
            self._ledger.requests += 1
            self._on_results(chunk, results)
        await self._ledger.flush()
        if self._finished():
            self._wake_all()

    # -- outcomes -----------------------------------------------------------------------------

    def _on_results(self, chunk: Chunk, results: list[dict[str, Any]]) -> None:
        ledger = self._ledger
        if chunk.columns is not None and ledger.compact:
            # Hot path of a whole request: every task added, seen with C-level list operations;
            # no Entry is ever made for these tasks. Anything else goes the per-result way.
            ordered = _all_added(chunk.columns[0], results)
            if ordered is not None:
                ledger.added_columns(*chunk.added_columns(), ordered)
                return
        entries = chunk.entries
        # One dict pop per result, exact status/ID first; anything unusual falls back.
        by_id = {entry.task_id: entry for entry in entries}
        # The same ID more than once in this request (possible only with detect_duplicates
        # off): the first occurrence is in `by_id`, the others wait here for their own result.
        later: list[Entry] = [] if len(by_id) == len(entries) else _repeats(entries, by_id)
        retry: list[Entry] = []
        added = ledger.added
        # With no observer, the order of outcomes within a response is invisible: successes
        # are handed over in one batch.
        compact = ledger.compact
        ok_entries: list[Entry] = []
        ok_raws: list[dict[str, Any]] = []
        if type(results) is not list:
            results = []  # a malformed answer: every task's outcome is unknown (retried below)
        for result in results:
            try:
                entry = by_id.pop(result["taskId"])
            except (KeyError, TypeError):
                found = _pop_loose(by_id, result)
                if found is None and later:
                    found = _pop_repeat(later, result)
                if found is None:
                    continue  # not ours, or a repeated result for the same task
                entry = found
            status = result.get("status")
            if status == "success":
                if compact:
                    ok_entries.append(entry)
                    ok_raws.append(result)
                else:
                    added(entry, result)
                continue
            status = status.lower() if type(status) is str else ""
            if status == "success":
                added(entry, result)
            elif status == "clienterror":
                error = result.get("error")
                code = error.get("code") if type(error) is dict else None
                if type(code) is str and code.lower() == "taskexists":
                    self._on_task_exists(entry, result)
                else:
                    ledger.finish(
                        entry, Outcome.FAILED, raw=result, reason="rejected by the service"
                    )
            elif status == "servererror":
                entry.last_error = result
                entry.last_exception = None
                retry.append(entry)
            else:
                # A status this client does not know: treat as "outcome unknown", retry.
                entry.maybe_added = True
                entry.last_error = result
                entry.last_exception = None
                retry.append(entry)
        if ok_entries:
            ledger.added_all(ok_entries, ok_raws)
        if by_id or later:
            missing = _MissingResult()
            for entry in [*by_id.values(), *later]:
                entry.maybe_added = True
                entry.last_error = None
                entry.last_exception = missing
                retry.append(entry)
        if retry:
            self._schedule_retry(retry, None)

    def _on_task_exists(self, entry: Entry, result: dict[str, Any]) -> None:
        if entry.maybe_added:
            self._ledger.finish(
                entry,
                Outcome.ADDED_ON_RETRY,
                raw=result,
                reason="TaskExists answered a retry after an attempt with unknown outcome",
            )
        elif self._exists_ok:
            self._ledger.finish(
                entry,
                Outcome.ALREADY_EXISTS,
                raw=result,
                reason="the task ID already existed (accepted: task_exists_is_success=True)",
            )
        else:
            self._ledger.finish(
                entry,
                Outcome.FAILED,
                raw=result,
                reason="task ID clash: the ID already existed in the job before this call sent it",
            )

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
        limit = self._packer.limit
        max_limit = max_limit_detail(exc)
        learned = max_limit if max_limit is not None and max_limit < chunk.size else chunk.size // 2
        learned = max(min(learned, limit), ENVELOPE_SIZE + 3)
        if learned < limit:
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

    def _fail_too_large(self, entry: Entry, exc: RequestBodyTooLargeError | None) -> None:
        size = ENVELOPE_SIZE + len(entry.data)
        limit = self._packer.limit
        if exc is None:
            reason = (
                f"the task alone needs a {size}-byte request body; the body limit is {limit}"
                " bytes (bodies must be strictly below it)"
            )
        else:
            reason = f"the service rejected a request carrying only this task as too large: {exc}"
        if entry.maybe_added:
            self._ledger.finish(entry, Outcome.UNKNOWN, exception=exc, reason=reason)
        else:
            self._ledger.finish(
                entry, Outcome.FAILED, exception=exc, reason=reason, code=CLIENT_CODE_TOO_LARGE
            )

    def _give_up(self, entry: Entry, reason: str) -> None:
        """Terminal state of an entry we stop working on, decided by what we know of it."""
        exc = entry.last_exception
        code = getattr(exc, "code", None) if exc is not None else None
        if entry.attempts <= 0:
            self._ledger.finish(
                entry,
                Outcome.NOT_ATTEMPTED,
                exception=self.fatal_error or self.input_error,
                reason=reason,
                code=CLIENT_CODE_NOT_ATTEMPTED,
            )
        elif entry.maybe_added:
            self._ledger.finish(
                entry,
                Outcome.UNKNOWN,
                exception=exc,
                reason=reason + "; an attempt had an unknown outcome, so it may have been added",
                code=code or CLIENT_CODE_UNKNOWN,
            )
        else:
            self._ledger.finish(
                entry,
                Outcome.FAILED,
                raw=entry.last_error,
                exception=exc,
                reason=reason,
                code=code,
            )

    # -- retries ------------------------------------------------------------------------------

    def _schedule_retry(self, entries: list[Entry], retry_after: float | None) -> None:
        pending: list[Entry] = []
        budget = self._max_attempts
        for entry in entries:
            if entry.attempts >= budget:
                self._give_up(entry, f"gave up after {entry.attempts} attempts")
            elif self.stop_reason is not None:
                self._give_up(entry, f"not retried: {self.stop_reason}")
            else:
                pending.append(entry)
        if not pending:
            return
        attempt = max(entry.attempts for entry in pending)
        delay = self._policy.delay(attempt, retry_after)
        retry_at = self._now() + delay
        if self._deadline_at is not None and retry_at >= self._deadline_at:
            for entry in pending:
                self._give_up(entry, "not retried: the deadline would pass before the retry")
            return
        window = self._policy.deadline
        if window is not None:
            # RetryPolicy.deadline bounds each task's retrying, counted from its first attempt.
            started_at = retry_at - window
            if any(entry.first_sent < started_at for entry in pending):
                keep = []
                for entry in pending:
                    if entry.first_sent < started_at:
                        self._give_up(
                            entry, f"not retried: its retry window ({window:g}s) would pass"
                        )
                    else:
                        keep.append(entry)
                pending = keep
                if not pending:
                    return
        self._ledger.retried += len(pending)
        timer = asyncio.ensure_future(self._retry_later(delay))
        self._sleeping[timer] = pending

    async def _retry_later(self, delay: float) -> None:
        started = self._now()
        await self._policy.sleep(delay)
        real = self._loop.time()
        self._offset = max(self._offset, started + delay - real)
        me = asyncio.current_task()
        if me is not None:
            entries = self._sleeping.pop(me, [])
            if not self._retry_ready:
                self._retry_since = self._loop.time()
            self._retry_ready.extend(entries)
            self._retry_bytes += sum(len(e.data) + 1 for e in entries)
        self._wake_one()

    # -- stopping and final accounting ------------------------------------------------------

    def _now(self) -> float:
        return self._loop.time() + self._offset

    def _on_deadline(self) -> None:
        self._stop(StopReason.DEADLINE)

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

    async def _account_leftovers(self) -> None:
        """Give every entry still held anywhere its terminal state (after workers stopped)."""
        reason = self.stop_reason or "stopped"
        for chunk in list(self._inflight):
            for entry in chunk.entries:
                entry.maybe_added = True
                self._ledger.finish(
                    entry,
                    Outcome.UNKNOWN,
                    exception=entry.last_exception,
                    reason=f"{reason} while its request was in flight; it may have been added",
                    code=CLIENT_CODE_UNKNOWN,
                )
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

    async def _drain_input(self) -> None:
        """After a deadline or fatal error, report the input not yet read as NOT_ATTEMPTED."""
        iterator = self._input_iter
        if iterator is None or self.input_error is not None:
            return
        reason = f"not sent: {self.stop_reason}"
        exc = self.fatal_error
        finish = self._ledger.finish
        if isinstance(iterator, AsyncIterator):
            async for item in iterator:
                self._drain_one(item, reason, exc, finish)
        else:
            for item in iterator:
                self._drain_one(item, reason, exc, finish)

    def _drain_one(self, item: Any, reason: str, exc: BaseException | None, finish: Any) -> None:
        index = self.consumed
        self.consumed = index + 1
        self._ledger.submitted += 1
        task_id = peek_id(item) or ""
        finish(
            Entry(task_id, task_id.lower(), b"", index),
            Outcome.NOT_ATTEMPTED,
            exception=exc,
            reason=reason,
            code=CLIENT_CODE_NOT_ATTEMPTED,
        )


_STATUS = operator.itemgetter("status")
_TASK_ID = operator.itemgetter("taskId")


def _all_added(ids: list[str], results: object) -> list[dict[str, Any]] | None:
    """`results` in the order of `ids` if each ID has exactly one ``success`` result, else None.

    Exact spellings only (status ``success``, the ID as sent): anything else — another status or
    casing, a missing, repeated or foreign result, a malformed answer — returns None, and the
    caller's per-result path decides, as it would without this shortcut.
    """
    if type(results) is not list or len(results) != len(ids):
        return None
    try:
        if list(map(_STATUS, results)).count("success") != len(ids):
            return None
        got = list(map(_TASK_ID, results))
        if got == ids:
            return results
        by_id = dict(zip(got, results, strict=True))
        if len(by_id) != len(ids):
            return None
        return list(map(by_id.__getitem__, ids))
    except (KeyError, TypeError):  # a result that is not an object, or lacks a field
        return None


def _repeats(entries: list[Entry], by_id: dict[str, Entry]) -> list[Entry]:
    """Rebuild `by_id` with the first entry of each ID; return the later ones, in order."""
    by_id.clear()
    later: list[Entry] = []
    for entry in entries:
        if entry.task_id in by_id:
            later.append(entry)
        else:
            by_id[entry.task_id] = entry
    return later


def _result_key(result: object) -> str | None:
    """A result's taskId lower-cased (as `Entry.key`), or None if it has no string taskId."""
    task_id = result.get("taskId") if type(result) is dict else None
    return task_id.lower() if type(task_id) is str else None


def _pop_repeat(later: list[Entry], result: object) -> Entry | None:
    """Take the first waiting repeat whose ID is the result's (ignoring case)."""
    key = _result_key(result)
    if key is None:
        return None
    for position, entry in enumerate(later):
        if entry.key == key:
            return later.pop(position)
    return None


def _pop_loose(by_id: dict[str, Entry], result: object) -> Entry | None:
    """Find a result's entry when its taskId differs in case from what was sent."""
    key = _result_key(result)
    if key is None:
        return None
    for sent, entry in by_id.items():
        if entry.key == key:
            del by_id[sent]
            return entry
    return None


_ID = operator.attrgetter("id")
_ONLY_MODELS = {TaskAddParameter}


def _check_sequence_duplicates(value: Sequence[Any]) -> None:
    # The common case, at C speed: only models, and no two IDs equal ignoring case.
    types = list(map(type, value))
    if set(types) == {TaskAddParameter} and len(set(map(str.lower, map(_ID, value)))) == len(types):
        return
    seen: set[str] = set()
    duplicates: list[str] = []
    for item in value:
        task_id = item.id if type(item) is TaskAddParameter else peek_id(item)
        if task_id is None:
            continue
        key = task_id.lower()
        if key in seen:
            duplicates.append(task_id)
        else:
            seen.add(key)
    if duplicates:
        shown = ", ".join(repr(d) for d in duplicates[:10])
        more = f" and {len(duplicates) - 10} more" if len(duplicates) > 10 else ""
        raise TaskValidationError(
            f"duplicate task IDs in the input (compared ignoring case): {shown}{more};"
            " nothing was sent"
        )
