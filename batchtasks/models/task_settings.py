"""Nested task settings (fact sheet sections 4.2-4.14), shared by request and response models.

Because the service returns them inside `CloudTask`, they stay lenient: they must not reject
anything the service may send. The checks the client makes before sending live on the request
models (tasks.py), as validators of the fields that are present. No I/O here.
"""

from __future__ import annotations

from pydantic import Field

from batchtasks.models._base import BatchModel, Duration, Tolerant
from batchtasks.models.enums import (
    AccessScope,
    AutoUserScope,
    ContainerWorkingDirectory,
    DependencyAction,
    ElevationLevel,
    JobAction,
    OutputFileUploadCondition,
)

__all__ = [
    "AffinityInformation",
    "ApplicationPackageReference",
    "AuthenticationTokenSettings",
    "AutoUserSpecification",
    "ComputeNodeIdentityReference",
    "ContainerRegistry",
    "EnvironmentSetting",
    "ExitCodeMapping",
    "ExitCodeRangeMapping",
    "ExitConditions",
    "ExitOptions",
    "HttpHeader",
    "MultiInstanceSettings",
    "OutputFile",
    "OutputFileBlobContainerDestination",
    "OutputFileDestination",
    "OutputFileUploadOptions",
    "ResourceFile",
    "TaskConstraints",
    "TaskContainerSettings",
    "TaskDependencies",
    "TaskIdRange",
    "UserIdentity",
]


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
