"""Pytest fixtures for code that talks to the Batch Task API: a fresh emulator per test.

Register with ``pytest_plugins = ["batchtasks.emulator.pytest_plugin"]`` in the root
``conftest.py``. Fixtures:

* ``batch_emulator`` — function-scoped, in-memory `Emulator` on ``127.0.0.1:0`` with the dev
  account; started before and stopped after each test. Faults off; tasks do not run.
* ``batch_emulator_running`` — the same with the task lifecycle on (1000x clock).
* ``batch_emulator_executing`` — tasks run as real local processes (``execute=True``: two
  virtual nodes of two slots, 0.5 s kill grace); every process is stopped with the emulator.
* ``batch_emulator_factory`` — an async callable ``await factory(**Emulator kwargs)`` returning a
  started emulator (in memory unless ``location=`` is given); all are stopped after the test.

Requires pytest-asyncio. Must not depend on the batchtasks client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest_asyncio

from .server import Emulator


@pytest_asyncio.fixture
async def batch_emulator() -> AsyncIterator[Emulator]:
    """A started in-memory emulator (stopped after the test)."""
    async with Emulator(in_memory=True) as emulator:
        yield emulator


@pytest_asyncio.fixture
async def batch_emulator_running() -> AsyncIterator[Emulator]:
    """A started in-memory emulator whose tasks run (1000x simulated clock)."""
    async with Emulator(in_memory=True, run_tasks=True, clock_speed=1000.0) as emulator:
        yield emulator


@pytest_asyncio.fixture
async def batch_emulator_executing() -> AsyncIterator[Emulator]:
    """A started in-memory emulator that runs task command lines as local processes."""
    async with Emulator(
        in_memory=True, execute=True, nodes=2, task_slots_per_node=2, kill_grace=0.5
    ) as emulator:
        yield emulator


EmulatorFactory = Callable[..., Awaitable[Emulator]]


@pytest_asyncio.fixture
async def batch_emulator_factory() -> AsyncIterator[EmulatorFactory]:
    """Start emulators with custom settings; every one is stopped after the test."""
    started: list[Emulator] = []

    async def factory(**kwargs: Any) -> Emulator:
        if "location" not in kwargs:
            kwargs.setdefault("in_memory", True)
        emulator = Emulator(**kwargs)
        await emulator.start()
        started.append(emulator)
        return emulator

    try:
        yield factory
    finally:
        for emulator in reversed(started):
            await emulator.stop()
