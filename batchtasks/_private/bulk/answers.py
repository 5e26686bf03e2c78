"""Reading one add_collection answer into outcomes: each task sent gets its own result, or a retry.

`read_answer` matches the service's per-task results to the chunk's tasks (any order; a taskId in
another case; the same ID twice in one request), records the terminal ones in the ledger
(`success`, `clienterror`, `TaskExists` after an unknown outcome) and returns the tasks to retry
(`servererror`, an unknown status, a result that is missing). An answer in which every task of a
column chunk was added exactly as sent takes a shortcut that makes no per-task object
(`all_added`). This module must not send, schedule or sleep (engine.py does); what a missing or
unknown result means for a task is recorded on its `Entry`.
"""

from __future__ import annotations

import operator
from typing import Any

from batchtasks._private.bulk.ledger import Ledger
from batchtasks._private.bulk.outcome import Outcome
from batchtasks._private.bulk.packer import Chunk, Entry
from batchtasks._private.errors import BatchServiceError

__all__ = ["MissingResult", "all_added", "read_answer", "task_exists"]


class MissingResult(BatchServiceError):
    """The service answered 200 but gave no result for a task it was sent."""

    def __init__(self) -> None:
        super().__init__(
            status=200, message="the add_collection response had no result for this task"
        )


def read_answer(
    chunk: Chunk, results: list[dict[str, Any]], ledger: Ledger, exists_ok: bool
) -> list[Entry]:
    """Record the outcomes `results` decide for `chunk`'s tasks; return the tasks to retry.

    Args:
        chunk: the request that was answered.
        results: the answer's ``value`` list (anything that is not a list counts as empty).
        ledger: where terminal outcomes go.
        exists_ok: `task_exists_is_success` (see `task_exists`).
    """
    if chunk.columns is not None and ledger.compact:
        # Hot path of a whole request: every task added, seen with C-level list operations;
        # no Entry is ever made for these tasks. Anything else goes the per-result way.
        ordered = all_added(chunk.columns[0], results)
        if ordered is not None:
            ledger.added_columns(*chunk.added_columns(), ordered)
            return []
    entries = chunk.entries
    # One dict pop per result, exact status/ID first; anything unusual falls back.
    by_id = {entry.task_id: entry for entry in entries}
    # The same ID more than once in this request (possible only with detect_duplicates
    # off): the first occurrence is in `by_id`, the others wait here for their own result.
    later: list[Entry] = [] if len(by_id) == len(entries) else _repeats(entries, by_id)
    retry: list[Entry] = []
    added = ledger.added
    # With no observer, the order of outcomes within a response is invisible: successes
    # are handed over in one batch.
    compact = ledger.compact
    ok_entries: list[Entry] = []
    ok_raws: list[dict[str, Any]] = []
    if type(results) is not list:
        results = []  # a malformed answer: every task's outcome is unknown (retried below)
    for result in results:
        try:
            entry = by_id.pop(result["taskId"])
        except (KeyError, TypeError):
            found = _pop_loose(by_id, result)
            if found is None and later:
                found = _pop_repeat(later, result)
            if found is None:
                continue  # not ours, or a repeated result for the same task
            entry = found
        status = result.get("status")
        if status == "success":
            if compact:
                ok_entries.append(entry)
                ok_raws.append(result)
            else:
                added(entry, result)
            continue
        status = status.lower() if type(status) is str else ""
        if status == "success":
            added(entry, result)
        elif status == "clienterror":
            error = result.get("error")
            code = error.get("code") if type(error) is dict else None
            if type(code) is str and code.lower() == "taskexists":
                task_exists(ledger, entry, result, exists_ok)
            else:
                ledger.finish(entry, Outcome.FAILED, raw=result, reason="rejected by the service")
        elif status == "servererror":
            entry.last_error = result
            entry.last_exception = None
            retry.append(entry)
        else:
            # A status this client does not know: treat as "outcome unknown", retry.
            entry.maybe_added = True
            entry.last_error = result
            entry.last_exception = None
            retry.append(entry)
    if ok_entries:
        ledger.added_all(ok_entries, ok_raws)
    if by_id or later:
        missing = MissingResult()
        for entry in [*by_id.values(), *later]:
            entry.maybe_added = True
            entry.last_error = None
            entry.last_exception = missing
            retry.append(entry)
    return retry


def task_exists(ledger: Ledger, entry: Entry, result: dict[str, Any], exists_ok: bool) -> None:
    """The outcome of a ``TaskExists`` result for `entry`.

    ADDED_ON_RETRY when an earlier attempt of this call had an unknown outcome (it almost
    certainly added the task); else ALREADY_EXISTS if `exists_ok`, else FAILED (an ID clash).
    """
    if entry.maybe_added:
        ledger.finish(
            entry,
            Outcome.ADDED_ON_RETRY,
            raw=result,
            reason="TaskExists answered a retry after an attempt with unknown outcome",
        )
    elif exists_ok:
        ledger.finish(
            entry,
            Outcome.ALREADY_EXISTS,
            raw=result,
            reason="the task ID already existed (accepted: task_exists_is_success=True)",
        )
    else:
        ledger.finish(
            entry,
            Outcome.FAILED,
            raw=result,
            reason="task ID clash: the ID already existed in the job before this call sent it",
        )


_STATUS = operator.itemgetter("status")
_TASK_ID = operator.itemgetter("taskId")


def all_added(ids: list[str], results: object) -> list[dict[str, Any]] | None:
    """`results` in the order of `ids` if each ID has exactly one ``success`` result, else None.

    Exact spellings only (status ``success``, the ID as sent): anything else — another status or
    casing, a missing, repeated or foreign result, a malformed answer — returns None, and the
    caller's per-result path decides, as it would without this shortcut.
    """
    if type(results) is not list or len(results) != len(ids):
        return None
    try:
        if list(map(_STATUS, results)).count("success") != len(ids):
            return None
        got = list(map(_TASK_ID, results))
        if got == ids:
            return results
        by_id = dict(zip(got, results, strict=True))
        if len(by_id) != len(ids):
            return None
        return list(map(by_id.__getitem__, ids))
    except (KeyError, TypeError):  # a result that is not an object, or lacks a field
        return None


def _repeats(entries: list[Entry], by_id: dict[str, Entry]) -> list[Entry]:
    """Rebuild `by_id` with the first entry of each ID; return the later ones, in order."""
    by_id.clear()
    later: list[Entry] = []
    for entry in entries:
        if entry.task_id in by_id:
            later.append(entry)
        else:
            by_id[entry.task_id] = entry
    return later


def _result_key(result: object) -> str | None:
    """A result's taskId lower-cased (as `Entry.key`), or None if it has no string taskId."""
    task_id = result.get("taskId") if type(result) is dict else None
    return task_id.lower() if type(task_id) is str else None


def _pop_repeat(later: list[Entry], result: object) -> Entry | None:
    """Take the first waiting repeat whose ID is the result's (ignoring case)."""
    key = _result_key(result)
    if key is None:
        return None
    for position, entry in enumerate(later):
        if entry.key == key:
            return later.pop(position)
    return None


def _pop_loose(by_id: dict[str, Entry], result: object) -> Entry | None:
    """Find a result's entry when its taskId differs in case from what was sent."""
    key = _result_key(result)
    if key is None:
        return None
    for sent, entry in by_id.items():
        if entry.key == key:
            del by_id[sent]
            return entry
    return None
