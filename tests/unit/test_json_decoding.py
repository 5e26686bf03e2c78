"""`protocol.loads_json` (pydantic-core's parser with a `json.loads` fallback) equals `json.loads`.

Property tests over generated add_collection answers and arbitrary JSON documents (non-ASCII,
escapes, surrogates, big ints, floats written every way), plus the documents the faster parser
refuses: every one must decode exactly as `json.loads` decodes it, or fail as it fails.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchtasks._private import protocol
from batchtasks._private.errors import BatchServiceError
from batchtasks._private.protocol import Response


def _same(a: Any, b: Any) -> bool:
    """Structural equality that also tells types, -0.0 from 0.0 and NaN from NaN (as equal)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _check(body: bytes) -> None:
    try:
        expected = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        with pytest.raises(type(exc)):
            protocol.loads_json(body)
        return
    assert _same(protocol.loads_json(body), expected)


texts = st.text()  # any code point, lone surrogates included
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(texts, inner, max_size=5)),
    max_leaves=30,
)

# A TaskAddResult as the service sends it (status, IDs, eTag, dates, error with details).
results = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["success", "clientError", "serverError", "Success", "other"]),
        "taskId": texts,
    },
    optional={
        "eTag": texts,
        "lastModified": texts,
        "location": texts,
        "error": st.fixed_dictionaries(
            {"code": texts},
            optional={
                "message": st.fixed_dictionaries({"lang": texts, "value": texts}),
                "values": st.lists(st.fixed_dictionaries({"key": texts, "value": texts})),
            },
        ),
        "extra": documents,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(results, max_size=12), st.booleans())
def test_result_lists_decode_as_json_loads(value: list[dict[str, Any]], ascii_only: bool) -> None:
    body = json.dumps({"value": value}, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    _check(body)


@settings(max_examples=300, deadline=None)
@given(documents, st.booleans(), st.sampled_from([None, 2]))
def test_documents_decode_as_json_loads(doc: Any, ascii_only: bool, indent: int | None) -> None:
    text = json.dumps(doc, ensure_ascii=ascii_only, indent=indent)
    _check(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=500, deadline=None)
@given(
    st.from_regex(r"\A-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,40})?([eE][+-]?[0-9]{1,3})?\Z"),
)
def test_number_spellings_decode_as_json_loads(number: str) -> None:
    # Long mantissas and exponents: both parsers must round every decimal the same way.
    _check(f'{{"n":{number},"l":[{number}]}}'.encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_arbitrary_bytes_decode_or_fail_as_json_loads(raw: bytes) -> None:
    _check(b'{"a":"' + raw + b'"}')
    _check(raw)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a":"\\ud800"}',  # lone surrogate escape
        b'{"a":"\\udc00\\ud800"}',
        b'{"a":"\\ud83d\\ude00"}',  # a valid pair
        b"\xef\xbb\xbf{}",  # UTF-8 BOM
        '{"a":1}'.encode("utf-16"),
        '{"a":1}'.encode("utf-32"),
        b'{"a":"\xff"}',  # invalid UTF-8
        b'{"a":"\x00"}',  # raw control character
        b'{"a":1,"a":2}',
        b'{"a":NaN,"b":Infinity,"c":-Infinity}',
        b'{"a":1e400,"b":-0.0,"c":-0,"d":123456789012345678901234567890}',
        b"[" * 3000 + b"]" * 3000,  # deeper than jiter's limit; json decides
        b"[" * 100_000 + b"]" * 100_000,  # deeper than Python's recursion limit
        b'{"a":01}',
        b"",
    ],
)
def test_documents_the_fast_parser_refuses(body: bytes) -> None:
    _check(body)


def test_decode_value_list_still_maps_bad_bodies() -> None:
    ok = Response(status=200, headers={}, body=b'{"value":[{"taskId":"\\ud800","status":"x"}]}')
    values, _ = protocol.decode_value_list(ok)
    assert values == [{"taskId": "\ud800", "status": "x"}]
    for body in (b"\xff", b"[]", b'{"value":3}', b"[" * 100_000):
        bad = Response(status=200, headers={}, body=body)
        with pytest.raises(BatchServiceError):
            protocol.decode_value_list(bad)
