"""The bulk packer: chunks never exceed 100 tasks or the body limit, measured on the exact bytes."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchtasks._private.bulk.encode import encode_task
from batchtasks._private.bulk.packer import ENVELOPE_SIZE, Entry, Packer, pack
from batchtasks._private.constants import DEFAULT_BODY_LIMIT, MAX_TASKS_PER_REQUEST
from batchtasks.models import TaskAddParameter

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=40
)


def _entries(sizes_and_text: list[tuple[int, str]]) -> list[Entry]:
    out = []
    for i, (pad, text) in enumerate(sizes_and_text):
        task = TaskAddParameter(id=f"t{i}", command_line=text + "x" * pad)
        out.append(encode_task(task, i))
    return out


def _check_chunks(chunks: list, limit: int) -> None:
    for chunk in chunks:
        body = chunk.body()
        assert len(body) == chunk.size
        assert len(body) < limit
        assert 1 <= len(chunk) <= MAX_TASKS_PER_REQUEST
        decoded = json.loads(body)
        assert [t["id"] for t in decoded["value"]] == [e.task_id for e in chunk.entries]


@settings(max_examples=60, deadline=None)
@given(
    tasks=st.lists(st.tuples(st.integers(0, 3000), _text), min_size=0, max_size=350),
    limit=st.integers(min_value=200, max_value=40_000),
)
def test_pack_respects_both_bounds_and_keeps_every_task_once(
    tasks: list[tuple[int, str]], limit: int
) -> None:
    entries = _entries(tasks)
    chunks, too_large = pack(entries, limit)
    _check_chunks(chunks, limit)
    packed = [e for c in chunks for e in c.entries]
    assert sorted(e.index for e in packed + too_large) == list(range(len(entries)))
    assert [e.index for e in packed] == sorted(e.index for e in packed)
    for e in too_large:
        assert ENVELOPE_SIZE + len(e.data) >= limit
    for e in packed:
        assert ENVELOPE_SIZE + len(e.data) < limit


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 600), min_size=1, max_size=300), limit=st.integers(60, 5000))
def test_packing_is_greedy_no_chunk_could_take_the_next_task(sizes: list[int], limit: int) -> None:
    entries = [Entry(f"t{i}", f"t{i}", b"x" * n, i) for i, n in enumerate(sizes)]
    chunks, _ = pack(entries, limit)
    for chunk, nxt in itertools.pairwise(chunks):
        grown = chunk.size + 1 + len(nxt.entries[0].data)
        assert grown >= limit or len(chunk) == MAX_TASKS_PER_REQUEST


def test_non_ascii_is_measured_in_utf8_bytes() -> None:
    task = TaskAddParameter(id="u1", command_line="échø ☃ 🚀" * 10)
    entry = encode_task(task, 0)
    assert entry.data == task.to_json_bytes()
    assert len(entry.data) > len(entry.data.decode("utf-8"))
    chunk = pack([entry], DEFAULT_BODY_LIMIT)[0][0]
    assert chunk.size == len(chunk.body())


def test_body_exactly_at_limit_is_split_strictly_below() -> None:
    # Two tasks whose joint body would be exactly `limit` bytes must travel separately.
    a = Entry("a", "a", b"x" * 40, 0)
    b = Entry("b", "b", b"y" * 40, 1)
    exact = ENVELOPE_SIZE + 40 + 1 + 40
    chunks, _ = pack([a, b], exact)
    assert [len(c) for c in chunks] == [1, 1]
    chunks, _ = pack([a, b], exact + 1)
    assert [len(c) for c in chunks] == [2]
    assert chunks[0].size == exact


def test_hundred_task_cap_and_default_limit() -> None:
    entries = [Entry(f"t{i}", f"t{i}", b'{"id":"t"}', i) for i in range(250)]
    chunks, _ = pack(entries, DEFAULT_BODY_LIMIT)
    assert [len(c) for c in chunks] == [100, 100, 50]


def test_huge_single_task_is_rejected_not_packed() -> None:
    big = TaskAddParameter(id="big", command_line="z" * DEFAULT_BODY_LIMIT)
    small = TaskAddParameter(id="small", command_line="z")
    chunks, too_large = pack([encode_task(big, 0), encode_task(small, 1)], DEFAULT_BODY_LIMIT)
    assert [e.task_id for e in too_large] == ["big"]
    assert [e.task_id for c in chunks for e in c.entries] == ["small"]


def test_packer_incremental_add_matches_pack() -> None:
    entries = [Entry(f"t{i}", f"t{i}", b"q" * (i % 37 + 1), i) for i in range(500)]
    packer = Packer(900)
    chunks = []
    for e in entries:
        full = packer.add(e)
        if full is not None:
            chunks.append(full)
    last = packer.flush()
    assert last is not None
    chunks.append(last)
    expected, _ = pack(entries, 900)
    assert [[e.index for e in c.entries] for c in chunks] == [
        [e.index for e in c.entries] for c in expected
    ]
    assert packer.flush() is None


def test_packer_rejects_absurd_configuration() -> None:
    with pytest.raises(ValueError, match="too small"):
        Packer(ENVELOPE_SIZE)
    with pytest.raises(ValueError, match="max_tasks"):
        Packer(1000, max_tasks=101)
