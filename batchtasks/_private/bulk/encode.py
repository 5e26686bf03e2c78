"""Validate and serialize one bulk-add input item, exactly once, into an `Entry`.

Inputs are `TaskAddParameter` models (already validated at construction: one `to_json_bytes()`
call) or mappings in the service's JSON shape (one `model_validate` plus one dump). This module
must not pack, send or decide outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from batchtasks._private.bulk.packer import Entry
from batchtasks._private.errors import TaskValidationError
from batchtasks.models import TaskAddParameter

__all__ = ["encode_task", "peek_id"]


def peek_id(item: object) -> str | None:
    """The ID of an input item without validating it (None if it has no string ID)."""
    if isinstance(item, TaskAddParameter):
        return item.id
    if isinstance(item, Mapping):
        value = item.get("id")
        return value if isinstance(value, str) else None
    return None


def encode_task(item: object, index: int) -> Entry:
    """Validate `item` and serialize it to the bytes that will be sent.

    Args:
        item: a `TaskAddParameter` or a mapping in the service's JSON shape (camelCase keys;
            snake_case attribute names are accepted too).
        index: the item's position in the input (named in errors).

    Returns:
        The entry carrying the task's ID and JSON bytes.

    Raises:
        TaskValidationError: the item is not a task or does not validate.
    """
    model: Any = item
    if not isinstance(item, TaskAddParameter):
        if not isinstance(item, Mapping):
            raise TaskValidationError(
                f"expected a TaskAddParameter or a mapping, got {type(item).__name__}",
                index=index,
            )
        try:
            model = TaskAddParameter.model_validate(item)
        except ValidationError as exc:
            raise TaskValidationError.from_validation_error(
                exc, task_id=peek_id(item), index=index
            ) from exc
    task_id: str = model.id
    try:
        data = model.to_json_bytes()
    except (PydanticSerializationError, UnicodeEncodeError) as exc:
        # A lone surrogate passes str validation but has no UTF-8 form: this task alone fails.
        raise TaskValidationError(
            f"cannot be encoded as UTF-8 JSON ({exc})", task_id=task_id, index=index
        ) from exc
    return Entry(task_id, task_id.lower(), data, index)
