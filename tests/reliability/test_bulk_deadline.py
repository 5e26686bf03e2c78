"""`add_collection(deadline=…)` bounds the requests already in flight, not only new ones.

Over loopback, a service that applies each request and then trickles its answer one byte a
second (never finishing), or does not answer for an hour: with ``deadline=2`` the call ends
(regression: it returned after the client's 180 s total timeout, or the server's latency), the
tasks of the requests in flight are UNKNOWN — exactly those the service received — and the rest
of the input is NOT_ATTEMPTED. The same through `add_collection_iter`. The 30 s bound below is
only a guard against a hang.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from batchtasks import AddCollectionError, BatchClient, Outcome, SharedKeyCredential

from ._storing_service import storing_service

N_TASKS = 500
CONCURRENCY = 2
HANG_GUARD = 30.0


def _tasks(n: int) -> list[dict[str, Any]]:
    return [{"id": f"t{i:04d}", "commandLine": "echo"} for i in range(n)]


def _check(outcomes: list[Any], received: set[str]) -> None:
    by_outcome: dict[Outcome, set[str]] = {}
    for o in outcomes:
        by_outcome.setdefault(o.outcome, set()).add((o.task_id or "").lower())
    assert set(by_outcome) == {Outcome.UNKNOWN, Outcome.NOT_ATTEMPTED}
    # Exactly the tasks of the requests in flight (one per worker) are UNKNOWN.
    assert by_outcome[Outcome.UNKNOWN] == received
    assert len(received) == 100 * CONCURRENCY
    assert len(by_outcome[Outcome.NOT_ATTEMPTED]) == N_TASKS - 100 * CONCURRENCY
    assert {o.attempts for o in outcomes if o.outcome is Outcome.UNKNOWN} == {1}
    assert {o.code for o in outcomes} == {"TaskAddOutcomeUnknown", "TaskNotAttempted"}


@pytest.mark.parametrize("fate", ["trickle", "stall"])
async def test_deadline_ends_the_call_with_requests_in_flight(fate: str) -> None:
    async with storing_service() as service:
        service.spoil = lambda kind, number: fate
        # The client's own timeouts are the defaults (180 s total, 150 s between reads).
        async with BatchClient(service.url, SharedKeyCredential("acct", "a2V5")) as client:
            with pytest.raises(AddCollectionError) as caught:
                await asyncio.wait_for(
                    client.tasks.add_collection(
                        "job", _tasks(N_TASKS), max_concurrency=CONCURRENCY, deadline=2
                    ),
                    HANG_GUARD,
                )
    result = caught.value.result
    assert result.stop_reason == "deadline exceeded"
    assert result.requests == CONCURRENCY
    _check(result.outcomes, set(service.received))


async def test_deadline_bounds_the_streaming_form_too() -> None:
    async with storing_service() as service:
        service.spoil = lambda kind, number: "trickle"
        async with BatchClient(service.url, SharedKeyCredential("acct", "a2V5")) as client:

            async def collect() -> list[Any]:
                stream = client.tasks.add_collection_iter(
                    "job", _tasks(N_TASKS), max_concurrency=CONCURRENCY, deadline=2
                )
                return [outcome async for outcome in stream]

            outcomes = await asyncio.wait_for(collect(), HANG_GUARD)
    assert len(outcomes) == N_TASKS
    _check(outcomes, set(service.received))
