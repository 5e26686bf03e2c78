"""Task request models (fact sheet section 4.1): the add/update bodies and their checks.

Input rules the client can check before sending (id syntax, displayName length, one resource-file
source, ...) live only on these request models (``TaskAddParameter``,
``TaskAddCollectionParameter``) as validators of the *fields that are present*, so a small task
pays for one cheap id check and nothing else. The nested settings they hold are shared with the
response side (task_settings.py) and stay lenient; what the service returns is task_results.py.
No I/O here.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, ValidationInfo, field_validator

from batchtasks.models._base import BatchModel
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
    "MAX_DEPENDENCY_IDS_CHARS",
    "MAX_DISPLAY_NAME_LENGTH",
    "MAX_ID_LENGTH",
    "TaskAddCollectionParameter",
    "TaskAddParameter",
    "TaskUpdateParameter",
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
