"""Task models (fact sheet sections 4.1-4.18): the add/update bodies, their nested settings, and
the task, subtask and add-result shapes the service returns.

Input rules the client can check before sending (id syntax, displayName length, one resource-file
source, ...) live only on the request models (``TaskAddParameter``, ``TaskAddCollectionParameter``)
as validators of the *fields that are present*, so a small task pays for one cheap id check and
nothing else. Nested models are shared with the response side and therefore stay lenient: they must
not reject anything the service may send. No I/O here.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, ValidationInfo, field_validator

from batchtasks.models._base import BatchModel, Duration, Tolerant, UtcDateTime
from batchtasks.models.enums import (
    AccessScope,
    AutoUserScope,
    ContainerWorkingDirectory,
    DependencyAction,
    ElevationLevel,
    ErrorCategory,
    JobAction,
    OutputFileUploadCondition,
    SubtaskState,
    TaskAddStatus,
    TaskExecutionResult,
    TaskState,
)
from batchtasks.models.errors import BatchError

__all__ = [
    "MAX_DEPENDENCY_IDS_CHARS",
    "MAX_DISPLAY_NAME_LENGTH",
    "MAX_ID_LENGTH",
    "AffinityInformation",
    "ApplicationPackageReference",
    "AuthenticationTokenSettings",
    "AutoUserSpecification",
    "CloudTask",
    "CloudTaskListResult",
    "CloudTaskListSubtasksResult",
    "ComputeNodeIdentityReference",
    "ComputeNodeInformation",
    "ContainerRegistry",
    "EnvironmentSetting",
    "ExitCodeMapping",
    "ExitCodeRangeMapping",
    "ExitConditions",
    "ExitOptions",
    "HttpHeader",
    "MultiInstanceSettings",
    "NameValuePair",
    "OutputFile",
    "OutputFileBlobContainerDestination",
    "OutputFileDestination",
    "OutputFileUploadOptions",
    "ResourceFile",
    "SubtaskInformation",
    "TaskAddCollectionParameter",
    "TaskAddCollectionResult",
    "TaskAddParameter",
    "TaskAddResult",
    "TaskConstraints",
    "TaskContainerExecutionInformation",
    "TaskContainerSettings",
    "TaskDependencies",
    "TaskExecutionInformation",
    "TaskFailureInformation",
    "TaskIdRange",
    "TaskStatistics",
    "TaskUpdateParameter",
    "UserIdentity",
    "check_id",
]

MAX_ID_LENGTH = 64
MAX_DISPLAY_NAME_LENGTH = 1024
MAX_DEPENDENCY_IDS_CHARS = 64_000
_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_id(value: str, kind: str = "task") -> str:
    """Check a task or job id against the service's rules (1-64 of ``A-Z a-z 0-9 _ -``).

    Args:
        value: the id.
        kind: ``"task"`` or ``"job"``, used in the message.

    Returns:
        ``value`` unchanged.

    Raises:
        ValueError: the id breaks the rules; the message names the id.
    """
    if _ID_RE.fullmatch(value) is None:
        raise ValueError(
            f"invalid {kind} id {value!r}: must be 1 to {MAX_ID_LENGTH} characters, "
            "only letters, digits, '-' and '_'"
        )
    return value


def _who(info: ValidationInfo) -> str:
    task_id = info.data.get("id")
    return f"task {task_id!r}" if task_id is not None else "task"


def _check_resource_files(files: list[ResourceFile], where: str) -> None:
    for i, rf in enumerate(files):
        sources = sum(
            s is not None
            for s in (rf.auto_storage_container_name, rf.storage_container_url, rf.http_url)
        )
        if sources != 1:
            raise ValueError(
                f"{where}[{i}]: exactly one of autoStorageContainerName, storageContainerUrl "
                f"and httpUrl must be set (found {sources})"
            )
        if rf.http_url is not None and rf.file_path is None:
            raise ValueError(f"{where}[{i}]: filePath is required with httpUrl")
        if rf.http_url is not None and rf.blob_prefix is not None:
            raise ValueError(f"{where}[{i}]: blobPrefix cannot be used with httpUrl")


# --- nested settings (shared by request and response models: lenient) -------------------------


class ComputeNodeIdentityReference(BatchModel):
    """A user-assigned managed identity of the pool, by ARM resource id."""

    resource_id: str | None = None


class TaskConstraints(BatchModel):
    """Execution limits of a task."""

    max_wall_clock_time: Duration | None = None
    retention_time: Duration | None = None
    max_task_retry_count: int | None = None


class ResourceFile(BatchModel):
    """A file to download to the node before the task runs (exactly one source key)."""

    auto_storage_container_name: str | None = None
    storage_container_url: str | None = None
    http_url: str | None = None
    blob_prefix: str | None = None
    file_path: str | None = None
    file_mode: str | None = None
    identity_reference: ComputeNodeIdentityReference | None = None


class HttpHeader(BatchModel):
    """An HTTP header used when uploading output files."""

    name: str
    value: str | None = None


class OutputFileBlobContainerDestination(BatchModel):
    """An Azure Blob Storage container to upload output files to."""

    path: str | None = None
    container_url: str
    identity_reference: ComputeNodeIdentityReference | None = None
    upload_headers: list[HttpHeader] | None = None


class OutputFileDestination(BatchModel):
    """Where output files go."""

    container: OutputFileBlobContainerDestination | None = None


class OutputFileUploadOptions(BatchModel):
    """When output files are uploaded."""

    upload_condition: Tolerant[OutputFileUploadCondition]


class OutputFile(BatchModel):
    """Files to upload from the node after the task ran."""

    file_pattern: str
    destination: OutputFileDestination
    upload_options: OutputFileUploadOptions


class EnvironmentSetting(BatchModel):
    """An environment variable for the task process."""

    name: str
    value: str | None = None


class ExitOptions(BatchModel):
    """What the service does for a given exit condition."""

    job_action: Tolerant[JobAction] | None = None
    dependency_action: Tolerant[DependencyAction] | None = None


class ExitCodeMapping(BatchModel):
    """Exit options for one exit code."""

    code: int
    exit_options: ExitOptions


class ExitCodeRangeMapping(BatchModel):
    """Exit options for an inclusive range of exit codes."""

    start: int
    end: int
    exit_options: ExitOptions


class ExitConditions(BatchModel):
    """How the service reacts when the task completes. ``default`` is the JSON key ``default``."""

    exit_codes: list[ExitCodeMapping] | None = None
    exit_code_ranges: list[ExitCodeRangeMapping] | None = None
    pre_processing_error: ExitOptions | None = None
    file_upload_error: ExitOptions | None = None
    default: ExitOptions | None = None


class AffinityInformation(BatchModel):
    """A soft hint for the node to run on."""

    affinity_id: str


class MultiInstanceSettings(BatchModel):
    """Settings of a multi-instance (MPI) task."""

    number_of_instances: int | None = None
    coordination_command_line: str
    common_resource_files: list[ResourceFile] | None = None


class TaskIdRange(BatchModel):
    """An inclusive range of integer task ids (``"9"`` .. ``"12"``)."""

    start: int
    end: int


class TaskDependencies(BatchModel):
    """Tasks this task depends on."""

    task_ids: list[str] | None = None
    task_id_ranges: list[TaskIdRange] | None = None


class ApplicationPackageReference(BatchModel):
    """An application package to deploy to the node."""

    application_id: str
    version: str | None = None


class AuthenticationTokenSettings(BatchModel):
    """Ask for a Batch authentication token in ``AZ_BATCH_AUTHENTICATION_TOKEN``."""

    access: list[Tolerant[AccessScope]] | None = None


class AutoUserSpecification(BatchModel):
    """The auto user the task runs as."""

    scope: Tolerant[AutoUserScope] | None = None
    elevation_level: Tolerant[ElevationLevel] | None = None


class UserIdentity(BatchModel):
    """The identity the task runs as: a named user (JSON key ``username``) or an auto user."""

    username: str | None = None
    auto_user: AutoUserSpecification | None = None


class ContainerRegistry(BatchModel):
    """A private container registry. ``password`` is kept out of ``repr``."""

    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    registry_server: str | None = None
    identity_reference: ComputeNodeIdentityReference | None = None


class TaskContainerSettings(BatchModel):
    """Container settings of a task."""

    container_run_options: str | None = None
    image_name: str
    registry: ContainerRegistry | None = None
    working_directory: Tolerant[ContainerWorkingDirectory] | None = None


# --- request bodies (client-side validation) ---------------------------------------------------


class TaskAddParameter(BatchModel):
    """A task to add (body of ``add``, item of ``add_collection``).

    Validated before sending: ``id`` syntax, ``displayName`` length, ``requiredSlots`` >= 1,
    exactly one source per resource file (``filePath`` with ``httpUrl``), at most one of
    ``username`` / ``autoUser``, ``maxTaskRetryCount`` >= -1, ``numberOfInstances`` >= 1, and the
    64 000-character budget of ``dependsOn.taskIds``. Violations raise
    ``pydantic.ValidationError`` naming the task id.
    """

    # Assigning an attribute re-validates it, so a task cannot be made invalid after construction
    # (nested models are not re-checked when mutated in place).
    model_config = ConfigDict(validate_assignment=True)

    # The one Python call every task pays (~0.25 us over a pydantic-core pattern), for an error
    # message that names the id.
    id: Annotated[str, AfterValidator(check_id)]
    display_name: Annotated[str, Field(max_length=MAX_DISPLAY_NAME_LENGTH)] | None = None
    command_line: str
    container_settings: TaskContainerSettings | None = None
    exit_conditions: ExitConditions | None = None
    resource_files: list[ResourceFile] | None = None
    output_files: list[OutputFile] | None = None
    environment_settings: list[EnvironmentSetting] | None = None
    affinity_info: AffinityInformation | None = None
    constraints: TaskConstraints | None = None
    required_slots: Annotated[int, Field(ge=1)] | None = None
    user_identity: UserIdentity | None = None
    multi_instance_settings: MultiInstanceSettings | None = None
    depends_on: TaskDependencies | None = None
    application_package_references: list[ApplicationPackageReference] | None = None
    authentication_token_settings: AuthenticationTokenSettings | None = None

    # The validators below run only for fields that are present (defaults are not validated), so
    # the common small task pays for the id check alone.

    @field_validator("resource_files")
    @classmethod
    def _valid_resource_files(
        cls, value: list[ResourceFile] | None, info: ValidationInfo
    ) -> list[ResourceFile] | None:
        if value:
            _check_resource_files(value, f"{_who(info)}: resourceFiles")
        return value

    @field_validator("constraints")
    @classmethod
    def _valid_constraints(
        cls, value: TaskConstraints | None, info: ValidationInfo
    ) -> TaskConstraints | None:
        retries = value.max_task_retry_count if value is not None else None
        if retries is not None and retries < -1:
            raise ValueError(
                f"{_who(info)}: constraints.maxTaskRetryCount must be -1 (unlimited) or more"
            )
        return value

    @field_validator("user_identity")
    @classmethod
    def _valid_user_identity(
        cls, value: UserIdentity | None, info: ValidationInfo
    ) -> UserIdentity | None:
        if value is not None and value.username is not None and value.auto_user is not None:
            raise ValueError(f"{_who(info)}: userIdentity may set username or autoUser, not both")
        return value

    @field_validator("multi_instance_settings")
    @classmethod
    def _valid_multi_instance(
        cls, value: MultiInstanceSettings | None, info: ValidationInfo
    ) -> MultiInstanceSettings | None:
        if value is None:
            return value
        # The spec text says requiredSlots must be 1 for multi-instance tasks, but the service's own
        # examples (TaskAddCollection_Complex, TaskGet) combine it with requiredSlots 2, so that
        # rule is left to the service.
        if value.number_of_instances is not None and value.number_of_instances < 1:
            raise ValueError(f"{_who(info)}: multiInstanceSettings.numberOfInstances must be >= 1")
        if value.common_resource_files:
            _check_resource_files(
                value.common_resource_files,
                f"{_who(info)}: multiInstanceSettings.commonResourceFiles",
            )
        return value

    @field_validator("depends_on")
    @classmethod
    def _valid_depends_on(
        cls, value: TaskDependencies | None, info: ValidationInfo
    ) -> TaskDependencies | None:
        if value is not None and value.task_ids:
            total = sum(len(t) for t in value.task_ids)
            if total > MAX_DEPENDENCY_IDS_CHARS:
                raise ValueError(
                    f"{_who(info)}: dependsOn.taskIds total {total} characters, "
                    f"more than {MAX_DEPENDENCY_IDS_CHARS}"
                )
        return value


class TaskAddCollectionParameter(BatchModel):
    """Body of ``add_collection``: at most 100 tasks (the < 1 MB size is the sender's check)."""

    model_config = ConfigDict(validate_assignment=True)

    value: Annotated[list[TaskAddParameter], Field(max_length=100)]


class TaskUpdateParameter(BatchModel):
    """Body of ``update``. Omitting ``constraints`` resets the task to the default constraints."""

    constraints: TaskConstraints | None = None


# --- responses (lenient: parse whatever the service sends) -------------------------------------


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
