"""Bad input on the client side of add_collection: every bad task is named, nothing is lost.

Each case runs a real bulk add against the emulator with good tasks around the bad ones, then
lists the job through the API and checks the accounting: every input task has exactly one
outcome, the tasks reported added are exactly the tasks the service has, and every failure names
its task (ID or input index) in a clear message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from batchtasks import (
    AddCollectionError,
    BatchClient,
    NotFoundError,
    Outcome,
    RetryPolicy,
    SharedKeyCredential,
    TaskAddParameter,
    TaskValidationError,
)
from batchtasks.emulator import Emulator

GOOD = [{"id": f"good-{i}", "commandLine": f"echo {i}"} for i in range(30)]


async def _no_sleep(_: float) -> None:
    return None


@pytest_asyncio.fixture
async def client(batch_emulator: Emulator) -> AsyncIterator[BatchClient]:
    credential = SharedKeyCredential(batch_emulator.account, batch_emulator.key)
    policy = RetryPolicy(max_attempts=3, sleep=_no_sleep)
    async with BatchClient(batch_emulator.url, credential, retry_policy=policy) as c:
        yield c


_job_counter = iter(range(1_000_000))


async def new_job(client: BatchClient) -> str:
    job_id = f"bad-input-{next(_job_counter)}"
    await client.jobs.add({"id": job_id, "poolInfo": {"poolId": "p"}})
    return job_id


async def listed_ids(client: BatchClient, job_id: str) -> list[str]:
    return [t.id async for t in client.tasks.list(job_id, select="id")]  # type: ignore[misc]


def mixed(bad: list[Any]) -> list[Any]:
    """Bad items interleaved with good ones (so the good ones prove the run went on)."""
    out: list[Any] = []
    for i, item in enumerate(bad):
        out += GOOD[i * 2 : i * 2 + 2]
        out.append(item)
    return out + GOOD[len(bad) * 2 :]


async def check_accounting(client: BatchClient, job_id: str, items: list[Any], result: Any) -> None:
    """One outcome per input item, added == listed, failures name their task."""
    outcomes = result.outcomes
    assert [o.index for o in outcomes] == list(range(len(items)))
    added = {o.task_id for o in outcomes if o.ok}
    listed = await listed_ids(client, job_id)
    assert len(listed) == len(set(listed))
    assert set(listed) == added
    for outcome in outcomes:
        if outcome.ok:
            continue
        assert outcome.outcome is Outcome.FAILED
        assert outcome.reason
        item = items[outcome.index]
        raw_id = item.get("id") if isinstance(item, dict) else None
        # The outcome names its task: its ID when it had a string one (else its input index).
        if isinstance(raw_id, str) and raw_id:
            assert outcome.task_id == raw_id
        if outcome.exception is not None:
            text = str(outcome.exception)
            named = f"index {outcome.index}" in text or (
                isinstance(raw_id, str) and repr(raw_id) in text
            )
            assert named, text


BAD_IDS = {
    "empty": "",
    "too-long": "a" * 65,
    "space": "a b",
    "slash": "a/b",
    "dot-dot": "..",
    "accented": "tâche",
    "nul": "a\x00b",
    "rtl-override": "\u202eabc",
    "emoji": "task-\U0001f389",
    "newline": "a\nb",
    "percent": "a%2Fb",
}


async def test_invalid_ids_fail_alone_and_are_named(client: BatchClient) -> None:
    job = await new_job(client)
    bad = [{"id": value, "commandLine": "x"} for value in BAD_IDS.values()]
    items = mixed(bad)
    result = await client.tasks.add_collection(job, items, raise_on_failure=False)
    await check_accounting(client, job, items, result)
    assert {o.task_id or "" for o in result.failed} == set(BAD_IDS.values())
    assert all(o.error_code == "InvalidTaskParameter" for o in result.failed)
    assert len(result.succeeded) == len(GOOD)


WRONG = {
    "no-command-line": {"id": "w1"},
    "no-id": {"commandLine": "x"},
    "id-not-string": {"id": 5, "commandLine": "x"},
    "slots-not-int": {"id": "w2", "commandLine": "x", "requiredSlots": "two"},
    "constraints-not-object": {"id": "w3", "commandLine": "x", "constraints": "x"},
    "env-not-list": {"id": "w4", "commandLine": "x", "environmentSettings": {"a": 1}},
    "command-not-string": {"id": "w5", "commandLine": ["echo", "1"]},
    "unknown-shape": {"id": "w6", "commandLine": "x", "resourceFiles": [None]},
}
NOT_TASKS = ["a string", None, 42, ["id", "x"]]


async def test_missing_fields_wrong_types_and_non_tasks(client: BatchClient) -> None:
    job = await new_job(client)
    items = mixed([*WRONG.values(), *NOT_TASKS])
    result = await client.tasks.add_collection(job, items, raise_on_failure=False)
    await check_accounting(client, job, items, result)
    assert len(result.failed) == len(WRONG) + len(NOT_TASKS)
    assert result.requests >= 1


async def test_oversized_task_fails_before_any_request(
    client: BatchClient, batch_emulator: Emulator
) -> None:
    job = await new_job(client)
    huge = {"id": "huge", "commandLine": "x" * 2_000_000}
    items = mixed([huge])
    before = (await batch_emulator.stats())["faults"]["body_too_large"]
    result = await client.tasks.add_collection(job, items, raise_on_failure=False)
    await check_accounting(client, job, items, result)
    [failed] = result.failed
    assert (failed.task_id, failed.error_code, failed.attempts) == (
        "huge",
        "RequestBodyTooLarge",
        0,
    )
    assert (await batch_emulator.stats())["faults"]["body_too_large"] == before


ODD_BUT_VALID = {
    "emoji": "echo \U0001f389\U0001f680 done",
    "rtl": "echo \u202eevil\u202c \u05e9\u05dc\u05d5\u05dd",
    "nul": "echo a\x00b",
    "zero-width": "echo a\u200bb\ufeff",
    "astral": "echo \U00010348\U0010fffd",
    "combining": "echo e\u0301\u0301\u0301",
}


async def test_odd_unicode_in_fields_round_trips(client: BatchClient) -> None:
    job = await new_job(client)
    items = [
        {"id": f"odd-{name}", "commandLine": text, "displayName": text[:50]}
        for name, text in ODD_BUT_VALID.items()
    ]
    result = await client.tasks.add_collection(job, items)
    await check_accounting(client, job, items, result)
    for item in items:
        task = await client.tasks.get(job, item["id"])
        assert task.command_line == item["commandLine"]
        assert task.display_name == item["displayName"]


@pytest.mark.parametrize("field", ["commandLine", "displayName"])
async def test_lone_surrogates_fail_alone_and_name_the_task(
    client: BatchClient, field: str
) -> None:
    # Regression: a lone surrogate could not be serialized and aborted the whole run as if the
    # input iterator had raised; tasks after it were never read.
    job = await new_job(client)
    bad = [
        {"id": "surrogate-hi", "commandLine": "x", field: "a\ud800b"},
        {"id": "surrogate-lo", "commandLine": "x", field: "\udfff"},
    ]
    items = mixed(bad)
    result = await client.tasks.add_collection(job, items, raise_on_failure=False)
    await check_accounting(client, job, items, result)
    assert {o.task_id for o in result.failed} == {"surrogate-hi", "surrogate-lo"}
    assert all(o.error_code == "InvalidTaskParameter" for o in result.failed)
    assert len(result.succeeded) == len(GOOD)
    assert result.stop_reason is None


async def test_duplicate_ids_in_a_list_are_refused_before_sending(client: BatchClient) -> None:
    job = await new_job(client)
    items = [*GOOD[:5], {"id": "GOOD-1", "commandLine": "x"}, *GOOD[5:10]]
    with pytest.raises(TaskValidationError) as caught:
        await client.tasks.add_collection(job, items)
    assert "good-1" in str(caught.value).lower()
    assert await listed_ids(client, job) == []


async def test_duplicate_ids_in_a_generator_fail_only_the_repeat(client: BatchClient) -> None:
    job = await new_job(client)
    items = [*GOOD[:5], {"id": "Good-2", "commandLine": "x"}, *GOOD[5:10]]
    result = await client.tasks.add_collection(job, iter(items), raise_on_failure=False)
    await check_accounting(client, job, items, result)
    [dup] = result.failed
    assert (dup.task_id, dup.index, dup.error_code) == ("Good-2", 5, "DuplicateTaskId")


class Boom(RuntimeError):
    pass


def exploding(n_before: int) -> Iterator[dict[str, Any]]:
    yield from GOOD[:n_before]
    raise Boom("the input source broke")


async def async_exploding(n_before: int) -> AsyncIterator[dict[str, Any]]:
    for item in GOOD[:n_before]:
        yield item
    raise Boom("the async input source broke")


@pytest.mark.parametrize("make", [exploding, async_exploding], ids=["sync", "async"])
@pytest.mark.parametrize("n_before", [0, 1, 17])
async def test_a_generator_that_raises_midway(
    client: BatchClient, make: Any, n_before: int
) -> None:
    job = await new_job(client)
    with pytest.raises(AddCollectionError) as caught:
        await client.tasks.add_collection(job, make(n_before))
    error = caught.value
    assert isinstance(error.__cause__, Boom)
    result = error.result
    assert result.total == n_before
    outcomes = result.outcomes
    assert [o.index for o in outcomes] == list(range(n_before))
    # Whatever was read is accounted for; what is reported added is exactly what exists.
    added = {o.task_id for o in outcomes if o.ok}
    assert set(await listed_ids(client, job)) == added
    for o in outcomes:
        assert o.ok or o.outcome is Outcome.NOT_ATTEMPTED


async def test_models_given_directly_are_validated_at_construction() -> None:
    with pytest.raises(ValueError, match="id"):
        TaskAddParameter(id="bad id", command_line="x")
    with pytest.raises(ValueError):
        TaskAddParameter(id="ok")  # type: ignore[call-arg]


async def test_more_than_one_invalid_kind_in_one_run_loses_nothing(client: BatchClient) -> None:
    job = await new_job(client)
    bad = [
        *({"id": v, "commandLine": "x"} for v in list(BAD_IDS.values())[:4]),
        *list(WRONG.values())[:4],
        {"id": "huge2", "commandLine": "x" * 1_100_000},
        {"id": "sur", "commandLine": "\ud83d"},
        {"id": "good-3", "commandLine": "duplicate of a good one"},
    ]
    items = mixed(bad)
    result = await client.tasks.add_collection(job, iter(items), raise_on_failure=False)
    await check_accounting(client, job, items, result)
    assert len(result.failed) == len(bad)


@pytest.mark.parametrize("call", ["task-add", "task-add-model", "job-add"])
async def test_single_operations_name_a_task_with_a_lone_surrogate(
    client: BatchClient, call: str
) -> None:
    # Regression: the single-operation path let pydantic's serialization error escape (not a
    # BatchTasksError, task not named) when the body was built.
    job = await new_job(client)
    calls = {
        "task-add": lambda: client.tasks.add(job, {"id": "lone", "commandLine": "echo \ud800"}),
        "task-add-model": lambda: client.tasks.add(
            job, TaskAddParameter(id="lone", command_line="\udfff")
        ),
        "job-add": lambda: client.jobs.add(
            {
                "id": "lone",
                "poolInfo": {"poolId": "p"},
                "metadata": [{"name": "k", "value": "\ud800"}],
            }
        ),
    }
    with pytest.raises(TaskValidationError) as caught:
        await calls[call]()
    assert "'lone'" in str(caught.value)
    assert await listed_ids(client, job) == []
    with pytest.raises(NotFoundError):
        await client.jobs.get("lone")
