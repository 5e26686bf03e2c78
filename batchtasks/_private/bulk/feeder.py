"""Reading the input of a bulk add into packed chunks: the feeder layer of the engine.

The feeder validates and serializes each task once (`encode.py`), rejects duplicate IDs, packs
tasks into chunks (`packer.py`) and queues them for the workers, blocking when `max_concurrency`
chunks are waiting (backpressure: memory is O(in-flight)). A list or tuple of models goes a
whole request at a time; an async input that stalls gets its partial chunk sent after `LINGER`.
After a deadline or a fatal error, the input not yet read is drained and reported NOT_ATTEMPTED.
An exception from the input stops the reading; it is kept in `input_error`.

Built on state.py (see there for the layers); must not send requests or read answers.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import operator
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from batchtasks._private.bulk.encode import peek_id
from batchtasks._private.bulk.outcome import (
    CLIENT_CODE_DUPLICATE,
    CLIENT_CODE_INVALID,
    CLIENT_CODE_NOT_ATTEMPTED,
    Outcome,
)
from batchtasks._private.bulk.packer import ENVELOPE_SIZE, Chunk, Entry
from batchtasks._private.bulk.state import EngineState
from batchtasks._private.errors import TaskValidationError
from batchtasks.models import TaskAddParameter

__all__ = ["LINGER", "Feeder", "check_input"]

#: Seconds a partial chunk waits for more tasks from a stalled async input before it is sent.
LINGER = 0.02

_ID = operator.attrgetter("id")
_ONLY_MODELS = {TaskAddParameter}


def check_input(value: object, detect_duplicates: bool) -> set[str] | None:
    """Refuse what cannot be a task input; check a Sequence for duplicate IDs up front.

    Returns:
        The set the feeder fills with the IDs it reads (duplicates checked as it goes), or None
        when there is nothing left to check.

    Raises:
        TypeError: `value` is a single task or a string, not an iterable of tasks.
        TaskValidationError: `value` is a Sequence containing duplicate IDs (nothing sent).
    """
    if isinstance(value, (str, bytes, Mapping, BaseModel)):
        raise TypeError(
            f"value must be an iterable of tasks, not a single {type(value).__name__};"
            " wrap one task in a list"
        )
    if detect_duplicates and isinstance(value, Sequence):
        _check_sequence_duplicates(value)
        return None
    return set() if detect_duplicates else None


class Feeder(EngineState):
    """The input side of `BulkAddEngine`: `_feed` runs as one task beside the workers."""

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
