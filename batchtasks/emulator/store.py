"""Jobs and tasks as stored in SQLite: each resource is its JSON text plus the indexed columns
that filters and paging need.

Statements run on the database's own threads (`db.py`), so all writes are serialised: no lost or
duplicated task even under concurrent add_collection requests (the unique index on
``(job_lower, id_lower)`` backs that up).

Must not know about HTTP, auth or faults; must never build SQL from request text (filters arrive
already compiled to a fixed-text expression with parameters).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from .db import Database
from .errors import ApiError
from .formats import iso7
from .intake import AddResult, check_job_accepts_tasks, prepare_tasks

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


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

_UPDATE_TASK = (
    "UPDATE tasks SET state=?, state_transition_time=?, last_modified=?, start_time=?, "
    "end_time=?, exit_code=?, body=? WHERE seq=?"
)


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


class Store(Database):
    """Jobs and tasks in SQLite; every public method is a coroutine run on the DB thread."""

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

    async def job_task_counts(self, job_id: str) -> dict[str, Any]:
        """A job's tasks counted by state and result, with total retries and slot counts.

        Keys: ``active``, ``running`` (``preparing`` counts as running, like the service),
        ``completed``, ``succeeded``, ``failed``, ``retries``, and ``slots`` (the same five
        counts weighted by each task's ``requiredSlots``, default 1).

        Raises:
            ApiError: JobNotFound.
        """

        def work() -> dict[str, Any]:
            job = self._require_job(job_id)
            rows = self.conn.execute(
                "SELECT state, json_extract(body,'$.executionInfo.result'), COUNT(*), "
                "COALESCE(SUM(COALESCE(json_extract(body,'$.requiredSlots'), 1)), 0), "
                "COALESCE(SUM(json_extract(body,'$.executionInfo.retryCount')), 0) "
                "FROM tasks WHERE job_lower=? GROUP BY 1, 2",
                (job["id"].lower(),),
            ).fetchall()
            names = ("active", "running", "completed", "succeeded", "failed")
            tasks = dict.fromkeys(names, 0)
            slots = dict.fromkeys(names, 0)
            retries = 0
            for state, result, count, slot_count, retry_count in rows:
                retries += int(retry_count)
                keys = ["running" if state == "preparing" else state]
                if state == "completed" and result in ("success", "failure"):
                    keys.append("succeeded" if result == "success" else "failed")
                for key in keys:
                    tasks[key] += int(count)
                    slots[key] += int(slot_count)
            return {**tasks, "retries": retries, "slots": slots}

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
        version: str,
    ) -> list[AddResult]:
        """Validate and insert tasks in one transaction.

        Args:
            job_id: the job.
            items: raw `TaskAddParameter` JSON values.
            now: creation time.
            server_errors: per item, answer ``servererror`` instead of adding (fault injection).
            version: the request's api-version.

        Returns:
            Per item ``(task_id, status, detail)``: status ``success`` with the stored task dict,
            ``clienterror`` with the ApiError, or ``servererror`` with None. Duplicate ids in one
            request: the first wins, later ones (and ids already stored) get TaskExists.

        Raises:
            ApiError: JobNotFound, JobBeingDeleted, JobCompleted (nothing is added).
        """
        return await self._run(self._add_sync, job_id, items, now, server_errors, version)

    def _add_sync(
        self,
        job_id: str,
        items: Sequence[object],
        now: datetime,
        server_errors: Sequence[bool],
        version: str,
    ) -> list[AddResult]:
        """`add_tasks` on the DB thread."""
        job = self._require_job(job_id)
        check_job_accepts_tasks(job)
        job_lower = job["id"].lower()
        stamp = iso7(now)
        results, pending = prepare_tasks(
            job, items, stamp, server_errors, version, lambda: self.next_etag(now)
        )
        if pending:
            rows = []
            for index in pending:
                stored = results[index][2]
                assert isinstance(stored, dict)
                row = (stored["id"].lower(), "active", stamp, stamp, stamp, None, None, None)
                rows.append((job_lower, *row, _dumps(stored)))
            inserted = self._insert_new(rows)
            for index in pending:
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


def check_job_active(job: dict[str, Any]) -> None:
    """Raise the 409 the service gives for task writes in a job that is not active."""
    check_job_accepts_tasks(job)
