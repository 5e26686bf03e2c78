"""Where the emulator keeps its data by default, and how to wipe it.

Like Azurite's default location, one folder per user holds the emulator's state: the
``batchtasks`` command line with no account configured, ``batchtasks emulator`` and
``Emulator()`` all use it unless told otherwise, so that ``job add``, ``add-collection`` and
``task list`` run one after the other see the same jobs and tasks. Several processes may use the
folder at once: SQLite's own locking (WAL, a busy timeout) serialises their writes.

The folder: ``$BATCHTASKS_EMULATOR_LOCATION`` when set, else the platform's per-user data folder
(``$XDG_DATA_HOME/batchtasks/emulator``, ``~/.local/share/batchtasks/emulator`` on Linux,
``~/Library/Application Support/batchtasks/emulator`` on macOS,
``%LOCALAPPDATA%\\batchtasks\\emulator`` on Windows).

Must not import `batchtasks._private` or `batchtasks.models`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from .constants import DB_FILENAME

__all__ = ["LOCATION_ENV", "NODES_DIRNAME", "default_location", "reset_location"]

#: Environment variable naming the default data folder (tests point it at a temporary folder).
LOCATION_ENV = "BATCHTASKS_EMULATOR_LOCATION"
#: Sub-folder of the data folder holding the virtual nodes' task directories.
NODES_DIRNAME = "nodes"


def default_location(environ: Mapping[str, str] | None = None) -> Path:
    """The default data folder (not created here).

    Args:
        environ: the environment to read (default: ``os.environ``).

    Returns:
        ``$BATCHTASKS_EMULATOR_LOCATION``, else the platform's per-user data folder.
    """
    env = os.environ if environ is None else environ
    chosen = env.get(LOCATION_ENV)
    if chosen:
        return Path(chosen).expanduser()
    if sys.platform == "win32":
        base = Path(env.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        xdg = env.get("XDG_DATA_HOME")
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "batchtasks" / "emulator"


async def reset_location(location: Path) -> tuple[int, int] | None:
    """Delete every job and task stored in `location` (and the virtual nodes' files).

    Safe while other processes use the folder: the rows are deleted in one SQLite transaction,
    so they see the data either whole or gone. A damaged database file (not SQLite) holds
    nothing usable: it is removed. Only the emulator's own database and ``nodes`` folder are
    touched, never anything else in `location`.

    Returns:
        ``(jobs, tasks)`` deleted (``(0, 0)`` for a damaged file, removed), or None when
        `location` holds no emulator database.
    """
    from .db import DamagedDatabaseError
    from .store import Store

    db = await asyncio.to_thread(lambda: Path(location).expanduser() / DB_FILENAME)
    if not await asyncio.to_thread(db.is_file):
        return None
    store = Store(db)
    try:
        await store.open()
    except DamagedDatabaseError:
        await asyncio.to_thread(_remove_database, db)
        counts = {"jobs": 0, "tasks": 0}
    else:
        try:
            counts = await store.counts()
            await store.reset()
        finally:
            await store.close()
    await asyncio.to_thread(shutil.rmtree, db.parent / NODES_DIRNAME, True)
    return counts["jobs"], counts["tasks"]


def _remove_database(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
