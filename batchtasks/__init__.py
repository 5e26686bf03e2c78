"""batchtasks: an asyncio-native client for the Azure Batch Task REST API, with a local emulator.

The public API is exactly what `__all__` lists; everything under `batchtasks._private` may change.
"""

from __future__ import annotations

from batchtasks.models import (
    BatchError,
    CloudJob,
    CloudTask,
    JobAddParameter,
    PoolInformation,
    TaskAddCollectionResult,
    TaskAddParameter,
    TaskAddResult,
    TaskAddStatus,
    TaskConstraints,
    TaskState,
    TaskUpdateParameter,
)

__version__ = "0.1.0"

__all__ = [
    "BatchError",
    "CloudJob",
    "CloudTask",
    "JobAddParameter",
    "PoolInformation",
    "TaskAddCollectionResult",
    "TaskAddParameter",
    "TaskAddResult",
    "TaskAddStatus",
    "TaskConstraints",
    "TaskState",
    "TaskUpdateParameter",
    "__version__",
]
