"""The service's enums (fact sheet section 4.15), as ``str`` enums carrying the exact wire values.

Lookup ignores case (the 2017 service spelled ``Success`` / ``ClientError``); model fields typed
``Tolerant[...]`` also keep values not listed here. This module must not contain models.
"""

from __future__ import annotations

from batchtasks.models._base import CaseInsensitiveEnum

__all__ = [
    "AccessScope",
    "AutoUserScope",
    "ContainerWorkingDirectory",
    "DependencyAction",
    "ElevationLevel",
    "ErrorCategory",
    "JobAction",
    "JobState",
    "OnAllTasksComplete",
    "OnTaskFailure",
    "OutputFileUploadCondition",
    "PoolLifetimeOption",
    "SubtaskState",
    "TaskAddStatus",
    "TaskExecutionResult",
    "TaskState",
]


class TaskState(CaseInsensitiveEnum):
    """State of a task."""

    ACTIVE = "active"
    PREPARING = "preparing"
    RUNNING = "running"
    COMPLETED = "completed"


class SubtaskState(CaseInsensitiveEnum):
    """State of a multi-instance subtask."""

    PREPARING = "preparing"
    RUNNING = "running"
    COMPLETED = "completed"


class TaskExecutionResult(CaseInsensitiveEnum):
    """Outcome of a task's execution."""

    SUCCESS = "success"
    FAILURE = "failure"


class ErrorCategory(CaseInsensitiveEnum):
    """Who caused a task or scheduling failure."""

    USER_ERROR = "usererror"
    SERVER_ERROR = "servererror"


class TaskAddStatus(CaseInsensitiveEnum):
    """Per-task outcome of add_collection."""

    SUCCESS = "success"
    CLIENT_ERROR = "clienterror"
    SERVER_ERROR = "servererror"


class JobAction(CaseInsensitiveEnum):
    """What to do with the job when a task exits a certain way."""

    NONE = "none"
    DISABLE = "disable"
    TERMINATE = "terminate"


class DependencyAction(CaseInsensitiveEnum):
    """Whether dependent tasks may run after a task exits a certain way."""

    SATISFY = "satisfy"
    BLOCK = "block"


class OutputFileUploadCondition(CaseInsensitiveEnum):
    """When output files are uploaded."""

    TASK_SUCCESS = "tasksuccess"
    TASK_FAILURE = "taskfailure"
    TASK_COMPLETION = "taskcompletion"


class AutoUserScope(CaseInsensitiveEnum):
    """Scope of an auto user."""

    TASK = "task"
    POOL = "pool"


class ElevationLevel(CaseInsensitiveEnum):
    """Elevation of a user identity."""

    NON_ADMIN = "nonadmin"
    ADMIN = "admin"


class AccessScope(CaseInsensitiveEnum):
    """Batch resources an authentication token grants access to."""

    JOB = "job"


class ContainerWorkingDirectory(CaseInsensitiveEnum):
    """Working directory of a container task (camelCase on the wire)."""

    TASK_WORKING_DIRECTORY = "taskWorkingDirectory"
    CONTAINER_IMAGE_DEFAULT = "containerImageDefault"


class JobState(CaseInsensitiveEnum):
    """State of a job."""

    ACTIVE = "active"
    DISABLING = "disabling"
    DISABLED = "disabled"
    ENABLING = "enabling"
    TERMINATING = "terminating"
    COMPLETED = "completed"
    DELETING = "deleting"


class OnAllTasksComplete(CaseInsensitiveEnum):
    """What the service does when all of a job's tasks are complete."""

    NO_ACTION = "noaction"
    TERMINATE_JOB = "terminatejob"


class OnTaskFailure(CaseInsensitiveEnum):
    """What the service does when a task of the job fails."""

    NO_ACTION = "noaction"
    PERFORM_EXIT_OPTIONS_JOB_ACTION = "performexitoptionsjobaction"


class PoolLifetimeOption(CaseInsensitiveEnum):
    """Lifetime of an auto pool."""

    JOB_SCHEDULE = "jobschedule"
    JOB = "job"
