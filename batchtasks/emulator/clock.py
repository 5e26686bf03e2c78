"""The emulator's clock: wall-clock time scaled by a speed, plus a manual offset; and the
`Wakeup` the lifecycle sleeps on between steps.

Task times (creation, start, end) come from here, so a test can run the simulated lifecycle faster
than real time or advance it by hand. Must not know about tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from datetime import datetime, timedelta, timezone


class SimClock:
    """Wall-clock time scaled by `speed` from the moment of creation, plus a manual offset."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.speed = speed
        self._wall0 = datetime.now(timezone.utc)
        self._mono0 = time.monotonic()
        self._offset = 0.0

    def now(self) -> datetime:
        """The simulated current time (aware UTC)."""
        elapsed = (time.monotonic() - self._mono0) * self.speed + self._offset
        return self._wall0 + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by `seconds`.

        Raises:
            ValueError: negative, not finite, or beyond `LATEST_SIMULATED_TIME` (past it, every
                request of the emulator would fail to compute "now").
        """
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("the clock only moves forward by a finite amount")
        try:
            target = self.now() + timedelta(seconds=seconds)
        except OverflowError:
            target = None
        if target is None or target > LATEST_SIMULATED_TIME:
            raise ValueError(f"the clock cannot move past {LATEST_SIMULATED_TIME.year}")
        self._offset += seconds


#: Far enough from datetime.max that a fast clock keeps running for centuries after an advance.
LATEST_SIMULATED_TIME = datetime(9000, 1, 1, tzinfo=timezone.utc)


class Wakeup:
    """A flag the lifecycle sleeps on between steps; `set` ends the sleep at once.

    Waits on a bare future, not a task, so a sleeping lifecycle leaves nothing but itself in
    ``asyncio.all_tasks()``.
    """

    def __init__(self) -> None:
        self._flag = False
        self._future: asyncio.Future[None] | None = None

    def set(self) -> None:
        """Wake the sleeper (or make its next sleep return at once)."""
        self._flag = True
        if self._future is not None and not self._future.done():
            self._future.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Sleep up to `timeout` seconds unless set; clear the flag."""
        if not self._flag:
            self._future = asyncio.get_running_loop().create_future()
            try:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._future, timeout)
            finally:
                self._future = None
        self._flag = False
