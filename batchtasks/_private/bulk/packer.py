"""Packing of serialized tasks into add_collection request bodies, by exact byte count.

A task is serialized once (see `encode.py`) into an `Entry`; this module groups entries into
`Chunk`s whose body — ``b'{"value":[' + b','.join(task_bytes) + b']}'`` — is strictly below the
body limit and holds at most `MAX_TASKS_PER_REQUEST` tasks. Sizes are computed incrementally from
the byte lengths; nothing is re-serialized, and the body is joined only when it is sent.

This module must not do I/O, import asyncio or know about results: it is pure bookkeeping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from batchtasks._private.constants import DEFAULT_BODY_LIMIT, MAX_TASKS_PER_REQUEST

BODY_PREFIX = b'{"value":['
BODY_SUFFIX = b"]}"
#: Bytes of an empty envelope; each task adds its own length plus one comma after the first.
ENVELOPE_SIZE = len(BODY_PREFIX) + len(BODY_SUFFIX)


class Entry:
    """One input task on its way through the engine (mutable; owned by exactly one place).

    Attributes:
        task_id: the task's ID as given.
        key: the ID lower-cased (the service compares IDs case-insensitively).
        data: the task's JSON bytes, exactly as they appear in a request body.
        index: position in the caller's input.
        attempts: requests that carried this task and reached the service (413s excluded).
        first_sent: engine clock time of the first attempt (bounds the task's retry window).
        maybe_added: an attempt's outcome is unknown (connection error, timeout, 5xx or a
            missing per-task result), so the task may already exist in the service.
        last_error: the service's per-task result JSON of the latest failed attempt, if any.
        last_exception: the request-level error of the latest failed attempt, if any.
    """

    __slots__ = (
        "attempts",
        "data",
        "first_sent",
        "index",
        "key",
        "last_error",
        "last_exception",
        "maybe_added",
        "task_id",
    )

    def __init__(self, task_id: str, key: str, data: bytes, index: int) -> None:
        self.task_id = task_id
        self.key = key
        self.data = data
        self.index = index
        self.attempts = 0
        self.first_sent = 0.0
        self.maybe_added = False
        self.last_error: dict[str, object] | None = None
        self.last_exception: BaseException | None = None

    def __repr__(self) -> str:
        return f"Entry({self.task_id!r}, index={self.index}, bytes={len(self.data)})"


class Chunk:
    """A group of entries that fits one request: `size` is the exact length of `body()`.

    A chunk made by `from_columns` (a whole request of fresh tasks) holds its tasks as parallel
    lists and makes no `Entry` until one is needed: a request whose tasks are all added never
    makes any (`added_columns`). Anything else — a failure, a retry, a 413, cancellation — reads
    `entries`, which builds them once, carrying the chunk's sends as their attempts.
    """

    __slots__ = ("_columns", "_entries", "_first_sent", "_sends", "size")

    def __init__(self, entries: list[Entry], size: int) -> None:
        self._entries: list[Entry] | None = entries
        self._columns: tuple[list[str], list[bytes], int] | None = None
        self._sends = 0
        self._first_sent = 0.0
        self.size = size

    @classmethod
    def from_columns(cls, ids: list[str], datas: list[bytes], start: int, size: int) -> Chunk:
        """A chunk of fresh tasks: IDs, their JSON bytes, and the input index of the first."""
        chunk = cls([], size)
        chunk._entries = None
        chunk._columns = (ids, datas, start)
        return chunk

    @property
    def columns(self) -> tuple[list[str], list[bytes], int] | None:
        """(IDs, bytes, first index) while no `Entry` was made for this chunk, else None."""
        return self._columns

    @property
    def entries(self) -> list[Entry]:
        """The chunk's entries (made now, once, for a chunk from `from_columns`)."""
        entries = self._entries
        if entries is None:
            if self._columns is None:
                raise RuntimeError("the tasks of this chunk already have their terminal state")
            ids, datas, start = self._columns
            entries = list(
                map(Entry, ids, map(str.lower, ids), datas, range(start, start + len(ids)))
            )
            if self._sends:
                for entry in entries:
                    entry.attempts = self._sends
                    entry.first_sent = self._first_sent
            self._entries = entries
            self._columns = None
        return entries

    def sent(self, now: float) -> None:
        """Count an attempt of every task in the chunk (`now`: engine clock)."""
        if self._entries is None:
            if not self._sends:
                self._first_sent = now
            self._sends += 1
            return
        for entry in self._entries:
            if not entry.attempts:
                entry.first_sent = now
            entry.attempts += 1

    def added_columns(self) -> tuple[list[str], int, int]:
        """Retire a column chunk whose tasks were all added: (IDs, first index, attempts).

        Its tasks then have their terminal state; `entries` refuses to make them afterwards.
        """
        columns = self._columns
        if columns is None:
            raise RuntimeError("added_columns() on a chunk whose entries were made")
        self._columns = None
        return columns[0], columns[2], self._sends

    def body(self) -> bytes:
        """The exact request body: the envelope around the tasks' bytes, joined by commas."""
        columns = self._columns
        datas = columns[1] if columns is not None else [e.data for e in self.entries]
        return b"".join((BODY_PREFIX, b",".join(datas), BODY_SUFFIX))

    def __len__(self) -> int:
        if self._columns is not None:
            return len(self._columns[0])
        return len(self._entries) if self._entries is not None else 0

    def __repr__(self) -> str:
        return f"Chunk(tasks={len(self)}, size={self.size})"


def single_body_size(entry: Entry) -> int:
    """Size of a request body carrying only `entry`."""
    return ENVELOPE_SIZE + len(entry.data)


class Packer:
    """Greedy, order-preserving packer; `add` returns a chunk when the current one is full.

    `limit` may be lowered between calls (a 413 taught us a smaller one); a chunk closed under
    the old limit can then be over the new one, so the sender re-checks `Chunk.size` against the
    current limit before sending (and re-packs with `pack`). An entry too large to travel alone
    must be rejected by the caller with `fits_alone` before `add`.
    """

    __slots__ = ("_entries", "_size", "limit", "max_tasks")

    def __init__(
        self, limit: int = DEFAULT_BODY_LIMIT, max_tasks: int = MAX_TASKS_PER_REQUEST
    ) -> None:
        if limit <= ENVELOPE_SIZE + 2:
            raise ValueError(f"body limit {limit} is too small for any task")
        if not 1 <= max_tasks <= MAX_TASKS_PER_REQUEST:
            raise ValueError(f"max_tasks must be in 1..{MAX_TASKS_PER_REQUEST}")
        self.limit = limit
        self.max_tasks = max_tasks
        self._entries: list[Entry] = []
        self._size = ENVELOPE_SIZE - 1  # the first task adds no comma

    def fits_alone(self, entry: Entry) -> bool:
        """True if a body carrying only `entry` is strictly below the current limit."""
        return ENVELOPE_SIZE + len(entry.data) < self.limit

    def add(self, entry: Entry) -> Chunk | None:
        """Append `entry`; return a chunk as soon as one is complete.

        A chunk is complete when the next entry does not fit it (that entry then opens the next
        chunk) or when it reaches `max_tasks` (returned at once, so a stalled input does not hold
        a full request back). The entry must satisfy `fits_alone`.
        """
        entries = self._entries
        size = self._size + len(entry.data) + 1
        if entries and size >= self.limit:
            full = self._close()
            self._entries.append(entry)
            self._size = ENVELOPE_SIZE + len(entry.data)
            return full  # (the new chunk has one entry; max_tasks == 1 never gets here)
        entries.append(entry)
        self._size = size
        if len(entries) >= self.max_tasks:
            return self._close()
        return None

    def flush(self) -> Chunk | None:
        """Close and return the open chunk, if it holds anything."""
        return self._close() if self._entries else None

    def __len__(self) -> int:
        """Entries in the open (not yet returned) chunk."""
        return len(self._entries)

    def pending(self) -> list[Entry]:
        """The open chunk's entries, without closing it (for final accounting)."""
        return self._entries

    def _close(self) -> Chunk:
        chunk = Chunk(self._entries, self._size)
        self._entries = []
        self._size = ENVELOPE_SIZE - 1
        return chunk


def pack(
    entries: Iterable[Entry], limit: int, max_tasks: int = MAX_TASKS_PER_REQUEST
) -> tuple[list[Chunk], list[Entry]]:
    """Pack `entries` in order; returns (chunks, entries that cannot travel alone under `limit`)."""
    packer = Packer(limit, max_tasks)
    chunks: list[Chunk] = []
    too_large: list[Entry] = []
    for entry in entries:
        if not packer.fits_alone(entry):
            too_large.append(entry)
            continue
        full = packer.add(entry)
        if full is not None:
            chunks.append(full)
    last = packer.flush()
    if last is not None:
        chunks.append(last)
    return chunks, too_large


def iter_bodies(chunks: Iterable[Chunk]) -> Iterator[bytes]:
    """The bodies of `chunks` (a convenience for tests and diagnostics)."""
    for chunk in chunks:
        yield chunk.body()
