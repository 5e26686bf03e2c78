"""The request body of a single task add, refused client-side when the service would refuse it.

The service answers ``413 RequestBodyTooLarge`` to a body of `DEFAULT_BODY_LIMIT` bytes or more.
The bulk add already fails such a task before sending it; a single `tasks.add` must not be the
one path that sends megabytes only to be refused, so it checks the same limit here.
"""

from __future__ import annotations

from batchtasks._private.constants import DEFAULT_BODY_LIMIT
from batchtasks._private.errors import TaskValidationError
from batchtasks.models import TaskAddParameter

__all__ = ["task_add_body"]


def task_add_body(task: TaskAddParameter) -> bytes:
    """The JSON body for adding `task` alone.

    Raises:
        TaskValidationError: the body is not strictly below the service's body limit.
    """
    body = task.to_json_bytes()
    if len(body) >= DEFAULT_BODY_LIMIT:
        raise TaskValidationError(
            f"the task needs a {len(body):,}-byte request body; the service's body limit is "
            f"{DEFAULT_BODY_LIMIT:,} bytes (bodies must be strictly below it). Large inputs "
            "belong in resourceFiles, not in the command line or environment settings",
            task_id=task.id,
        )
    return body
