"""Streamed task-file reading: JSON arrays over chunk boundaries, JSON Lines, and error lines."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchtasks.cli import _input
from batchtasks.cli._errors import InputError
from batchtasks.cli._input import iter_json_items


def read(data: str | bytes, name: str = "tasks.json") -> list[tuple[int, object]]:
    raw = data.encode() if isinstance(data, str) else data
    return [(item.line, item.value) for item in iter_json_items(io.BytesIO(raw), name=name)]


@pytest.fixture(params=[3, 7, 64 * 1024], ids=["chunk3", "chunk7", "chunk64k"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run a test with tiny chunks too, so every token crosses a chunk boundary somewhere."""
    monkeypatch.setattr(_input, "_CHUNK_CHARS", request.param)
    return int(request.param)


def test_json_lines_with_blank_lines_and_line_numbers(chunk: int) -> None:
    text = '{"id": "a"}\n\n  {"id": "b"}\r\n{"id": "c"}'
    assert read(text) == [(1, {"id": "a"}), (3, {"id": "b"}), (4, {"id": "c"})]


def test_json_array_elements_and_their_start_lines(chunk: int) -> None:
    text = '[\n  {"id": "a",\n   "n": 1},\n  {"id": "b"}\n  ,{"id": "c"}]\n'
    assert read(text) == [(2, {"id": "a", "n": 1}), (4, {"id": "b"}), (5, {"id": "c"})]


def test_empty_inputs_yield_nothing(chunk: int) -> None:
    assert read("") == []
    assert read("  \n\n") == []
    assert read(" [ \n ] \n") == []


def test_number_split_across_chunks_is_read_whole(chunk: int) -> None:
    assert read("[1234567, 89]") == [(1, 1234567), (1, 89)]


def test_utf8_bom_and_unicode_are_accepted(chunk: int) -> None:
    data = "\ufeff".encode() + '[{"displayName": "Rendu de la scène — ☃"}]'.encode()
    assert read(data) == [(1, {"displayName": "Rendu de la scène — ☃"})]


def test_malformed_json_line_names_file_and_line(chunk: int) -> None:
    text = '{"id": "a"}\n{"id": "b",}\n{"id": "c"}\n'
    with pytest.raises(InputError, match=r"^tasks\.jsonl:2: malformed JSON: .*column 12"):
        read(text, name="tasks.jsonl")


def test_malformed_array_element_reports_its_line(chunk: int) -> None:
    text = '[\n{"id": "a"},\n{"id": "b"},\n{"id": "c" "x"}\n]'
    with pytest.raises(InputError, match=r"^tasks\.json:4: malformed JSON"):
        read(text)


def test_missing_comma_between_elements_reports_its_line(chunk: int) -> None:
    with pytest.raises(InputError, match=r":3: malformed JSON: expected ',' or ']'"):
        read('[\n{"id": "a"}\n{"id": "b"}]')


def test_unclosed_array_is_an_error(chunk: int) -> None:
    with pytest.raises(InputError, match="array is not closed"):
        read('[{"id": "a"},\n')
    with pytest.raises(InputError, match="malformed JSON"):
        read('[{"id": "a"')


def test_data_after_the_array_is_an_error(chunk: int) -> None:
    with pytest.raises(InputError, match=r":2: malformed JSON: extra data"):
        read('[{"id": "a"}]\n{"id": "b"}')


def test_invalid_utf8_is_reported_with_its_offset() -> None:
    with pytest.raises(InputError, match=r"not valid UTF-8 at byte 9"):
        read(b'[{"id": "\xff"}]')


def test_a_huge_malformed_element_fails_without_reading_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_input, "_MAX_ELEMENT_CHARS", 1000)
    reads = 0

    class Counting(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            nonlocal reads
            reads += 1
            return super().read(size)

    body = b'[{"id": "a" ' + b" " * 10_000_000 + b"}]"
    with pytest.raises(InputError, match="malformed JSON"):
        list(iter_json_items(Counting(body), name="big.json"))
    assert reads < 5


json_objects = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(
        st.integers(), st.text(max_size=20), st.booleans(), st.none(), st.floats(allow_nan=False)
    ),
    max_size=5,
)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(json_objects, max_size=12),
    chunk_size=st.integers(min_value=1, max_value=50),
    indent=st.sampled_from([None, 1, 2]),
)
def test_streamed_array_equals_json_loads(
    values: list[dict[str, object]], chunk_size: int, indent: int | None
) -> None:
    original = _input._CHUNK_CHARS
    _input._CHUNK_CHARS = chunk_size
    try:
        text = json.dumps(values, indent=indent, ensure_ascii=False)
        got = [item.value for item in iter_json_items(io.BytesIO(text.encode()), name="x")]
        lines = "[\n" + ",\n".join(json.dumps(v) for v in values) + "\n]"
        numbered = [item.line for item in iter_json_items(io.BytesIO(lines.encode()), name="x")]
    finally:
        _input._CHUNK_CHARS = original
    assert got == json.loads(text)
    assert numbered == list(range(2, len(values) + 2))


class MeteredStream(io.BytesIO):
    """Counts how many bytes have been handed out."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.handed_out = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.handed_out += len(chunk)
        return chunk


@pytest.mark.parametrize("as_array", [True, False], ids=["array", "json-lines"])
def test_items_come_out_before_the_input_is_read_whole(as_array: bool) -> None:
    items = [{"id": f"t{n}", "commandLine": "x" * 200} for n in range(5000)]
    if as_array:
        data = ("[" + ",".join(json.dumps(i) for i in items) + "]").encode()
    else:
        data = "".join(json.dumps(i) + "\n" for i in items).encode()
    stream = MeteredStream(data)
    reader = iter_json_items(stream, name="big")
    assert next(reader).value == items[0]
    assert stream.handed_out <= 2 * _input._CHUNK_CHARS < len(data) // 8
    assert sum(1 for _ in reader) == len(items) - 1
    assert stream.handed_out == len(data)
