"""The list queries a watch sends, as data, and their OData ``$filter`` text.

A `TaskQuery` says which tasks a poll asks for: some states, optionally only those whose
``stateTransitionTime`` is at or after a time, optionally only some ids, optionally ANDed with
the caller's own filter. Only properties and operators the Batch docs list for "List tasks"
filters are used: ``state eq``, ``stateTransitionTime ge``, ``id eq``, joined by ``and``/``or``
("OData filters in Batch"; fact sheet section 2.2). Must not do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from batchtasks.models import TaskState

__all__ = [
    "REQUIRED_SELECT",
    "TaskQuery",
    "merge_select",
    "reached_states",
    "unreached_states",
]

_ORDER = (TaskState.ACTIVE, TaskState.PREPARING, TaskState.RUNNING, TaskState.COMPLETED)

#: Properties every watch poll needs, whatever the caller selects.
REQUIRED_SELECT = ("id", "state", "stateTransitionTime")


def reached_states(until: TaskState) -> tuple[TaskState, ...]:
    """States at or past `until` in the order active → preparing → running → completed."""
    return _ORDER[_ORDER.index(TaskState(until)) :]


def unreached_states(until: TaskState) -> tuple[TaskState, ...]:
    """States before `until`."""
    return _ORDER[: _ORDER.index(TaskState(until))]


def merge_select(select: str) -> str:
    """`select` with the properties a watch needs added (order kept, no duplicates)."""
    names = [n.strip() for n in select.split(",") if n.strip()]
    for name in REQUIRED_SELECT:
        if name not in names:
            names.append(name)
    return ",".join(names)


def odata_datetime(value: datetime) -> str:
    """A ``datetime'...'`` literal in UTC with microseconds (the service keeps 7 digits; ours
    are truncated, so a ``ge`` comparison with a value read back never excludes that task)."""
    utc = value.astimezone(timezone.utc)
    return f"datetime'{utc.strftime('%Y-%m-%dT%H:%M:%S.%f')}Z'"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class TaskQuery:
    """One list query of a watch (see the module docstring).

    Attributes:
        states: tasks in any of these states.
        since: only tasks whose ``stateTransitionTime`` is at or after this time.
        ids: only these task ids (empty: any id).
        user_filter: the caller's own ``$filter``, ANDed (in parentheses).
    """

    states: tuple[TaskState, ...]
    since: datetime | None = None
    ids: tuple[str, ...] = ()
    user_filter: str | None = None

    def to_odata(self) -> str:
        """The ``$filter`` text."""
        clauses = [_any_of([f"state eq '{s.value}'" for s in self.states])]
        if self.since is not None:
            clauses.append(f"stateTransitionTime ge {odata_datetime(self.since)}")
        if self.ids:
            clauses.append(_any_of([f"id eq {_quote(i)}" for i in self.ids]))
        if self.user_filter:
            clauses.append(f"({self.user_filter})")
        return " and ".join(clauses)


def _any_of(alternatives: list[str]) -> str:
    return alternatives[0] if len(alternatives) == 1 else "(" + " or ".join(alternatives) + ")"
