"""A local emulator of the Azure Batch Task REST API (api-version 2024-02-01.19.0).

Like Azurite for Storage: a well-known dev account (`DEV_ACCOUNT` / `DEV_KEY`), SQLite
persistence (``--location DIR``) or in-memory, Shared Key verification, seedable fault injection
and admin endpoints under ``/_emulator/``. Start it in-process with ``async with Emulator() as
emu:`` or from a shell with ``python -m batchtasks.emulator``.

The wire format is the contract: this package never imports `batchtasks._private` or
`batchtasks.models`.
"""

from __future__ import annotations

from .constants import API_VERSION, DEV_ACCOUNT, DEV_KEY
from .faults import FaultConfig
from .server import Emulator

__all__ = ["API_VERSION", "DEV_ACCOUNT", "DEV_KEY", "Emulator", "FaultConfig"]
