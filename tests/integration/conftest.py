"""Integration-test fixtures: a raw, signed HTTP client bound to the per-test emulator.

The emulator fixture itself (`batch_emulator`) comes from `batchtasks.emulator.pytest_plugin`,
registered in the root `tests/conftest.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from batchtasks.emulator import Emulator

from ._signing_helper import RawClient


@pytest_asyncio.fixture
async def raw(batch_emulator: Emulator) -> AsyncIterator[RawClient]:
    """A RawClient signed with the emulator's dev account."""
    async with aiohttp.ClientSession() as session:
        yield RawClient(session, batch_emulator.url, batch_emulator.account, batch_emulator.key)
