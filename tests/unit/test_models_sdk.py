"""Our models against the official SDK (azure-batch 14.2.0, msrest; test-only dependency).

* every wire key we declare is the key msrest uses for the same model;
* for a broad range of tasks, ``json.loads(to_json_bytes())`` equals what the SDK would send:
  ``msrest.Serializer(models).body(task, "TaskAddParameter")``, as in
  ``azure/batch/operations/_task_operations.py``.

The SDK model is built from our model *by wire key* (our alias -> the SDK attribute holding that
key), so a wrong alias fails the lookup instead of hiding.

Known, deliberate differences (not generated here, tested in test_models_parsing.py):
the "infinite" duration (we send ``TimeSpan.MaxValue`` verbatim, msrest a rounded value that
overflows it), unknown enum strings (msrest refuses to serialise them), byte form (we send
compact UTF-8, msrest ``ensure_ascii`` with spaces: the same JSON value).
"""

from __future__ import annotations

import json
from datetime import timedelta
from enum import Enum
from typing import Any

import azure.batch.models as sdk_models
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msrest import Serializer

import batchtasks.models as ours
from batchtasks.models import (
    AccessScope,
    AffinityInformation,
    ApplicationPackageReference,
    AuthenticationTokenSettings,
    AutoUserScope,
    AutoUserSpecification,
    BatchModel,
    ComputeNodeIdentityReference,
    ContainerRegistry,
    ContainerWorkingDirectory,
    DependencyAction,
    ElevationLevel,
    EnvironmentSetting,
    ExitCodeMapping,
    ExitCodeRangeMapping,
    ExitConditions,
    ExitOptions,
    HttpHeader,
    JobAction,
    MultiInstanceSettings,
    OutputFile,
    OutputFileBlobContainerDestination,
    OutputFileDestination,
    OutputFileUploadCondition,
    OutputFileUploadOptions,
    ResourceFile,
    TaskAddCollectionParameter,
    TaskAddParameter,
    TaskConstraints,
    TaskContainerSettings,
    TaskDependencies,
    TaskIdRange,
    TaskUpdateParameter,
    UserIdentity,
)

SERIALIZER = Serializer({k: v for k, v in vars(sdk_models).items() if isinstance(v, type)})

# Our models whose SDK namesake has keys we deliberately do not declare (kept as extras instead).
KEY_SUBSET_ALLOWED: dict[str, set[str]] = {}
# Our models with keys their SDK namesake lacks: FileProperties also carries the two values that
# get_properties_from_task reads from headers (ocp-batch-file-isdirectory / -url); in a list they
# are on the NodeFile, as in the SDK.
KEY_SUPERSET_ALLOWED: dict[str, set[str]] = {"FileProperties": {"isDirectory", "url"}}
# Paged results have no model in 14.2.0 (its pager reads them); keys per the spec (fact sheet 4.18).
NO_SDK_TWIN: dict[str, set[str]] = {
    "CloudTaskListResult": {"value", "odata.nextLink"},
    "CloudJobListResult": {"value", "odata.nextLink"},
}


def _our_models() -> list[type[BatchModel]]:
    return [
        obj
        for name in ours.__all__
        if isinstance(obj := getattr(ours, name), type)
        and issubclass(obj, BatchModel)
        and obj is not BatchModel
    ]


def _sdk_keys(name: str) -> dict[str, str]:
    """Wire key -> SDK attribute name."""
    cls = getattr(sdk_models, name)
    return {spec["key"]: attr for attr, spec in cls._attribute_map.items()}


@pytest.mark.parametrize("model", _our_models(), ids=lambda m: m.__name__)
def test_wire_keys_match_the_sdk(model: type[BatchModel]) -> None:
    aliases = {f.alias or name for name, f in model.model_fields.items()}
    if model.__name__ in NO_SDK_TWIN:
        assert not hasattr(sdk_models, model.__name__)
        assert aliases == NO_SDK_TWIN[model.__name__]
        return
    sdk = set(_sdk_keys(model.__name__))
    extra = KEY_SUPERSET_ALLOWED.get(model.__name__, set())
    assert aliases == (sdk - KEY_SUBSET_ALLOWED.get(model.__name__, set())) | extra


@pytest.mark.parametrize("model", _our_models(), ids=lambda m: m.__name__)
def test_required_fields_match_the_sdk(model: type[BatchModel]) -> None:
    """Our request-side required fields are the SDK's; responses may be laxer than the SDK."""
    if model.__name__ in NO_SDK_TWIN:
        assert not any(f.is_required() for f in model.model_fields.values())
        return
    sdk_cls = getattr(sdk_models, model.__name__)
    sdk_required = {
        sdk_cls._attribute_map[attr]["key"]
        for attr, rule in getattr(sdk_cls, "_validation", {}).items()
        if rule.get("required")
    }
    ours_required = {f.alias or n for n, f in model.model_fields.items() if f.is_required()}
    assert ours_required <= sdk_required


def to_sdk(value: Any) -> Any:
    """Build the SDK object equivalent to one of ours, attribute by wire key."""
    if isinstance(value, BatchModel):
        keys = _sdk_keys(type(value).__name__)
        kwargs = {}
        for name, field in type(value).model_fields.items():
            item = getattr(value, name)
            if item is not None:
                kwargs[keys[field.alias or name]] = to_sdk(item)
        return getattr(sdk_models, type(value).__name__)(**kwargs)
    if isinstance(value, list):
        return [to_sdk(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


# --- strategies ----------------------------------------------------------------------------------

# Any Unicode text that can be UTF-8 encoded (lone surrogates cannot be sent by either client).
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
opt_text = st.none() | text
int32 = st.integers(-(2**31), 2**31 - 1)
durations = st.timedeltas(
    min_value=timedelta(days=-30), max_value=timedelta(days=36500)
) | st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(days=7), timedelta(minutes=15)])


def enum_values(enum: type[Enum]) -> st.SearchStrategy[Any]:
    """A member, or its value in some casing (which the model normalises)."""
    members = list(enum)
    return st.sampled_from(members) | st.sampled_from(members).flatmap(
        lambda m: st.sampled_from([m.value, m.value.upper(), m.value.capitalize()])
    )


def built(cls: type[BatchModel], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Like st.builds, but never infers strategies from type hints (only the given fields)."""
    return st.fixed_dictionaries(fields).map(lambda kwargs: cls(**kwargs))


def opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def small_lists(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return opt(st.lists(strategy, max_size=3))


identity_refs = built(ComputeNodeIdentityReference, resource_id=opt_text)


@st.composite
def resource_files(draw: st.DrawFn) -> ResourceFile:
    source = draw(
        st.sampled_from(["auto_storage_container_name", "storage_container_url", "http_url"])
    )
    kwargs: dict[str, Any] = {source: draw(text)}
    if source == "http_url":
        kwargs["file_path"] = draw(text)
    else:
        kwargs["file_path"] = draw(opt_text)
        kwargs["blob_prefix"] = draw(opt_text)
    kwargs["file_mode"] = draw(opt(st.sampled_from(["0770", "0644"])))
    kwargs["identity_reference"] = draw(opt(identity_refs))
    return ResourceFile(**kwargs)


exit_options = built(
    ExitOptions,
    job_action=opt(enum_values(JobAction)),
    dependency_action=opt(enum_values(DependencyAction)),
)
exit_conditions = built(
    ExitConditions,
    exit_codes=small_lists(built(ExitCodeMapping, code=int32, exit_options=exit_options)),
    exit_code_ranges=small_lists(
        built(ExitCodeRangeMapping, start=int32, end=int32, exit_options=exit_options)
    ),
    pre_processing_error=opt(exit_options),
    file_upload_error=opt(exit_options),
    default=opt(exit_options),
)
output_files = built(
    OutputFile,
    file_pattern=text,
    destination=built(
        OutputFileDestination,
        container=opt(
            built(
                OutputFileBlobContainerDestination,
                path=opt_text,
                container_url=text,
                identity_reference=opt(identity_refs),
                upload_headers=small_lists(built(HttpHeader, name=text, value=opt_text)),
            )
        ),
    ),
    upload_options=built(
        OutputFileUploadOptions, upload_condition=enum_values(OutputFileUploadCondition)
    ),
)
container_settings = built(
    TaskContainerSettings,
    container_run_options=opt_text,
    image_name=text,
    registry=opt(
        built(
            ContainerRegistry,
            username=opt_text,
            password=opt_text,
            registry_server=opt_text,
            identity_reference=opt(identity_refs),
        )
    ),
    working_directory=opt(enum_values(ContainerWorkingDirectory)),
)
user_identities = (
    built(UserIdentity, username=text)
    | built(
        UserIdentity,
        auto_user=built(
            AutoUserSpecification,
            scope=opt(enum_values(AutoUserScope)),
            elevation_level=opt(enum_values(ElevationLevel)),
        ),
    )
    | st.just(UserIdentity())
)
constraints = built(
    TaskConstraints,
    max_wall_clock_time=opt(durations),
    retention_time=opt(durations),
    max_task_retry_count=opt(st.integers(-1, 2**31 - 1)),
)
task_ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)

tasks = built(
    TaskAddParameter,
    id=task_ids,
    display_name=opt(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)),
    command_line=text,
    container_settings=opt(container_settings),
    exit_conditions=opt(exit_conditions),
    resource_files=small_lists(resource_files()),
    output_files=small_lists(output_files),
    environment_settings=small_lists(built(EnvironmentSetting, name=text, value=opt_text)),
    affinity_info=opt(built(AffinityInformation, affinity_id=text)),
    constraints=opt(constraints),
    required_slots=opt(st.integers(1, 2**31 - 1)),
    user_identity=opt(user_identities),
    multi_instance_settings=opt(
        built(
            MultiInstanceSettings,
            number_of_instances=opt(st.integers(1, 1000)),
            coordination_command_line=text,
            common_resource_files=small_lists(resource_files()),
        )
    ),
    depends_on=opt(
        built(
            TaskDependencies,
            task_ids=small_lists(task_ids),
            task_id_ranges=small_lists(built(TaskIdRange, start=int32, end=int32)),
        )
    ),
    application_package_references=small_lists(
        built(ApplicationPackageReference, application_id=text, version=opt_text)
    ),
    authentication_token_settings=opt(
        built(AuthenticationTokenSettings, access=small_lists(enum_values(AccessScope)))
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tasks)
def test_task_body_equals_sdk_body(task: TaskAddParameter) -> None:
    ours_body = json.loads(task.to_json_bytes())
    sdk_body = SERIALIZER.body(to_sdk(task), "TaskAddParameter")
    assert ours_body == sdk_body
    assert task.to_wire() == sdk_body
    # and what we send parses back to the same task
    assert TaskAddParameter.from_wire(task.to_json_bytes()) == task


@settings(max_examples=25, deadline=None)
@given(st.lists(tasks, max_size=4))
def test_collection_body_equals_sdk_body(value: list[TaskAddParameter]) -> None:
    collection = TaskAddCollectionParameter(value=value)
    sdk_body = SERIALIZER.body(to_sdk(collection), "TaskAddCollectionParameter")
    assert json.loads(collection.to_json_bytes()) == sdk_body


@settings(max_examples=50, deadline=None)
@given(opt(constraints))
def test_update_body_equals_sdk_body(value: TaskConstraints | None) -> None:
    update = TaskUpdateParameter(constraints=value)
    sdk_body = SERIALIZER.body(to_sdk(update), "TaskUpdateParameter")
    assert json.loads(update.to_json_bytes()) == sdk_body


def test_job_body_differs_from_sdk_only_by_max_parallel_tasks_default() -> None:
    job = ours.JobAddParameter(id="job-1", pool_info=ours.PoolInformation(pool_id="pool-1"))
    sdk_job = sdk_models.JobAddParameter(
        id="job-1", pool_info=sdk_models.PoolInformation(pool_id="pool-1")
    )
    sdk_body = SERIALIZER.body(sdk_job, "JobAddParameter")
    # 14.2.0 always sends its default maxParallelTasks=-1 (also the service default); we send
    # only what was set.
    assert sdk_body.pop("maxParallelTasks") == -1
    assert json.loads(job.to_json_bytes()) == sdk_body


@settings(max_examples=50, deadline=None)
@given(tasks)
def test_an_added_task_parses_as_a_cloud_task(task: TaskAddParameter) -> None:
    """CloudTask declares every TaskAddParameter key, so a task read back loses nothing."""
    cloud = ours.CloudTask.from_wire(task.to_json_bytes())
    assert not cloud.model_extra
    assert cloud.to_wire() == task.to_wire()


def test_every_model_and_enum_is_exported() -> None:
    import inspect

    from batchtasks.models import _base, enums, errors, jobs, tasks

    for module in (enums, errors, jobs, tasks):
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                assert not name.startswith("_")
                assert name in ours.__all__, name
                assert name in module.__all__, name
    assert {"BatchModel", "Tolerant", "Duration", "UtcDateTime"} <= set(ours.__all__)
    assert _base.BatchModel is BatchModel
