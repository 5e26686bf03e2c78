"""The per-value duration cache used when serializing gives exactly `format_duration`'s text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batchtasks.models import TaskAddParameter, _base
from batchtasks.models._base import INFINITE_DURATION, INFINITE_DURATION_WIRE, format_duration


@settings(max_examples=200, deadline=None)
@given(st.timedeltas())
def test_cached_equals_format_duration_cold_and_warm(value: timedelta) -> None:
    _base._DURATION_CACHE.clear()
    assert _base._format_duration_cached(value) == format_duration(value)  # miss
    assert _base._format_duration_cached(value) == format_duration(value)  # hit
    assert value in _base._DURATION_CACHE


def test_cache_is_bounded_and_stays_correct() -> None:
    values = [timedelta(seconds=n) for n in range(3 * _base._DURATION_CACHE_SIZE)]
    for value in values:
        assert _base._format_duration_cached(value) == format_duration(value)
        assert len(_base._DURATION_CACHE) <= _base._DURATION_CACHE_SIZE
    assert _base._format_duration_cached(values[0]) == "P0D"


def test_models_serialize_durations_through_the_cache() -> None:
    task = TaskAddParameter.model_validate(
        {
            "id": "t",
            "commandLine": "c",
            "constraints": {
                "maxWallClockTime": "PT1H30M",
                "retentionTime": "P10675199DT2H48M5.4775807S",
            },
        }
    )
    assert task.constraints is not None
    assert task.constraints.retention_time == INFINITE_DURATION
    for _ in range(2):
        assert (
            b'"constraints":{"maxWallClockTime":"PT1H30M","retentionTime":"'
            + INFINITE_DURATION_WIRE.encode()
            + b'"}'
        ) in task.to_json_bytes()


def test_not_a_duration_fails_as_before() -> None:
    with pytest.raises(TypeError):
        _base._format_duration_cached("PT1H")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _base._format_duration_cached([1])  # type: ignore[arg-type]
