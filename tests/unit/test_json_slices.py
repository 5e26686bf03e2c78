"""The sliced parser of large list answers gives exactly what `json.loads` gives.

Property tests: any JSON object (with or without a `value` array, odd whitespace, duplicate keys)
parses to the same value, and any malformed or non-object document ends in the same outcome as
`loads_json` (its value or its error type). `decode_page` returns what `decode_value_list` does.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchtasks import BatchServiceError
from batchtasks._private import json_slices
from batchtasks._private.decoding import decode_value_list, loads_json
from batchtasks._private.json_slices import decode_page, loads_object_sliced
from batchtasks._private.wire import Response

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
objects = st.dictionaries(st.text(), values, max_size=5)
pages = st.builds(
    lambda head, items, tail: {**head, "value": items, **tail},
    st.dictionaries(st.sampled_from(["odata.metadata", "x"]), scalars, max_size=2),
    st.lists(st.dictionaries(st.text(), values, max_size=3), max_size=20),
    st.dictionaries(st.sampled_from(["odata.nextLink", "y"]), st.text(), max_size=2),
)
spacing = st.sampled_from([None, 0, 2])


def _outcome(fn: Any, body: bytes) -> tuple[str, Any]:
    try:
        return "ok", fn(body)
    except Exception as exc:
        return "error", type(exc)


@settings(max_examples=300, deadline=None)
@given(doc=objects | pages, indent=spacing)
def test_any_object_parses_as_json_loads_does(doc: dict[str, Any], indent: int | None) -> None:
    body = json.dumps(doc, indent=indent).encode()
    assert asyncio.run(loads_object_sliced(body)) == json.loads(body)


@settings(max_examples=300, deadline=None)
@given(doc=pages, cut=st.integers(min_value=0, max_value=200), junk=st.binary(max_size=3))
def test_damaged_documents_end_as_loads_json_does(
    doc: dict[str, Any], cut: int, junk: bytes
) -> None:
    body = json.dumps(doc).encode()
    damaged = body[: max(len(body) - cut, 0)] + junk
    sliced = _outcome(lambda b: asyncio.run(loads_object_sliced(b)), damaged)
    reference = _outcome(loads_json, damaged)
    assert sliced[0] == reference[0]
    if sliced[0] == "ok":
        assert sliced[1] == reference[1]


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b'"text"', b'\xef\xbb\xbf{"value": []}', b'{"a": 1, "a": 2}', b' {"value":[{}]} '],
)
def test_odd_documents(body: bytes) -> None:
    assert _outcome(lambda b: asyncio.run(loads_object_sliced(b)), body) == _outcome(
        json.loads, body
    )


async def test_decode_page_matches_decode_value_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_slices, "SLICE_THRESHOLD", 0)  # slice every body
    good = Response(200, {}, json.dumps({"value": [{"id": "a"}], "odata.nextLink": "/x"}).encode())
    assert await decode_page(good) == decode_value_list(good)
    for bad in (b"[]", b'{"value": 3}', b'{"value": [1]}', b"{", b"\xff"):
        response = Response(200, {}, bad)
        with pytest.raises(BatchServiceError) as sliced:
            await decode_page(response)
        with pytest.raises(BatchServiceError) as reference:
            decode_value_list(response)
        assert str(sliced.value) == str(reference.value)


async def test_a_large_page_lets_the_loop_run() -> None:
    body = json.dumps({"value": [{"id": f"t{i}"} for i in range(200_000)]}).encode()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    before = ticks
    data = await loads_object_sliced(body)
    ticker.cancel()
    assert len(data["value"]) == 200_000
    assert ticks > before + 1  # the loop ran while the page was parsed
