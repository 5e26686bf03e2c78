"""`BatchClient(api_version=...)` on the wire (aioresponses): the query carries the chosen
version on every request (paging and bulk included), the signature covers it, and a property the
version does not define is refused before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest

from batchtasks import (
    SUPPORTED_API_VERSIONS,
    BatchClient,
    RetryPolicy,
    SharedKeyCredential,
    TaskValidationError,
)
from batchtasks._private.constants import API_VERSION
from tests.unit.conftest import BASE_URL, VECTOR_ACCOUNT, VECTOR_KEY, FakeService, Reply


async def _no_sleep(_: float) -> None:
    return None


def _client(version: str) -> BatchClient:
    return BatchClient(
        BASE_URL,
        SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY),
        retry_policy=RetryPolicy(max_attempts=1, sleep=_no_sleep),
        api_version=version,
    )


def test_default_is_2024_02_01() -> None:
    client = BatchClient(BASE_URL, SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY))
    assert client.api_version == API_VERSION == "2024-02-01.19.0"
    assert SUPPORTED_API_VERSIONS[0] == "2022-10-01.16.0"
    assert SUPPORTED_API_VERSIONS[-1] == "2025-06-01"


@pytest.mark.parametrize("bad", ["2026-01-01", "2024-02-01", "", None, 2024])
def test_unsupported_version_is_refused_at_construction(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"api_version .* is not supported; use one of"):
        BatchClient(BASE_URL, SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY), api_version=bad)


@pytest.mark.parametrize("version", SUPPORTED_API_VERSIONS)
async def test_every_request_carries_the_version(service: FakeService, version: str) -> None:
    link = f"{BASE_URL}/jobs/j/tasks?api-version={version}&$skiptoken=abc"
    service.reply(
        Reply(201),
        Reply(200, f'{{"value":[{{"id":"a"}}],"odata.nextLink":"{link}"}}'.encode()),
        Reply(200, b'{"value":[{"id":"b"}]}'),
        Reply(200, b'{"value":[{"status":"success","taskId":"c"}]}'),
    )
    async with _client(version) as client:
        await client.tasks.add("j", {"id": "t", "commandLine": "x"})
        assert [t.id async for t in client.tasks.list("j")] == ["a", "b"]
        await client.tasks.add_collection("j", [{"id": "c", "commandLine": "x"}])
    assert [sent.query["api-version"] for sent in service.sent] == [version] * 4
    for sent in service.sent:
        assert sent.headers["authorization"] == sent.expected_authorization()


MOUNTS = {"imageName": "u", "containerHostBatchBindMounts": [{"source": "Task"}]}
CASES = [
    ("task", {"containerSettings": MOUNTS}, "2024-02-01.19.0", "containerHostBatchBindMounts"),
    ("task", {"authenticationTokenSettings": {"access": ["job"]}}, "2025-06-01", "authentication"),
    (
        "job",
        {"networkConfiguration": {"subnetId": "s", "skipWithdrawFromVNet": True}},
        "2022-10-01.16.0",
        "skipWithdrawFromVNet",
    ),
    (
        "job",
        {"jobManagerTask": {"id": "m", "commandLine": "x", "containerSettings": MOUNTS}},
        "2023-11-01.18.0",
        "jobManagerTask.containerSettings",
    ),
]


async def _add(client: BatchClient, kind: str, extra: dict[str, Any]) -> None:
    if kind == "task":
        await client.tasks.add("j", {"id": "t", "commandLine": "x", **extra})
    else:
        await client.jobs.add({"id": "j", "poolInfo": {"poolId": "p"}, **extra})


@pytest.mark.parametrize(("kind", "extra", "version", "named"), CASES)
async def test_a_property_the_version_lacks_is_refused_client_side(
    service: FakeService, kind: str, extra: dict[str, Any], version: str, named: str
) -> None:
    async with _client(version) as client:
        with pytest.raises(TaskValidationError, match=named) as info:
            await _add(client, kind, extra)
        assert version in str(info.value)
    assert service.sent == []


@pytest.mark.parametrize(("kind", "extra", "version", "named"), CASES)
async def test_the_same_property_goes_out_where_the_version_has_it(
    service: FakeService, kind: str, extra: dict[str, Any], version: str, named: str
) -> None:
    other = "2024-07-01.20.0" if version != "2024-07-01.20.0" else "2024-02-01.19.0"
    service.reply(Reply(201))
    async with _client(other) as client:
        await _add(client, kind, extra)
    assert named.split(".")[-1] in service.sent[0].body.decode()  # type: ignore[union-attr]


def test_client_and_emulator_tables_agree() -> None:
    # Two copies on purpose (the client never imports the emulator, nor the emulator the
    # client): both are read from the spec, and this keeps them from drifting apart.
    from batchtasks._private import versions as client_versions
    from batchtasks.emulator import versions as emulator_versions

    assert client_versions.SUPPORTED_API_VERSIONS == emulator_versions.SUPPORTED
    for kind, rows in client_versions._PROPERTIES.items():
        assert rows == emulator_versions.PROPERTIES[kind]
