"""Decode a large list answer without stalling the event loop: its `value` items one at a time.

JSON parsers (pydantic-core's and `json`'s) hold the GIL for a whole document, so neither a
worker thread nor anything else lets the loop run while a 16 MB page is parsed: 150,000 small
items took 0.5 s in one call. Above `SLICE_THRESHOLD`, `decode_page` walks the top-level object
itself and parses each member, and each item of its ``value`` array, with `json`'s own
`raw_decode` (the same scanner as `json.loads`), returning to the loop every few milliseconds.
Anything the walk does not expect falls back to `loads_json` on the whole body, whose result or
error is the answer, so the outcome is always that of `json.loads`. Must not do I/O.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any, Final

from batchtasks._private.decoding import bad_body, decode_value_list, loads_json, value_list_of
from batchtasks._private.wire import Response
from batchtasks._private.yielding import SLICE_SECONDS

__all__ = ["SLICE_THRESHOLD", "decode_page", "loads_object_sliced"]

#: Bodies at least this large (bytes) are parsed in slices.
SLICE_THRESHOLD: Final = 1024 * 1024

_WS: Final = re.compile(r"[ \t\n\r]*")
_DECODER: Final = json.JSONDecoder()


class _Unexpected(ValueError):
    """The walk met something it leaves to the reference parser."""


class _Walk:
    __slots__ = ("deadline", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.deadline = time.monotonic() + SLICE_SECONDS

    def skip(self, pos: int) -> int:
        match = _WS.match(self.text, pos)
        assert match is not None  # the pattern matches the empty string
        return match.end()

    def expect(self, pos: int, chars: str) -> str:
        char = self.text[pos : pos + 1]
        if not char or char not in chars:
            raise _Unexpected(pos)
        return char

    async def breathe(self) -> None:
        if time.monotonic() > self.deadline:
            await asyncio.sleep(0)
            self.deadline = time.monotonic() + SLICE_SECONDS

    async def array(self, pos: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        pos = self.skip(pos + 1)
        if self.text[pos : pos + 1] == "]":
            return items, pos + 1
        while True:
            item, pos = _DECODER.raw_decode(self.text, pos)
            items.append(item)
            await self.breathe()
            pos = self.skip(pos)
            if self.expect(pos, ",]") == "]":
                return items, pos + 1
            pos = self.skip(pos + 1)

    async def document(self) -> dict[str, Any]:
        pos = self.skip(0)
        self.expect(pos, "{")
        data: dict[str, Any] = {}
        pos = self.skip(pos + 1)
        if self.text[pos : pos + 1] != "}":
            while True:
                self.expect(pos, '"')
                key, pos = _DECODER.raw_decode(self.text, pos)
                pos = self.skip(pos)
                self.expect(pos, ":")
                pos = self.skip(pos + 1)
                if key == "value" and self.text[pos : pos + 1] == "[":
                    data[key], pos = await self.array(pos)
                else:
                    data[key], pos = _DECODER.raw_decode(self.text, pos)
                pos = self.skip(pos)
                if self.expect(pos, ",}") == "}":
                    break
                pos = self.skip(pos + 1)
        if self.skip(pos + 1) != len(self.text):
            raise _Unexpected(pos)
        return data


async def loads_object_sliced(body: bytes) -> Any:
    """`loads_json(body)` for a JSON object, letting the loop run between its members and items.

    Raises:
        ValueError, UnicodeDecodeError, RecursionError: what `json.loads` raises.
    """
    try:
        return await _Walk(body.decode("utf-8")).document()
    except (ValueError, UnicodeDecodeError, RecursionError, IndexError):
        # A BOM, another encoding, an error to report: the reference parser decides.
        return loads_json(body)


async def decode_page(response: Response) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """`decode_value_list(response)`, parsed in slices when the body is large.

    Raises:
        BatchServiceError: the body is not JSON, or has no list `value` of objects.
    """
    if len(response.body) < SLICE_THRESHOLD:
        return decode_value_list(response)
    try:
        data = await loads_object_sliced(response.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise bad_body(response, "body is not JSON") from None
    return value_list_of(response, data)
