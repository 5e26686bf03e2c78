"""SQLite persistence of jobs and tasks, behind one dedicated thread.

Every statement runs on a single worker thread that owns the connection, so the event loop never
blocks on SQLite and all writes are serialised (no lost or duplicated task even under concurrent
add_collection requests; the unique index on ``(job_lower, id_lower)`` backs that up). A resource
is stored as its JSON text plus the indexed columns that filters and paging need.

Must not know about HTTP, auth or faults; must never build SQL from request text (filters arrive
already compiled to a fixed-text expression with parameters).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from .constants import DB_FILENAME
from .errors import ApiError
from .formats import iso7
from .validation import new_task

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

_INSERT_TASK = (
    "INSERT INTO tasks(job_lower, id_lower, state, creation_time, state_transition_time, "
    "last_modified, start_time, end_time, exit_code, body) VALUES (?,?,?,?,?,?,?,?,?,?)"
)
_INSERT_MANY: dict[int, str] = {}


def _insert_many_sql(n: int) -> str:
    """A fixed-text multi-row insert of `n` task rows that skips existing (job, id) pairs."""
    values = ",".join(["(?,?,?,?,?,?,?,?,?,?)"] * n)
    head = _INSERT_TASK.split(" VALUES ")[0]
    return f"{head} VALUES {values} ON CONFLICT DO NOTHING RETURNING id_lower"


_UPDATE_TASK = (
    "UPDATE tasks SET state=?, state_transition_time=?, last_modified=?, start_time=?, "
    "end_time=?, exit_code=?, body=? WHERE seq=?"
)

#: Seconds a write waits for another process's transaction on the same file.
_BUSY_TIMEOUT = 60.0

_TICKS_AT_EPOCH = 621_355_968_000_000_000  # .NET ticks at 1970-01-01, so ETags look real

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


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


class TaskRow:
    """Columns of one stored task (seq + decoded body)."""

    __slots__ = ("body", "seq")

    def __init__(self, seq: int, body: dict[str, Any]) -> None:
        self.seq = seq
        self.body = body


def task_columns(task: dict[str, Any]) -> tuple[Any, ...]:
    """The indexed columns of a task dict, in `_UPDATE_TASK` order (without body/seq)."""
    info = task.get("executionInfo") or {}
    return (
        task["state"],
        task["stateTransitionTime"],
        task["lastModified"],
        info.get("startTime"),
        info.get("endTime"),
        info.get("exitCode"),
    )


class Store:
    """Jobs and tasks in SQLite; every public method is a coroutine run on the DB thread.

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
        """Start the DB thread, open the database and create the schema."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batchtasks-db")
        await self._run(self._open)
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
            conn.execute("PRAGMA journal_mode=WAL")
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

    # -- admin ------------------------------------------------------------------------------

    async def reset(self) -> None:
        """Delete every job and task."""

        def work() -> None:
            c = self.conn
            c.execute("BEGIN IMMEDIATE")
            c.execute("DELETE FROM tasks")
            c.execute("DELETE FROM jobs")
            c.execute("COMMIT")

        await self._run(work)

    async def counts(self) -> dict[str, int]:
        """Numbers of stored jobs and tasks."""

        def work() -> dict[str, int]:
            jobs = self.conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
            tasks = self.conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
            return {"jobs": int(jobs), "tasks": int(tasks)}

        return await self._read(work)

    # -- jobs -------------------------------------------------------------------------------

    def _job(self, job_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT body FROM jobs WHERE id_lower=?", (job_id.lower(),)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def _require_job(self, job_id: str) -> dict[str, Any]:
        job = self._job(job_id)
        if job is None:
            raise ApiError("JobNotFound")
        return job

    async def add_job(self, job: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Store a new job (times, eTag and state are set here).

        Raises:
            ApiError: JobExists.
        """

        def work() -> dict[str, Any]:
            stamp = iso7(now)
            job["eTag"] = self.next_etag(now)
            job["lastModified"] = stamp
            job["creationTime"] = stamp
            job["state"] = "active"
            job["stateTransitionTime"] = stamp
            pool_id = job.get("poolInfo", {}).get("poolId")
            job["executionInfo"] = {"startTime": stamp, **({"poolId": pool_id} if pool_id else {})}
            try:
                self.conn.execute(
                    "INSERT INTO jobs(id_lower, state, creation_time, last_modified, body) "
                    "VALUES (?,?,?,?,?)",
                    (job["id"].lower(), "active", stamp, stamp, _dumps(job)),
                )
            except sqlite3.IntegrityError:
                raise ApiError("JobExists") from None
            return job

        return await self._run(work)

    async def get_job(self, job_id: str) -> dict[str, Any]:
        """Return a job.

        Raises:
            ApiError: JobNotFound.
        """
        return await self._read(self._require_job, job_id)

    async def job_task_counts(self, job_id: str) -> dict[str, int]:
        """Succeeded/failed task counts and total retries of a job (for JobStatistics)."""

        def work() -> dict[str, int]:
            row = self.conn.execute(
                "SELECT "
                "COALESCE(SUM(state='completed' AND json_extract(body,'$.executionInfo.result')"
                "='success'), 0), "
                "COALESCE(SUM(state='completed' AND json_extract(body,'$.executionInfo.result')"
                "='failure'), 0), "
                "COALESCE(SUM(json_extract(body,'$.executionInfo.retryCount')), 0) "
                "FROM tasks WHERE job_lower=?",
                (job_id.lower(),),
            ).fetchone()
            return {"succeeded": int(row[0]), "failed": int(row[1]), "retries": int(row[2])}

        return await self._read(work)

    async def list_jobs(
        self, where: str | None, params: Sequence[object], after: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """List jobs ordered by lower-cased id; return the page and the next cursor (or None)."""

        def work() -> tuple[list[dict[str, Any]], str | None]:
            sql = "SELECT id_lower, body FROM jobs WHERE 1=1"
            return self._page(sql, [], where, params, after, limit)

        return await self._read(work)

    def _page(
        self,
        sql: str,
        args: list[object],
        where: str | None,
        params: Sequence[object],
        after: str | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], str | None]:
        # `where` is SQL compiled by filters.py from a fixed grammar, its values are in `params`:
        # no request text is ever concatenated into the statement.
        if where:
            sql += f" AND {where}"
            args.extend(params)
        if after is not None:
            sql += " AND id_lower > ?"
            args.append(after)
        sql += " ORDER BY id_lower LIMIT ?"
        args.append(limit + 1)
        rows = self.conn.execute(sql, args).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return [json.loads(r[1]) for r in rows], (rows[-1][0] if more else None)

    async def modify_job(
        self,
        job_id: str,
        fn: Callable[[dict[str, Any]], dict[str, Any] | None],
    ) -> dict[str, Any] | None:
        """Apply `fn` to a job atomically; a dict result is stored, None deletes job + tasks.

        Raises:
            ApiError: JobNotFound, or whatever `fn` raises (nothing is changed then).
        """

        def work() -> dict[str, Any] | None:
            c = self.conn
            c.execute("BEGIN IMMEDIATE")
            try:
                job = self._require_job(job_id)
                new = fn(job)
                if new is None:
                    c.execute("DELETE FROM tasks WHERE job_lower=?", (job_id.lower(),))
                    c.execute("DELETE FROM jobs WHERE id_lower=?", (job_id.lower(),))
                else:
                    c.execute(
                        "UPDATE jobs SET state=?, last_modified=?, body=? WHERE id_lower=?",
                        (new["state"], new["lastModified"], _dumps(new), job_id.lower()),
                    )
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
            return new

        return await self._run(work)

    # -- tasks ------------------------------------------------------------------------------

    async def add_tasks(
        self,
        job_id: str,
        items: Sequence[object],
        now: datetime,
        server_errors: Sequence[bool],
    ) -> list[tuple[str, str, dict[str, Any] | ApiError | None]]:
        """Validate and insert tasks in one transaction.

        Args:
            job_id: the job.
            items: raw `TaskAddParameter` JSON values.
            now: creation time.
            server_errors: per item, answer ``servererror`` instead of adding (fault injection).

        Returns:
            Per item ``(task_id, status, detail)``: status ``success`` with the stored task dict,
            ``clienterror`` with the ApiError, or ``servererror`` with None. Duplicate ids in one
            request: the first wins, later ones get TaskExists.

        Raises:
            ApiError: JobNotFound, JobBeingDeleted, JobCompleted (nothing is added).
        """

        return await self._run(self._add_sync, job_id, items, now, server_errors)

    def _add_sync(
        self,
        job_id: str,
        items: Sequence[object],
        now: datetime,
        server_errors: Sequence[bool],
    ) -> list[tuple[str, str, dict[str, Any] | ApiError | None]]:
        """`add_tasks` on the DB thread."""
        job = self._require_job(job_id)
        _check_job_accepts_tasks(job)
        uses_deps = bool(job.get("usesTaskDependencies"))
        job_retry = int(job.get("constraints", {}).get("maxTaskRetryCount", 0))
        exit_actions = job.get("onTaskFailure") == "performexitoptionsjobaction"
        job_lower = job["id"].lower()
        stamp = iso7(now)
        results: list[tuple[str, str, dict[str, Any] | ApiError | None]] = []
        pending: list[tuple[int, dict[str, Any]]] = []
        seen: set[str] = set()
        for index, raw in enumerate(items):
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            task_id = raw_id if isinstance(raw_id, str) else ""
            if server_errors[index]:
                results.append((task_id, "servererror", None))
                continue
            try:
                task = new_task(
                    raw,
                    uses_dependencies=uses_deps,
                    job_retry=job_retry,
                    job_uses_exit_actions=exit_actions,
                )
            except ApiError as exc:
                results.append((task_id, "clienterror", exc))
                continue
            lowered = task_id.lower()
            if lowered in seen:
                results.append((task_id, "clienterror", ApiError("TaskExists")))
                continue
            seen.add(lowered)
            pending.append((len(results), task))
            results.append((task_id, "success", task))
        if pending:
            rows: list[tuple[Any, ...]] = []
            for index, task in pending:
                # Key order follows the service's CloudTask serialisation.
                stored = {
                    "id": task.pop("id"),
                    **({"displayName": task.pop("displayName")} if "displayName" in task else {}),
                    "eTag": self.next_etag(now),
                    "creationTime": stamp,
                    "lastModified": stamp,
                    "state": "active",
                    "stateTransitionTime": stamp,
                    **task,
                }
                results[index] = (stored["id"], "success", stored)
                rows.append(
                    (
                        job_lower,
                        stored["id"].lower(),
                        "active",
                        stamp,
                        stamp,
                        stamp,
                        None,
                        None,
                        None,
                        _dumps(stored),
                    )
                )
            inserted = self._insert_new(rows)
            for index, _task in pending:
                task_id = results[index][0]
                if task_id.lower() not in inserted:
                    results[index] = (task_id, "clienterror", ApiError("TaskExists"))
        return results

    def _insert_new(self, rows: list[tuple[Any, ...]]) -> set[str]:
        """Insert task rows in one transaction, skipping ids that exist; return inserted ids.

        One multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` per 100 rows: about twice
        as fast as a SELECT for existing ids followed by executemany, and atomic with the check.
        """
        c = self.conn
        inserted: set[str] = set()
        c.execute("BEGIN IMMEDIATE")
        try:
            for start in range(0, len(rows), 100):
                chunk = rows[start : start + 100]
                sql = _INSERT_MANY.get(len(chunk))
                if sql is None:
                    sql = _INSERT_MANY[len(chunk)] = _insert_many_sql(len(chunk))
                flat = [value for row in chunk for value in row]
                inserted.update(r[0] for r in c.execute(sql, flat))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return inserted

    def _task(self, job_lower: str, task_id: str) -> TaskRow | None:
        row = self.conn.execute(
            "SELECT seq, body FROM tasks WHERE job_lower=? AND id_lower=?",
            (job_lower, task_id.lower()),
        ).fetchone()
        return None if row is None else TaskRow(row[0], json.loads(row[1]))

    async def get_task(self, job_id: str, task_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return ``(job, task)``.

        Raises:
            ApiError: JobNotFound, TaskNotFound.
        """

        def work() -> tuple[dict[str, Any], dict[str, Any]]:
            job = self._require_job(job_id)
            row = self._task(job["id"].lower(), task_id)
            if row is None:
                raise ApiError("TaskNotFound")
            return job, row.body

        return await self._read(work)

    async def list_tasks(
        self,
        job_id: str,
        where: str | None,
        params: Sequence[object],
        after: str | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """List a job's tasks ordered by lower-cased id, `limit` per page.

        Returns:
            ``(tasks, cursor)``; cursor is the last id of the page when more pages exist.

        Raises:
            ApiError: JobNotFound.
        """

        def work() -> tuple[list[dict[str, Any]], str | None]:
            job = self._require_job(job_id)
            sql = "SELECT id_lower, body FROM tasks WHERE job_lower=?"
            return self._page(sql, [job["id"].lower()], where, params, after, limit)

        return await self._read(work)

    async def modify_task(
        self,
        job_id: str,
        task_id: str,
        fn: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None],
        now: datetime,
    ) -> dict[str, Any] | None:
        """Apply `fn(job, task)` atomically: a dict result replaces the task (new eTag and
        lastModified are set here), None deletes it.

        Raises:
            ApiError: JobNotFound, TaskNotFound, or whatever `fn` raises (nothing changes).
        """

        def work() -> dict[str, Any] | None:
            c = self.conn
            c.execute("BEGIN IMMEDIATE")
            try:
                job = self._require_job(job_id)
                row = self._task(job["id"].lower(), task_id)
                if row is None:
                    raise ApiError("TaskNotFound")
                new = fn(job, row.body)
                if new is None:
                    c.execute("DELETE FROM tasks WHERE seq=?", (row.seq,))
                else:
                    new["eTag"] = self.next_etag(now)
                    new["lastModified"] = iso7(now)
                    c.execute(_UPDATE_TASK, (*task_columns(new), _dumps(new), row.seq))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
            return new

        return await self._run(work)

    def write_task(self, seq: int, task: dict[str, Any], now: datetime) -> None:
        """Store a changed task from the DB thread (lifecycle), with a new eTag."""
        task["eTag"] = self.next_etag(now)
        task["lastModified"] = iso7(now)
        self.conn.execute(_UPDATE_TASK, (*task_columns(task), _dumps(task), seq))


def _check_job_accepts_tasks(job: dict[str, Any]) -> None:
    state = job.get("state")
    if state == "deleting":
        raise ApiError("JobBeingDeleted")
    if state == "terminating":
        raise ApiError("JobBeingTerminated")
    if state == "completed":
        raise ApiError("JobCompleted")


def check_job_active(job: dict[str, Any]) -> None:
    """Raise the 409 the service gives for task writes in a job that is not active."""
    _check_job_accepts_tasks(job)
