"""The SQLite database behind the emulator's store: one dedicated writer thread, one reader.

Every statement runs on a worker thread that owns its connection, so the event loop never blocks
on SQLite and all writes are serialised (a second, read-only connection serves get/list when the
database is a file, thanks to WAL). Holds the schema, the location rules and the ETag clock; what
is stored and how is `store.py`. Must not know about HTTP, auth or faults.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from .constants import DB_FILENAME

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id_lower TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    creation_time TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks(
    seq INTEGER PRIMARY KEY,
    job_lower TEXT NOT NULL,
    id_lower TEXT NOT NULL,
    state TEXT NOT NULL,
    creation_time TEXT NOT NULL,
    state_transition_time TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    start_time TEXT,
    end_time TEXT,
    exit_code INTEGER,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_tasks_job_id ON tasks(job_lower, id_lower);
"""

#: Created only when the lifecycle runs, so pure ingest pays for one index only.
LIVE_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_tasks_live ON tasks(state, seq) WHERE state != 'completed'"
)

_TICKS_AT_EPOCH = 621_355_968_000_000_000  # .NET ticks at 1970-01-01, so ETags look real


class DamagedDatabaseError(ValueError):
    """The emulator's database file is not a usable SQLite database."""

    def __init__(self, path: Path, exc: BaseException) -> None:
        super().__init__(
            f"the emulator database {path} is not usable ({exc}); "
            "'batchtasks emulator reset' removes a damaged one"
        )
        self.path = path


#: Seconds a write waits for another process's transaction on the same file.
_BUSY_TIMEOUT = 60.0


def resolve_location(location: str | Path) -> Path:
    """Resolve the persistence directory the user named, create it, return the DB file path.

    The database always has the fixed name `DB_FILENAME` inside that directory; nothing of the
    request or the user's input is ever joined below it.

    Raises:
        ValueError: the location exists and is not a directory, cannot be created, or the DB
            file is a symlink.
    """
    directory = Path(location).expanduser().resolve()
    if directory.exists() and not directory.is_dir():
        raise ValueError("the emulator location exists and is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"cannot create the emulator location {directory}: {reason}") from None
    db = directory / DB_FILENAME
    if db.is_symlink():
        raise ValueError("the emulator database must not be a symbolic link")
    return db


class Database:
    """The connections and threads of one SQLite database (see the module docstring).

    Args:
        path: the SQLite file, or None for an in-memory database.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._last_ticks = 0

    # -- plumbing ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Start the DB thread, open the database and create the schema.

        Raises:
            DamagedDatabaseError: the file is not a usable database (nothing is left running).
        """
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batchtasks-db")
        try:
            await self._run(self._open)
        except DamagedDatabaseError:
            self._executor.shutdown(wait=True)
            self._executor = None
            raise
        if self.path is not None:
            # WAL lets a second connection read while the writer commits: reads (get/list) do
            # not queue behind add_collection batches. In memory there is one connection only.
            self._reader = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="batchtasks-db-read"
            )
            await self._read(self._open_reader)
        else:
            self._reader = self._executor

    def _connect(self) -> sqlite3.Connection:
        target = ":memory:" if self.path is None else str(self.path)
        # Other processes may share the file (the CLI's default data folder): a writer waits for
        # theirs to commit instead of failing with "database is locked".
        conn = sqlite3.connect(target, isolation_level=None, timeout=_BUSY_TIMEOUT)
        if self.path is not None:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.DatabaseError as exc:  # not a database, or a damaged one
                conn.close()
                raise DamagedDatabaseError(self.path, exc) from None
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-65536")
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    def _open(self) -> None:
        self._connect().executescript(_SCHEMA)

    def _open_reader(self) -> None:
        self._connect().execute("PRAGMA query_only=ON")

    async def close(self) -> None:
        """Close the database and stop the DB thread (idempotent)."""
        if self._executor is None:
            return
        if self._reader is not None and self._reader is not self._executor:
            await self._read(self._close)
            self._reader.shutdown(wait=True)
        self._reader = None
        await self._run(self._close)
        self._executor.shutdown(wait=True)
        self._executor = None

    def _close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError("store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        if self._reader is None:
            raise RuntimeError("store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader, fn, *args)

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` on the DB thread (used by the lifecycle)."""
        return await self._run(lambda: fn(self.conn))

    @property
    def conn(self) -> sqlite3.Connection:
        """The calling DB thread's own connection (writer or reader)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            raise RuntimeError("store is not open")
        return conn

    def next_etag(self, now: datetime) -> str:
        """A new ETag, strictly increasing, shaped like the service's (``0x8DC...``)."""
        ticks = int(now.timestamp() * 10_000_000) + _TICKS_AT_EPOCH
        self._last_ticks = max(self._last_ticks + 1, ticks)
        return f"0x{self._last_ticks:X}"
