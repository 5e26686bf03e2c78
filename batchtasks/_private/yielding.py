"""`map_yielding`: decode many items without stalling the event loop.

A list page holds up to 1,000 items, and validating one can take milliseconds; done in one go a
large page would stop every other coroutine of the loop for a second or more. Parsers of
pydantic-core and `json` hold the GIL, so a worker thread would not help: instead the loop gets
control back every few milliseconds. Must not do I/O.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Final, TypeVar

__all__ = ["SLICE_SECONDS", "map_yielding"]

T = TypeVar("T")
V = TypeVar("V")

#: The longest stretch of item decoding between two returns to the event loop.
SLICE_SECONDS: Final = 0.01


async def map_yielding(function: Callable[[V], T], values: Sequence[V]) -> list[T]:
    """`[function(v) for v in values]`, letting the loop run whenever a slice of time is used."""
    out: list[T] = []
    clock = time.monotonic
    deadline = clock() + SLICE_SECONDS
    for value in values:
        out.append(function(value))
        if clock() > deadline:
            await asyncio.sleep(0)
            deadline = clock() + SLICE_SECONDS
    return out
