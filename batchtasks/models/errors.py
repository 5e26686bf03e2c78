"""The service's error body (``BatchError``), as returned on any non-success status and inside
per-task add_collection results.

Parsing only: this module must not decide what is retryable or map statuses to exceptions (that is
``batchtasks._private.errors``).
"""

from __future__ import annotations

from batchtasks.models._base import BatchModel

__all__ = ["BatchError", "BatchErrorDetail", "ErrorMessage"]


class ErrorMessage(BatchModel):
    """Human-readable error text: ``value`` usually ends with ``RequestId:...`` and ``Time:...``."""

    lang: str | None = None
    value: str | None = None


class BatchErrorDetail(BatchModel):
    """One extra key/value detail of an error (e.g. ``MaxLimit`` = ``1048576``)."""

    key: str | None = None
    value: str | None = None


class BatchError(BatchModel):
    """An error response from the Batch service."""

    code: str | None = None
    message: ErrorMessage | None = None
    values: list[BatchErrorDetail] | None = None
