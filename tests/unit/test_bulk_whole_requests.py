"""The engine's whole-request path for a list or tuple of models behaves exactly like its
item-by-item path: the same requests (IDs, bodies, sizes, order), the same outcomes and the same
errors, including inputs that are mixed, too large, unserializable or stopped by a fatal answer.

The reference is the same items given as a generator (which the engine always reads one by one).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchtasks._private.bulk import run_add_collection
from batchtasks._private.bulk.engine import BulkAddEngine
from batchtasks.models import TaskAddParameter
from tests.unit.test_bulk_support import FakeService, fast_policy


class _RecordingService(FakeService):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bodies: list[bytes] = []

    async def __call__(self, job_id: str, body: bytes, **_: Any) -> list[dict[str, Any]]:
        self.bodies.append(body)
        return await super().__call__(job_id, body)


def _item(i: int, kind: str, pad: int) -> Any:
    wire = {"id": f"T{i}", "commandLine": "echo " + "x" * pad}
    if kind == "dict":
        return wire
    if kind == "bad":
        # A lone surrogate validates as str but has no UTF-8 form: serialization fails.
        return TaskAddParameter(id=f"T{i}", command_line="echo \ud800")
    if kind == "sub":
        return _SubTask.model_validate(wire)
    return TaskAddParameter.model_validate(wire)


class _SubTask(TaskAddParameter):
    """A subclass: not the exact model type, so never on a fast path."""


def _run(value: Any, plan: list[str], limit: int, concurrency: int) -> dict[str, Any]:
    svc = _RecordingService(plan=list(plan), limit=limit)
    error: BaseException | None = None
    result: Any = None
    try:
        result = asyncio.run(
            run_add_collection(
                svc,
                "job",
                value,
                policy=fast_policy(),
                max_concurrency=concurrency,
                body_limit=limit,
                max_attempts=2,
                raise_on_failure=False,
                detect_duplicates=isinstance(value, (list, tuple)),
            )
        )
    except Exception as exc:  # the input error (a serialization failure), raised after sending
        error = exc
        result = getattr(exc, "result", None)
    outcomes = None
    if result is not None:
        outcomes = [(o.index, o.task_id, str(o.outcome), o.reason) for o in result.outcomes]
    return {
        "bodies": svc.bodies,
        "sizes": svc.sizes,
        "error": None if error is None else (type(error), str(error)),
        "outcomes": outcomes,
        "counts": None if result is None else dict(result.counts),
    }


# Runs of one kind, so that whole requests (100 models in a row) do occur; pads make some runs
# fit a body and others not, under each limit.
_SEGMENTS = st.lists(
    st.tuples(
        st.sampled_from(["model", "model", "model", "dict", "sub", "bad"]),
        st.integers(1, 260),
        st.sampled_from([0, 5, 100, 400, 560]),
    ),
    max_size=4,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    segments=_SEGMENTS,
    plan=st.lists(st.sampled_from(["ok", "ok", "ok", "500", "drop-after", "404"]), max_size=6),
    limit=st.sampled_from([1 << 20, 60_000, 3_000]),
    concurrency=st.integers(1, 3),
    as_tuple=st.booleans(),
)
def test_list_input_sends_and_reports_exactly_as_item_by_item(
    segments: list[tuple[str, int, int]],
    plan: list[str],
    limit: int,
    concurrency: int,
    as_tuple: bool,
) -> None:
    items: list[Any] = []
    for kind, count, pad in segments:
        items.extend(_item(len(items), kind, pad) for _ in range(count))
    given_value: Any = tuple(items) if as_tuple else items
    whole = _run(given_value, plan, limit, concurrency)
    one_by_one = _run((item for item in items), plan, limit, concurrency)
    if concurrency == 1:
        assert whole["bodies"] == one_by_one["bodies"]
    else:  # requests may complete in another order; what was sent is the same
        assert sorted(whole["bodies"]) == sorted(one_by_one["bodies"])
    assert whole["sizes"] == [len(b) for b in whole["bodies"]]
    assert whole["error"] == one_by_one["error"]
    assert whole["outcomes"] == one_by_one["outcomes"]
    assert whole["counts"] == one_by_one["counts"]


def test_whole_requests_are_used_and_bodies_are_exact(monkeypatch: Any) -> None:
    calls: list[int] = []
    original = BulkAddEngine._whole_request

    def spy(self: BulkAddEngine, value: Any, iterator: Any) -> Any:
        chunk = original(self, value, iterator)
        calls.append(0 if chunk is None else len(chunk))
        return chunk

    monkeypatch.setattr(BulkAddEngine, "_whole_request", spy)
    items = [_item(i, "model", i % 50) for i in range(250)]
    run = _run(items, [], 1 << 20, 1)
    assert calls[:2] == [100, 100]  # two whole requests, then the 50-task tail item by item
    assert 0 in calls[2:]
    assert [len(json.loads(b)["value"]) for b in run["bodies"]] == [100, 100, 50]
    expected = [
        b'{"value":[' + b",".join(t.to_json_bytes() for t in items[lo : lo + 100]) + b"]}"
        for lo in (0, 100, 200)
    ]
    assert run["bodies"] == expected
    assert run["counts"]["added"] == sum(run["counts"].values()) == 250
    assert [o[0] for o in run["outcomes"]] == list(range(250))


def test_fatal_answer_leaves_the_rest_not_attempted_like_item_by_item() -> None:
    items = [_item(i, "model", 10) for i in range(1000)]
    whole = _run(items, ["ok", "404"], 1 << 20, 1)
    one_by_one = _run(iter(items), ["ok", "404"], 1 << 20, 1)
    assert whole == one_by_one
    assert whole["counts"]["not_attempted"] > 0
