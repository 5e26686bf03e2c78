"""Every service example body in tests/samples/ survives model -> wire unchanged.

Documented normalisation: date-times keep microsecond precision, so a 7th fractional digit is
dropped (``...44.7589958Z`` -> ``...44.758995Z``), and the fraction's trailing zeros may differ
(``.04068Z`` vs ``.040680Z``); both sides are compared after that normalisation. Everything
else must be the same JSON value (key order aside).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from batchtasks.models import (
    BatchModel,
    CloudJob,
    CloudTask,
    CloudTaskListResult,
    CloudTaskListSubtasksResult,
    JobAddParameter,
    TaskAddCollectionParameter,
    TaskAddCollectionResult,
    TaskAddParameter,
    TaskCountsResult,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_FILES = sorted(SAMPLES.rglob("*.json"))

REQUEST_MODELS: dict[str, type[BatchModel]] = {
    "task": TaskAddParameter,
    "taskCollection": TaskAddCollectionParameter,
    "job": JobAddParameter,
}
# Response body model per operation (file name up to the first "_").
RESPONSE_MODELS: dict[str, type[BatchModel]] = {
    "TaskAddCollection": TaskAddCollectionResult,
    "TaskList": CloudTaskListResult,
    "TaskListSubtasks": CloudTaskListSubtasksResult,
    "TaskGet": CloudTask,
    "JobGet": CloudJob,
    "JobGetTaskCounts": TaskCountsResult,
}

_DATE_FRACTION = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$")


def _normalise(value: Any) -> Any:
    """Apply the documented normalisation: date-time fractions truncated to 6 digits."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, str):
        m = _DATE_FRACTION.match(value)
        if m:
            fraction = (m.group(2) or "")[:6].rstrip("0")
            return m.group(1) + ("." + fraction if fraction else "") + "Z"
    return value


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _request_cases() -> list[Any]:
    cases = []
    for path in SAMPLE_FILES:
        params = _load(path)["parameters"]
        for key, model in REQUEST_MODELS.items():
            if key in params:
                cases.append(pytest.param(model, params[key], id=f"{path.stem}-{key}"))
    return cases


def _response_cases() -> list[Any]:
    cases = []
    for path in SAMPLE_FILES:
        for status, response in _load(path)["responses"].items():
            if "body" in response:
                model = RESPONSE_MODELS[path.stem.split("_")[0]]
                cases.append(pytest.param(model, response["body"], id=f"{path.stem}-{status}"))
    return cases


def test_samples_found() -> None:
    assert len(_request_cases()) >= 7
    assert len(_response_cases()) >= 6


@pytest.mark.parametrize(("model", "body"), _request_cases())
def test_request_sample_round_trips(model: type[BatchModel], body: dict[str, Any]) -> None:
    parsed = model.from_wire(body)
    assert parsed.to_wire() == body
    assert json.loads(parsed.to_json_bytes()) == body
    # and through the bytes path, as a server would receive it
    assert model.from_wire(json.dumps(body).encode()).to_wire() == body


@pytest.mark.parametrize(("model", "body"), _response_cases())
def test_response_sample_round_trips(model: type[BatchModel], body: dict[str, Any]) -> None:
    parsed = model.from_wire(json.dumps(body).encode())
    assert _normalise(parsed.to_wire()) == _normalise(body)
    assert _normalise(json.loads(parsed.to_json_bytes())) == _normalise(body)
    assert not _unknown_keys(parsed), "every key of the sample should be a declared field"


def _unknown_keys(model: BatchModel) -> list[str]:
    """Extra (undeclared) keys anywhere in the model tree: a sign of a wrong alias."""
    found = list((model.model_extra or {}).keys())
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, BatchModel):
                found += _unknown_keys(item)
    return found


def test_normalisation_only_touches_date_fractions() -> None:
    assert _normalise("2016-09-06T07:02:44.7589958Z") == "2016-09-06T07:02:44.758995Z"
    assert _normalise("2016-09-06T07:02:44.1000000Z") == "2016-09-06T07:02:44.1Z"
    assert _normalise("P10675199DT2H48M5.4775807S") == "P10675199DT2H48M5.4775807S"
    assert _normalise({"a": ["x"]}) == {"a": ["x"]}
