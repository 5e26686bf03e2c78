"""Property values the service reads as .NET types: Int32 (numbers, or numeric strings as the
Azure CLI sends them), TimeSpan durations, exit codes, and DateTimeOffset literals in $filter.
Out-of-range values get the service's 400, never a 201 or a 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batchtasks.emulator.values import INT32_MAX, INT32_MIN, int32

from ._signing_helper import RawClient

BIG = 10**400


async def _add(raw: RawClient, **extra: Any) -> tuple[int, str | None]:
    reply = await raw.add_task("j", {"id": "t", "commandLine": "x", **extra})
    return reply.status, reply.code


async def test_numeric_strings_are_read_as_integers(raw: RawClient) -> None:
    await raw.create_job("j", priority="10", constraints={"maxTaskRetryCount": "1"})
    job = (await raw.send("GET", "/jobs/j")).json()
    assert (job["priority"], job["constraints"]["maxTaskRetryCount"]) == (10, 1)
    assert await _add(raw, constraints={"maxTaskRetryCount": " 2 "}, requiredSlots="+1") == (
        201,
        None,
    )
    task = (await raw.get_task("j", "t")).json()
    assert (task["constraints"]["maxTaskRetryCount"], task["requiredSlots"]) == (2, 1)
    reset = await raw.send(
        "PUT", "/jobs/j/tasks/t", body={"constraints": {"maxTaskRetryCount": "5"}}
    )
    assert reset.status == 200
    assert (await raw.get_task("j", "t")).json()["constraints"]["maxTaskRetryCount"] == 5


@pytest.mark.parametrize(
    "extra",
    [
        {"requiredSlots": BIG},
        {"requiredSlots": 2**31},
        {"requiredSlots": "2.0"},
        {"requiredSlots": "one"},
        {"requiredSlots": True},
        {"requiredSlots": 1.5},
        {"constraints": {"maxTaskRetryCount": "9" * 400}},
        {"constraints": {"maxTaskRetryCount": -2}},
        {"constraints": {"maxWallClockTime": "PT" + "9" * 400 + "S"}},
        {"constraints": {"retentionTime": "P10675200D"}},
        {"exitConditions": {"exitCodes": [{"code": 2**32, "exitOptions": {}}]}},
        {"exitConditions": {"exitCodes": [{"code": -(2**31) - 1, "exitOptions": {}}]}},
        {"exitConditions": {"exitCodeRanges": [{"start": 0, "end": BIG, "exitOptions": {}}]}},
        {"exitConditions": {"exitCodeRanges": [{"start": 5, "end": 1, "exitOptions": {}}]}},
        {"exitConditions": {"exitCodes": [{"exitOptions": {}}]}},
        {"exitConditions": {"default": {"dependencyAction": "maybe"}}},
        {"multiInstanceSettings": {"numberOfInstances": BIG, "coordinationCommandLine": "c"}},
    ],
)
async def test_out_of_range_values_are_400(raw: RawClient, extra: dict[str, Any]) -> None:
    await raw.create_job("j")
    status, code = await _add(raw, **extra)
    assert status == 400
    assert code in ("InvalidPropertyValue", "MissingRequiredProperty")


async def test_exit_codes_at_the_int32_limits(raw: RawClient) -> None:
    await raw.create_job("j")
    conditions = {
        "exitCodes": [{"code": "-2147483648", "exitOptions": {"dependencyAction": "block"}}],
        "exitCodeRanges": [{"start": 0, "end": INT32_MAX, "exitOptions": {}}],
    }
    assert await _add(raw, exitConditions=conditions) == (201, None)
    stored = (await raw.get_task("j", "t")).json()["exitConditions"]
    assert stored["exitCodes"][0]["code"] == INT32_MIN
    assert stored["exitCodeRanges"][0]["end"] == INT32_MAX


async def test_the_longest_duration_is_timespan_max(raw: RawClient) -> None:
    await raw.create_job("j")
    longest = {"maxWallClockTime": "P10675199DT2H48M5.4775807S"}
    assert await _add(raw, constraints=longest) == (201, None)


@pytest.mark.parametrize("offset", ["+99:99", "+14:01", "-15:00", "+00:60"])
async def test_filter_datetime_offsets_out_of_range(raw: RawClient, offset: str) -> None:
    await raw.create_job("j")
    query = {"$filter": f"creationTime gt datetime'2024-01-01T00:00:00{offset}'"}
    reply = await raw.send("GET", "/jobs/j/tasks", query=query)
    assert (reply.status, reply.code) == (400, "InvalidQueryParameterValue")
    query = {"$filter": "creationTime gt datetime'2024-01-01T00:00:00-14:00'"}
    assert (await raw.send("GET", "/jobs/j/tasks", query=query)).status == 200


@given(st.integers())
def test_int32_reads_numbers_and_their_text_alike(value: int) -> None:
    expected = value if INT32_MIN <= value <= INT32_MAX else None
    assert int32(value) == expected
    assert int32(str(value)) == expected
    assert int32(f" +{value}" if value >= 0 else f"{value} ") == expected


@given(st.text(max_size=20))
def test_int32_never_accepts_other_text(text: str) -> None:
    stripped = text.strip(" \t\r\n")
    digits = stripped[1:] if stripped[:1] in "+-" else stripped
    if digits.isascii() and digits.isdigit():
        return
    assert int32(text) is None
