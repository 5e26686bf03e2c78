"""batchtasks: an asyncio-native client for the Azure Batch Task REST API, with a local emulator.

The public API is exactly what `__all__` lists; everything under `batchtasks._private` may change.
"""

from __future__ import annotations

from batchtasks._private.bulk import BulkAddResult, BulkProgress, Outcome, TaskAddOutcome
from batchtasks._private.client import BatchClient
from batchtasks._private.credentials import AsyncTokenCredential, SharedKeyCredential
from batchtasks._private.download import DownloadError, FileDownload
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
from batchtasks._private.files import FileOperations
from batchtasks._private.jobs import JobOperations
from batchtasks._private.limits import PagingError, ResponseLimits, ResponseTooLargeError
from batchtasks._private.paging import AsyncPager, Page
from batchtasks._private.responses import RawResponse
from batchtasks._private.retry import RetryPolicy
from batchtasks._private.tasks import TaskOperations
from batchtasks._private.transport import Timeout
from batchtasks._private.versions import SUPPORTED_API_VERSIONS
from batchtasks._private.wait_summary import TaskFailure, WaitSummary, WaitTimeoutError
from batchtasks._private.waiting import TaskWatch
from batchtasks.models import (
    BatchError,
    CloudJob,
    CloudTask,
    FileProperties,
    JobAddParameter,
    NodeFile,
    PoolInformation,
    TaskAddCollectionResult,
    TaskAddParameter,
    TaskAddResult,
    TaskAddStatus,
    TaskConstraints,
    TaskCounts,
    TaskCountsResult,
    TaskSlotCounts,
    TaskState,
    TaskUpdateParameter,
)

__version__ = "0.1.0"

__all__ = [
    "SUPPORTED_API_VERSIONS",
    "AddCollectionError",
    "AlreadyExistsError",
    "AsyncPager",
    "AsyncTokenCredential",
    "AuthenticationError",
    "BadRequestError",
    "BatchClient",
    "BatchConnectionError",
    "BatchError",
    "BatchServiceError",
    "BatchTasksError",
    "BatchTimeoutError",
    "BulkAddResult",
    "BulkProgress",
    "CloudJob",
    "CloudTask",
    "ConditionNotMetError",
    "ConflictError",
    "DownloadError",
    "FileDownload",
    "FileOperations",
    "FileProperties",
    "JobAddParameter",
    "JobOperations",
    "NodeFile",
    "NotFoundError",
    "Outcome",
    "Page",
    "PagingError",
    "PoolInformation",
    "RawResponse",
    "RequestBodyTooLargeError",
    "ResponseLimits",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerError",
    "SharedKeyCredential",
    "TaskAddCollectionResult",
    "TaskAddOutcome",
    "TaskAddParameter",
    "TaskAddResult",
    "TaskAddStatus",
    "TaskConstraints",
    "TaskCounts",
    "TaskCountsResult",
    "TaskFailure",
    "TaskOperations",
    "TaskSlotCounts",
    "TaskState",
    "TaskUpdateParameter",
    "TaskValidationError",
    "TaskWatch",
    "ThrottledError",
    "Timeout",
    "WaitSummary",
    "WaitTimeoutError",
    "__version__",
]
