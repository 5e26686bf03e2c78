"""batchtasks: an asyncio-native client for the Azure Batch Task REST API, with a local emulator.

The public API is exactly what `__all__` lists; everything under `batchtasks._private` may change.
"""

from __future__ import annotations

from batchtasks._private.credentials import AsyncTokenCredential, SharedKeyCredential
from batchtasks._private.errors import (
    AddCollectionError,
    AlreadyExistsError,
    AuthenticationError,
    BadRequestError,
    BatchConnectionError,
    BatchServiceError,
    BatchTasksError,
    BatchTimeoutError,
    ConditionNotMetError,
    ConflictError,
    NotFoundError,
    RequestBodyTooLargeError,
    ServerError,
    TaskValidationError,
    ThrottledError,
)
from batchtasks._private.retry import RetryPolicy
from batchtasks._private.transport import Timeout
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
    "AddCollectionError",
    "AlreadyExistsError",
    "AsyncTokenCredential",
    "AuthenticationError",
    "BadRequestError",
    "BatchConnectionError",
    "BatchError",
    "BatchServiceError",
    "BatchTasksError",
    "BatchTimeoutError",
    "CloudJob",
    "CloudTask",
    "ConditionNotMetError",
    "ConflictError",
    "JobAddParameter",
    "NotFoundError",
    "PoolInformation",
    "RequestBodyTooLargeError",
    "RetryPolicy",
    "ServerError",
    "SharedKeyCredential",
    "TaskAddCollectionResult",
    "TaskAddParameter",
    "TaskAddResult",
    "TaskAddStatus",
    "TaskConstraints",
    "TaskState",
    "TaskUpdateParameter",
    "TaskValidationError",
    "ThrottledError",
    "Timeout",
    "__version__",
]
