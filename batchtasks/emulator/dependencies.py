"""Whether a task's ``dependsOn`` lets it start: every named task (IDs and ID ranges) completed
and satisfies its dependents (REST spec: dependencyAction, ``satisfy`` by default for exit code 0,
``block`` otherwise, changed by the task's exitConditions).

Runs SQL on the store's DB thread (called inside the lifecycle's transaction); no HTTP.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .states import dependency_satisfied


def dependencies_met(conn: sqlite3.Connection, job_lower: str, depends: dict[str, Any]) -> bool:
    """Whether every task named by `depends` exists, completed, and lets dependents run (exit code
    0, or an exitConditions ``dependencyAction`` of ``satisfy``)."""
    ids = sorted({str(i).lower() for i in depends.get("taskIds") or []})
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        where = f"job_lower=? AND id_lower IN ({marks})"  # only '?' marks
        if _satisfied(conn, where, [job_lower, *chunk]) != len(chunk):
            return False
    for rng in depends.get("taskIdRanges") or []:
        first, last = int(rng["start"]), int(rng["end"])
        # Counted in SQL, so a huge range costs one query, not one string per id. Only canonical
        # integer ids ("9", not "09") belong to a range.
        where = (
            "job_lower=? AND id_lower = CAST(CAST(id_lower AS INTEGER) AS TEXT) "
            "AND CAST(id_lower AS INTEGER) BETWEEN ? AND ?"
        )
        if _satisfied(conn, where, [job_lower, first, last]) != last - first + 1:
            return False
    return True


def _satisfied(conn: sqlite3.Connection, where: str, args: list[object]) -> int:
    """How many completed tasks matching `where` satisfy their dependents: the exit-code-0 ones
    are counted in SQL; only failed ones are read to apply their dependencyAction."""
    ok = int(
        conn.execute(
            f"SELECT COUNT(*) FROM tasks WHERE {where} AND state='completed' AND exit_code=0",  # noqa: S608
            args,
        ).fetchone()[0]
    )
    failed = conn.execute(
        f"SELECT body FROM tasks WHERE {where} AND state='completed' "  # noqa: S608
        "AND (exit_code IS NULL OR exit_code != 0)",
        args,
    )
    return ok + sum(1 for (body,) in failed if dependency_satisfied(json.loads(body)))
