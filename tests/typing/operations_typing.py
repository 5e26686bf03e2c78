"""Checked by mypy --strict (tests/unit/test_operation_typing.py), never imported by pytest.

Lines ending in `# E: <text>` must produce a mypy error containing <text>; every other line
must type-check. This pins what the one-signature pattern promises: precise return types for
plain and raw calls, every option accepted with its type, misspelt options refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from typing_extensions import assert_type

from batchtasks import (
    AsyncPager,
    BatchClient,
    BulkAddResult,
    CloudJob,
    CloudTask,
    RawResponse,
    RetryPolicy,
    TaskAddOutcome,
    TaskCountsResult,
    TaskWatch,
    Timeout,
    WaitSummary,
)
from batchtasks.models import SubtaskInformation


async def plain(client: BatchClient) -> None:
    assert_type(await client.tasks.get("j", "t", select="id", if_match="0x1"), CloudTask)
    assert_type(await client.tasks.add("j", {"id": "t"}, timeout=5), None)
    assert_type(await client.tasks.update("j", "t", None, if_none_match="0x1"), None)
    assert_type(await client.tasks.delete("j", "t", if_modified_since=datetime.now()), None)
    assert_type(await client.tasks.terminate("j", "t", if_unmodified_since="x"), None)
    assert_type(await client.tasks.reactivate("j", "t", ocp_date=datetime.now()), None)
    assert_type(client.tasks.list("j", filter="x", client_request_id="c"), AsyncPager[CloudTask])
    assert_type(client.tasks.list_subtasks("j", "t"), AsyncPager[SubtaskInformation])
    assert_type(await client.jobs.get("j", expand="stats"), CloudJob)
    assert_type(client.jobs.list(max_results=10), AsyncPager[CloudJob])
    assert_type(
        await client.tasks.add_collection(
            "j", [], on_result=print, max_concurrency=2, timeout=30, retry_policy=RetryPolicy()
        ),
        BulkAddResult,
    )
    assert_type(
        client.tasks.add_collection_iter("j", [], threads=1, deadline=1.0),
        AsyncIterator[TaskAddOutcome],
    )
    await client.tasks.get(
        "j",
        "t",
        timeout=5,
        client_request_id="c",
        return_client_request_id=True,
        ocp_date="Mon, 30 Sep 2024 12:00:00 GMT",
        custom_headers={"x": "y"},
        retry_policy=RetryPolicy(max_attempts=1),
        client_timeout=Timeout(total=3),
        if_match="a",
        if_none_match="b",
        if_modified_since=datetime.now(),
        if_unmodified_since=datetime.now(),
    )


async def raw(client: BatchClient) -> None:
    raw_tasks = client.tasks.with_raw_response
    assert_type(await raw_tasks.get("j", "t", expand="stats", if_match="x"), RawResponse[CloudTask])
    assert_type(await raw_tasks.add("j", {"id": "t"}, custom_headers={}), RawResponse[None])
    assert_type(await raw_tasks.update("j", "t", {"maxTaskRetryCount": 1}), RawResponse[None])
    assert_type(await raw_tasks.delete("j", "t"), RawResponse[None])
    assert_type(await raw_tasks.terminate("j", "t"), RawResponse[None])
    assert_type(await raw_tasks.reactivate("j", "t"), RawResponse[None])
    assert_type(await client.jobs.with_raw_response.get("j"), RawResponse[CloudJob])
    assert_type(await client.jobs.with_raw_response.add({"id": "j"}), RawResponse[None])
    assert_type(await client.jobs.with_raw_response.delete("j"), RawResponse[None])


async def refused(client: BatchClient) -> None:
    await client.tasks.get("j", "t", tiemout=5)  # E: Unexpected keyword argument "tiemout"
    await client.tasks.get("j", "t", timeout="5")  # E: Argument "timeout"
    await client.tasks.add("j", {"id": "t"}, if_match="x")  # E: Unexpected keyword argument
    await client.tasks.get("j", "t", raw=True)  # E: Unexpected keyword argument "raw"
    await client.tasks.with_raw_response.get("j", "t", if_match=1)  # E: Argument "if_match"
    client.tasks.with_raw_response.list("j")  # E: has no attribute "list"
    client.tasks.list("j", if_match="x")  # E: Unexpected keyword argument "if_match"
    await client.tasks.get("j", "t", filter="x")  # E: Unexpected keyword argument "filter"
    await client.jobs.delete("j", select="id")  # E: Unexpected keyword argument "select"
    client.jobs.list(max_results="10")  # E: Argument "max_results"
    await client.tasks.add_collection("j", [], max_concurrency="8")  # E: "max_concurrency"
    client.tasks.add_collection_iter("j", [], on_result=print)  # E: Unexpected keyword argument


async def waiting(client: BatchClient) -> None:
    assert_type(await client.jobs.get_task_counts("j", timeout=5), TaskCountsResult)
    raw_jobs = client.jobs.with_raw_response
    assert_type(await raw_jobs.get_task_counts("j"), RawResponse[TaskCountsResult])
    watch = client.tasks.watch("j", task_ids=["a"], timeout=1.5, retry_policy=RetryPolicy())
    assert_type(watch, TaskWatch)
    assert_type(await client.tasks.wait("j", until="running", poll_interval=0.5), WaitSummary)
    await client.tasks.wait("j", client_request_id="x")  # E: Unexpected keyword argument
    client.tasks.watch("j", poll_interval="1")  # E: Argument "poll_interval"
