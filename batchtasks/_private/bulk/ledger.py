"""Exactly-once accounting of a bulk add: terminal outcomes, counters, delivery, progress.

The engine calls `finish()` once per task when it reaches a terminal state; the ledger refuses a
second terminal state for the same entry, keeps the counters, buffers outcomes and delivers them
(per response, in `flush()`) to the `on_result` callback, to an iterator's queue and to the
collected list. It must not decide outcomes, send requests or retry.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import repeat
from typing import Any

from batchtasks._private.bulk.outcome import BulkProgress, Outcome, TaskAddOutcome
from batchtasks._private.bulk.packer import Entry

__all__ = ["Ledger"]

OnResult = Callable[[TaskAddOutcome], object]
OnProgress = Callable[[BulkProgress], object]

_DONE = -1  # Entry.attempts is set to this once an entry has its terminal state
_ADDED = Outcome.ADDED


class Ledger:
    """Counters plus outcome delivery for one bulk add call (single event loop, no locks)."""

    def __init__(
        self,
        *,
        on_result: OnResult | None = None,
        on_progress: OnProgress | None = None,
        collect: bool = True,
        queue: asyncio.Queue[list[TaskAddOutcome] | None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._on_result = on_result
        self._result_is_async = on_result is not None and is_async_callable(on_result)
        self._on_progress = on_progress
        self._queue = queue
        self._clock = clock or asyncio.get_running_loop().time
        self._started = self._clock()
        self._batch: list[TaskAddOutcome] = []
        self._collected: list[TaskAddOutcome] | None = [] if collect else None
        # Nobody sees an ADDED outcome before the run ends when they are only collected (no
        # callback, no iterator): keep its fields in flat lists and build the objects in one
        # burst at the end (`collected`). During a run of n tasks this saves n GC-tracked
        # allocations, and the cyclic collector's passes over the caller's heap (its n input
        # models included) that they would trigger.
        self._compact = collect and on_result is None and queue is None
        self._added_ids: list[str] = []
        self._added_indexes: list[int] = []
        self._added_attempts: list[int] = []
        self._added_raws: list[Mapping[str, Any]] = []
        #: tasks per `Outcome` value string (all keys present)
        self.counts: dict[str, int] = {o.value: 0 for o in Outcome}
        self.submitted = 0
        self.retried = 0
        self.requests = 0

    def finish(
        self,
        entry: Entry,
        outcome: Outcome,
        *,
        raw: Mapping[str, Any] | None = None,
        exception: BaseException | None = None,
        reason: str | None = None,
        code: str | None = None,
    ) -> None:
        """Record the terminal state of `entry` (exactly once; a second call is a bug)."""
        attempts = entry.attempts
        if attempts == _DONE:
            raise RuntimeError(f"task {entry.task_id!r} was given a second terminal state")
        entry.attempts = _DONE
        self.counts[outcome._value_] += 1
        self._batch.append(
            TaskAddOutcome(
                entry.task_id or None, entry.index, outcome, attempts, raw, exception, reason, code
            )
        )

    def added(self, entry: Entry, raw: Mapping[str, Any]) -> None:
        """`finish(entry, Outcome.ADDED, raw=raw)`, minus the overhead (the per-task hot path)."""
        attempts = entry.attempts
        if attempts == _DONE:
            raise RuntimeError(f"task {entry.task_id!r} was given a second terminal state")
        entry.attempts = _DONE
        self.counts["added"] += 1
        if self._compact:
            self._added_ids.append(entry.task_id)
            self._added_indexes.append(entry.index)
            self._added_attempts.append(attempts)
            self._added_raws.append(raw)
        else:
            self._batch.append(TaskAddOutcome(entry.task_id, entry.index, _ADDED, attempts, raw))

    @property
    def compact(self) -> bool:
        """True when nobody sees outcomes before the run ends (collected only, or dropped)."""
        return self._compact

    def added_all(self, entries: list[Entry], raws: Sequence[Mapping[str, Any]]) -> None:
        """`added(entry, raw)` for each pair, in one pass; only for a `compact` ledger."""
        attempts = [entry.attempts for entry in entries]
        if _DONE in attempts:
            task_id = entries[attempts.index(_DONE)].task_id
            raise RuntimeError(f"task {task_id!r} was given a second terminal state")
        for entry in entries:
            entry.attempts = _DONE
        self._keep_added(
            [entry.task_id for entry in entries], [entry.index for entry in entries], attempts, raws
        )

    def added_columns(
        self, ids: list[str], start: int, attempts: int, raws: list[dict[str, Any]]
    ) -> None:
        """Tasks `ids` (input indexes from `start` on, `attempts` each) all ADDED, with their
        results `raws` in the same order; only for a `compact` ledger. The chunk they came in
        (`Chunk.added_columns`) guarantees that these tasks had no terminal state before."""
        n = len(ids)
        self._keep_added(ids, range(start, start + n), repeat(attempts, n), raws)

    def _keep_added(
        self,
        ids: Iterable[str],
        indexes: Iterable[int],
        attempts: Iterable[int],
        raws: Iterable[Mapping[str, Any]],
    ) -> None:
        """Count and keep (flat, for `deferred_collected`) the fields of ADDED outcomes."""
        before = len(self._added_ids)
        self._added_ids.extend(ids)
        self.counts["added"] += len(self._added_ids) - before
        self._added_indexes.extend(indexes)
        self._added_attempts.extend(attempts)
        self._added_raws.extend(raws)

    @property
    def collected(self) -> list[TaskAddOutcome] | None:
        """Every delivered outcome, in no particular order (None when not collecting)."""
        deferred = self.deferred_collected()
        return deferred() if callable(deferred) else deferred

    def deferred_collected(
        self,
    ) -> list[TaskAddOutcome] | Callable[[], list[TaskAddOutcome]] | None:
        """`collected`, or (when some outcomes are still kept flat) a function that builds it.

        For the end of a run: the ledger hands its flat lists over to the returned function, so
        a caller that never looks at the outcomes never pays for building them.
        """
        collected = self._collected
        if collected is None or not self._added_ids:
            return collected
        fields = (self._added_ids, self._added_indexes, self._added_attempts, self._added_raws)
        self._added_ids = []
        self._added_indexes = []
        self._added_attempts = []
        self._added_raws = []

        def build() -> list[TaskAddOutcome]:
            ids, indexes, attempts, raws = fields
            # One synchronous burst (no await, no user code): the collector is paused so that n
            # new objects do not trigger passes over the whole heap (see result.py).
            paused = gc.isenabled()
            if paused:
                gc.disable()
            try:
                collected.extend(map(TaskAddOutcome, ids, indexes, repeat(_ADDED), attempts, raws))
            finally:
                if paused:
                    gc.enable()
            return collected

        return build

    @property
    def terminal(self) -> int:
        """Tasks with a terminal state so far."""
        return sum(self.counts.values())

    @property
    def has_pending_delivery(self) -> bool:
        """Outcomes recorded but not yet delivered by `flush`."""
        return bool(self._batch)

    async def flush(self, *, to_queue: bool = True) -> None:
        """Deliver buffered outcomes and report progress.

        Args:
            to_queue: False when the iterator's consumer is gone (cancellation): outcomes then
                go only to `on_result` and the collected list.
        """
        batch = self._batch
        if batch:
            self._batch = []
            if self._collected is not None:
                self._collected.extend(batch)
            callback = self._on_result
            if callback is not None:
                if self._result_is_async:
                    for item in batch:
                        await callback(item)  # type: ignore[misc]
                else:
                    for item in batch:
                        returned = callback(item)
                        if inspect.isawaitable(returned):
                            await returned
            if self._queue is not None and to_queue:
                await self._queue.put(batch)
        if self._on_progress is not None:
            await self.report(done=False)

    async def report(self, *, done: bool) -> None:
        """Call `on_progress` with a fresh snapshot."""
        if self._on_progress is None:
            return
        returned = self._on_progress(self.snapshot(done=done))
        if inspect.isawaitable(returned):
            await returned

    def snapshot(self, *, done: bool = False) -> BulkProgress:
        """The current counters as a `BulkProgress`."""
        elapsed = self._clock() - self._started
        counts = self.counts
        added = counts["added"] + counts["added_on_retry"] + counts["already_exists"]
        terminal = self.terminal
        return BulkProgress(
            submitted=self.submitted,
            added=added,
            failed=counts["failed"] + counts["unknown"],
            not_attempted=counts["not_attempted"],
            retried=self.retried,
            pending=self.submitted - terminal,
            requests=self.requests,
            elapsed=elapsed,
            tasks_per_second=terminal / elapsed if elapsed > 0 else 0.0,
            done=done,
        )

    def elapsed(self) -> float:
        """Seconds since the ledger was created."""
        return self._clock() - self._started


def is_async_callable(func: Callable[..., object]) -> bool:
    """True for `async def` functions (and callables whose `__call__` is one)."""
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004
    )
