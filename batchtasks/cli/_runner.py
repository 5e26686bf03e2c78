"""Run the CLI's coroutines with Ctrl-C meaning "cancel the main task", on every Python version.

Python 3.11's `asyncio.run` turns SIGINT into a cancellation of the main task, so the bulk
engine's cancellation path runs and every task read so far is reported before the CLI exits 130.
Python 3.10's raises `KeyboardInterrupt` wherever the loop happens to be, which skips that path.
This module gives 3.10 the 3.11 behaviour; it does nothing else.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["run_async"]


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coro)`; Ctrl-C cancels `coro`, then surfaces as `KeyboardInterrupt`."""
    if sys.version_info >= (3, 11):
        return asyncio.run(coro)
    return asyncio.run(_cancel_on_sigint(coro))


async def _cancel_on_sigint(coro: Coroutine[Any, Any, T]) -> T:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        interrupted = True
        if task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        return await coro
    try:
        return await coro
    except asyncio.CancelledError:
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGINT)
