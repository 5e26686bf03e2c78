"""Leak checks shared by the concurrency and cancellation suites.

After a client is closed: no asyncio task other than the caller's is pending, no TCP connection
of this process to the emulator's port is left open, no "Unclosed client session" /
"Task was destroyed but it is pending" reached the loop's exception handler or `warnings`, and
garbage collection finds nothing to complain about.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil


def open_connections_to(port: int) -> list[Any]:
    """This process's TCP connections whose remote end is 127.0.0.1:`port` (still open)."""
    return [
        c
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr
        and c.raddr.port == port
        and c.status not in (psutil.CONN_TIME_WAIT, psutil.CONN_CLOSE)
    ]


async def settle(port: int | None = None, *, rounds: int = 100) -> None:
    """Let closing transports finish (a few loop iterations), then assert nothing leaked."""
    current = asyncio.current_task()
    for _ in range(rounds):
        pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not pending and (port is None or not open_connections_to(port)):
            break
        await asyncio.sleep(0.01)
    pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert pending == [], pending
    if port is not None:
        assert open_connections_to(port) == []


@contextmanager
def loop_problems() -> Iterator[list[str]]:
    """Collect what the loop's exception handler and `warnings` see (and gc's findings)."""
    loop = asyncio.get_running_loop()
    seen: list[str] = []
    previous = loop.get_exception_handler()

    def handler(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        seen.append(str(context.get("message")) + " " + repr(context.get("exception")))

    loop.set_exception_handler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield seen
            gc.collect()
        seen.extend(
            str(w.message)
            for w in caught
            if issubclass(w.category, (ResourceWarning, RuntimeWarning))
            or "Unclosed" in str(w.message)
        )
    finally:
        loop.set_exception_handler(previous)
