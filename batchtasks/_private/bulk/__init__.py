"""The bulk add_collection engine: packer, scheduler, exactly-once ledger, results.

HTTP-free: it is driven through a `ChunkSender` (one add_collection request per call) and never
imports aiohttp. `TaskOperations.add_collection` / `add_collection_iter` are its only callers.
See docs/bulk.md for the semantics.
"""

from __future__ import annotations

from batchtasks._private.bulk.api import iter_add_collection, run_add_collection
from batchtasks._private.bulk.outcome import BulkProgress, Outcome, TaskAddOutcome
from batchtasks._private.bulk.result import BulkAddResult
from batchtasks._private.bulk.sender import ChunkSender

__all__ = [
    "BulkAddResult",
    "BulkProgress",
    "ChunkSender",
    "Outcome",
    "TaskAddOutcome",
    "iter_add_collection",
    "run_add_collection",
]
