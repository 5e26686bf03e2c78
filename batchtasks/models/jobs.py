"""Job models (fact sheet section 4.20): the ``job add`` body and the ``CloudJob`` the service
returns. Only what the task API needs is modelled in detail; the job manager / preparation /
release tasks, auto-pool specification, network configuration and statistics are kept as plain
JSON objects (``dict[str, Any]``) and passed through unchanged. No I/O here.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, ValidationInfo, field_validator

from batchtasks.models._base import BatchModel, Duration, Tolerant, UtcDateTime
from batchtasks.models.enums import ErrorCategory, JobState, OnAllTasksComplete, OnTaskFailure
from batchtasks.models.task_results import NameValuePair
from batchtasks.models.task_settings import EnvironmentSetting
from batchtasks.models.tasks import MAX_DISPLAY_NAME_LENGTH, check_id

__all__ = [
    "CloudJob",
    "CloudJobListResult",
    "JobAddParameter",
    "JobConstraints",
    "JobExecutionInformation",
    "JobSchedulingError",
    "MetadataItem",
    "PoolInformation",
]


def _check_job_id(value: str) -> str:
    return check_id(value, "job")


class JobConstraints(BatchModel):
    """Execution limits of a job."""

    max_wall_clock_time: Duration | None = None
    max_task_retry_count: int | None = None


class PoolInformation(BatchModel):
    """The pool a job runs on: an existing ``pool_id`` or an ``auto_pool_specification``."""

    pool_id: str | None = None
    auto_pool_specification: dict[str, Any] | None = None


class MetadataItem(BatchModel):
    """A name/value pair attached to a job."""

    name: str
    value: str


class JobSchedulingError(BatchModel):
    """Why the service could not schedule a job."""

    category: Tolerant[ErrorCategory] | None = None
    code: str | None = None
    message: str | None = None
    details: list[NameValuePair] | None = None


class JobExecutionInformation(BatchModel):
    """Execution state of a job."""

    start_time: UtcDateTime | None = None
    end_time: UtcDateTime | None = None
    pool_id: str | None = None
    scheduling_error: JobSchedulingError | None = None
    terminate_reason: str | None = None


class JobAddParameter(BatchModel):
    """A job to add (body of ``job add``).

    Validated before sending: ``id`` syntax, ``displayName`` length, ``priority`` in -1000..1000,
    ``maxParallelTasks`` -1 or positive, and ``poolInfo`` naming exactly one of ``poolId`` /
    ``autoPoolSpecification``.
    """

    model_config = ConfigDict(validate_assignment=True)

    id: Annotated[str, AfterValidator(_check_job_id)]
    display_name: Annotated[str, Field(max_length=MAX_DISPLAY_NAME_LENGTH)] | None = None
    priority: Annotated[int, Field(ge=-1000, le=1000)] | None = None
    max_parallel_tasks: int | None = None
    allow_task_preemption: bool | None = None
    constraints: JobConstraints | None = None
    job_manager_task: dict[str, Any] | None = None
    job_preparation_task: dict[str, Any] | None = None
    job_release_task: dict[str, Any] | None = None
    common_environment_settings: list[EnvironmentSetting] | None = None
    pool_info: PoolInformation
    on_all_tasks_complete: Tolerant[OnAllTasksComplete] | None = None
    on_task_failure: Tolerant[OnTaskFailure] | None = None
    metadata: list[MetadataItem] | None = None
    uses_task_dependencies: bool | None = None
    network_configuration: dict[str, Any] | None = None

    @field_validator("max_parallel_tasks")
    @classmethod
    def _valid_max_parallel(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and value != -1 and value < 1:
            raise ValueError(
                f"job {info.data.get('id')!r}: maxParallelTasks must be -1 (unlimited) or > 0"
            )
        return value

    @field_validator("pool_info")
    @classmethod
    def _valid_pool_info(cls, value: PoolInformation, info: ValidationInfo) -> PoolInformation:
        if (value.pool_id is None) == (value.auto_pool_specification is None):
            raise ValueError(
                f"job {info.data.get('id')!r}: poolInfo must set exactly one of poolId and "
                "autoPoolSpecification"
            )
        return value


class CloudJob(BatchModel):
    """A job as the service returns it (``job get``). Every key is optional."""

    id: str | None = None
    display_name: str | None = None
    uses_task_dependencies: bool | None = None
    url: str | None = None
    e_tag: str | None = None
    last_modified: UtcDateTime | None = None
    creation_time: UtcDateTime | None = None
    state: Tolerant[JobState] | None = None
    state_transition_time: UtcDateTime | None = None
    previous_state: Tolerant[JobState] | None = None
    previous_state_transition_time: UtcDateTime | None = None
    priority: int | None = None
    allow_task_preemption: bool | None = None
    max_parallel_tasks: int | None = None
    constraints: JobConstraints | None = None
    job_manager_task: dict[str, Any] | None = None
    job_preparation_task: dict[str, Any] | None = None
    job_release_task: dict[str, Any] | None = None
    common_environment_settings: list[EnvironmentSetting] | None = None
    pool_info: PoolInformation | None = None
    on_all_tasks_complete: Tolerant[OnAllTasksComplete] | None = None
    on_task_failure: Tolerant[OnTaskFailure] | None = None
    network_configuration: dict[str, Any] | None = None
    metadata: list[MetadataItem] | None = None
    execution_info: JobExecutionInformation | None = None
    stats: dict[str, Any] | None = None


class CloudJobListResult(BatchModel):
    """One page of a job list; ``odata_next_link`` (``odata.nextLink``) is set if more exist."""

    value: list[CloudJob] | None = None
    odata_next_link: str | None = Field(default=None, alias="odata.nextLink")
