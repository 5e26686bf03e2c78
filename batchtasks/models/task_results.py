"""What the service returns about tasks: `CloudTask`, subtasks, list and add results.

Lenient: parse whatever the service sends (unknown fields and enum values are kept). The
request side (what the client sends, with its checks) is tasks.py. No I/O here.
"""

from __future__ import annotations

from pydantic import Field

from batchtasks.models._base import BatchModel, Duration, Tolerant, UtcDateTime
from batchtasks.models.enums import (
    ErrorCategory,
    SubtaskState,
    TaskAddStatus,
    TaskExecutionResult,
    TaskState,
)
from batchtasks.models.errors import BatchError
from batchtasks.models.task_settings import (
    AffinityInformation,
    ApplicationPackageReference,
    AuthenticationTokenSettings,
    EnvironmentSetting,
    ExitConditions,
    MultiInstanceSettings,
    OutputFile,
    ResourceFile,
    TaskConstraints,
    TaskContainerSettings,
    TaskDependencies,
    UserIdentity,
)

__all__ = [
    "CloudTask",
    "CloudTaskListResult",
    "CloudTaskListSubtasksResult",
    "ComputeNodeInformation",
    "NameValuePair",
    "SubtaskInformation",
    "TaskAddCollectionResult",
    "TaskAddResult",
    "TaskContainerExecutionInformation",
    "TaskExecutionInformation",
    "TaskFailureInformation",
    "TaskStatistics",
]


class TaskAddResult(BatchModel):
    """Per-task result of ``add_collection``."""

    status: Tolerant[TaskAddStatus]
    task_id: str
    e_tag: str | None = None
    last_modified: UtcDateTime | None = None
    location: str | None = None
    error: BatchError | None = None


class TaskAddCollectionResult(BatchModel):
    """Result of ``add_collection``: one entry per submitted task, in any order."""

    value: list[TaskAddResult] | None = None


class NameValuePair(BatchModel):
    """A name/value pair (failure details)."""

    name: str | None = None
    value: str | None = None


class TaskContainerExecutionInformation(BatchModel):
    """The container a task ran in."""

    container_id: str | None = None
    state: str | None = None
    error: str | None = None


class TaskFailureInformation(BatchModel):
    """Why a task failed."""

    category: Tolerant[ErrorCategory] | None = None
    code: str | None = None
    message: str | None = None
    details: list[NameValuePair] | None = None


class TaskExecutionInformation(BatchModel):
    """Execution state of a task."""

    start_time: UtcDateTime | None = None
    end_time: UtcDateTime | None = None
    exit_code: int | None = None
    container_info: TaskContainerExecutionInformation | None = None
    failure_info: TaskFailureInformation | None = None
    retry_count: int | None = None
    last_retry_time: UtcDateTime | None = None
    requeue_count: int | None = None
    last_requeue_time: UtcDateTime | None = None
    result: Tolerant[TaskExecutionResult] | None = None


class ComputeNodeInformation(BatchModel):
    """The node a task ran on."""

    affinity_id: str | None = None
    node_url: str | None = None
    pool_id: str | None = None
    node_id: str | None = None
    task_root_directory: str | None = None
    task_root_directory_url: str | None = None


class TaskStatistics(BatchModel):
    """Resource usage of a task. ``readIOps``/``writeIOps`` arrive as JSON strings (int64)."""

    url: str | None = None
    start_time: UtcDateTime | None = None
    last_update_time: UtcDateTime | None = None
    user_cpu_time: Duration | None = Field(default=None, alias="userCPUTime")
    kernel_cpu_time: Duration | None = Field(default=None, alias="kernelCPUTime")
    wall_clock_time: Duration | None = None
    read_iops: int | None = Field(default=None, alias="readIOps")
    write_iops: int | None = Field(default=None, alias="writeIOps")
    read_io_gib: float | None = Field(default=None, alias="readIOGiB")
    write_io_gib: float | None = Field(default=None, alias="writeIOGiB")
    wait_time: Duration | None = None


class CloudTask(BatchModel):
    """A task as the service returns it (``get`` / ``list``). Every key is optional."""

    id: str | None = None
    display_name: str | None = None
    url: str | None = None
    e_tag: str | None = None
    last_modified: UtcDateTime | None = None
    creation_time: UtcDateTime | None = None
    exit_conditions: ExitConditions | None = None
    state: Tolerant[TaskState] | None = None
    state_transition_time: UtcDateTime | None = None
    previous_state: Tolerant[TaskState] | None = None
    previous_state_transition_time: UtcDateTime | None = None
    command_line: str | None = None
    container_settings: TaskContainerSettings | None = None
    resource_files: list[ResourceFile] | None = None
    output_files: list[OutputFile] | None = None
    environment_settings: list[EnvironmentSetting] | None = None
    affinity_info: AffinityInformation | None = None
    constraints: TaskConstraints | None = None
    required_slots: int | None = None
    user_identity: UserIdentity | None = None
    execution_info: TaskExecutionInformation | None = None
    node_info: ComputeNodeInformation | None = None
    multi_instance_settings: MultiInstanceSettings | None = None
    stats: TaskStatistics | None = None
    depends_on: TaskDependencies | None = None
    application_package_references: list[ApplicationPackageReference] | None = None
    authentication_token_settings: AuthenticationTokenSettings | None = None


class CloudTaskListResult(BatchModel):
    """One page of ``list``; ``odata_next_link`` (``odata.nextLink``) is set if more pages exist."""

    value: list[CloudTask] | None = None
    odata_next_link: str | None = Field(default=None, alias="odata.nextLink")


class SubtaskInformation(BatchModel):
    """One subtask of a multi-instance task."""

    id: int | None = None
    node_info: ComputeNodeInformation | None = None
    start_time: UtcDateTime | None = None
    end_time: UtcDateTime | None = None
    exit_code: int | None = None
    container_info: TaskContainerExecutionInformation | None = None
    failure_info: TaskFailureInformation | None = None
    state: Tolerant[SubtaskState] | None = None
    state_transition_time: UtcDateTime | None = None
    previous_state: Tolerant[SubtaskState] | None = None
    previous_state_transition_time: UtcDateTime | None = None
    result: Tolerant[TaskExecutionResult] | None = None


class CloudTaskListSubtasksResult(BatchModel):
    """Result of ``list_subtasks`` (not paged)."""

    value: list[SubtaskInformation] | None = None
