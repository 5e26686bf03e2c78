"""The result of a bulk add (`BulkAddResult`) and the aggregate error raised on failure.

Builds values from a finished engine's ledger; it must not send anything or decide outcomes.
"""

from __future__ import annotations

import collections
import gc
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field, PrivateAttr, TypeAdapter
from typing_extensions import Self

from batchtasks._private.bulk.outcome import Outcome, TaskAddOutcome
from batchtasks._private.errors import AddCollectionError
from batchtasks.models import TaskAddCollectionResult, TaskAddResult

__all__ = ["BulkAddResult", "build_error", "build_result"]


class BulkAddResult(TaskAddCollectionResult):
    """A `TaskAddCollectionResult` with one entry per input task, plus the run's accounting.

    ``value`` holds one `TaskAddResult` per input task in input order: the service's own result
    where it gave one (an ``ADDED_ON_RETRY`` task keeps the service's ``clienterror``/``TaskExists``
    result, as the official SDK does), a synthesized one otherwise (see `TaskAddOutcome.result`).
    ``value`` is built on first access (or first dump/compare/copy): a pydantic model per task
    costs several microseconds, which callers that only read `counts` or `outcomes` should not
    pay; ``outcomes`` too, when they were only collected (no `on_result`). With
    ``collect_results=False`` both ``value`` and ``outcomes`` are empty; the counters are still
    exact.

    Attributes:
        outcomes: one `TaskAddOutcome` per input task, in input order (not serialized).
        counts: number of tasks per `Outcome` value (all six keys present).
        requests: add_collection requests made (every answer or error counts).
        retries: task re-sends (a task retried twice counts 2).
        elapsed: seconds the call took.
        body_limit: the body limit in force at the end (lower than requested if a 413 taught one).
        stop_reason: why the run stopped early (deadline, fatal error, input error), else None.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    outcomes: list[TaskAddOutcome] = Field(default_factory=list, exclude=True, repr=False)
    counts: dict[str, int] = Field(default_factory=dict, exclude=True)
    requests: int = Field(default=0, exclude=True)
    retries: int = Field(default=0, exclude=True)
    elapsed: float = Field(default=0.0, exclude=True)
    body_limit: int = Field(default=0, exclude=True)
    stop_reason: str | None = Field(default=None, exclude=True)

    #: Builds `outcomes` (unsorted) when "outcomes" is not in the instance dict yet.
    _outcomes_builder: Callable[[], list[TaskAddOutcome]] | None = PrivateAttr(default=None)

    # -- lazy `value` (and `outcomes`) --------------------------------------------------------
    # `build_result` leaves "value" (and sometimes "outcomes") out of the instance dict; the
    # first read (attribute access, or any of the pydantic entry points below that read the
    # dict directly) fills it in.

    def _materialize_outcomes(self) -> list[TaskAddOutcome]:
        outcomes: list[TaskAddOutcome] | None = self.__dict__.get("outcomes")
        if outcomes is None:
            build = self._outcomes_builder
            self._outcomes_builder = None
            outcomes = build() if build is not None else []
            outcomes.sort(key=_INDEX)
            self.__dict__["outcomes"] = outcomes
        return outcomes

    def _materialize(self) -> None:
        outcomes = self._materialize_outcomes()
        if "value" not in self.__dict__:
            self.__dict__["value"] = materialize_results(outcomes)

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            if name == "value":
                self._materialize()
                return self.__dict__["value"]
            if name == "outcomes":
                return self._materialize_outcomes()
            return super().__getattr__(name)

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        self._materialize()
        return super().model_dump(**kwargs)

    def model_dump_json(self, **kwargs: Any) -> str:
        self._materialize()
        return super().model_dump_json(**kwargs)

    def to_json_bytes(self) -> bytes:
        self._materialize()
        return super().to_json_bytes()

    def model_copy(self, **kwargs: Any) -> Self:
        self._materialize()
        return super().model_copy(**kwargs)

    def __copy__(self) -> Self:
        self._materialize()
        return super().__copy__()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        self._materialize()
        return super().__deepcopy__(memo)

    def __getstate__(self) -> dict[Any, Any]:
        self._materialize()
        return super().__getstate__()

    def __eq__(self, other: object) -> bool:
        self._materialize()
        if isinstance(other, BulkAddResult):
            other._materialize()
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __iter__(self) -> Any:
        self._materialize()
        return super().__iter__()

    def __repr_args__(self) -> Any:
        # A summary, not one entry per task: a million-task result must stay printable, and
        # asyncio's debug/teardown paths repr results without anyone reading `value`.
        yield "total", self.total
        yield "counts", {k: n for k, n in self.counts.items() if n}
        yield "requests", self.requests
        yield "retries", self.retries
        yield "elapsed", round(self.elapsed, 3)
        if self.stop_reason is not None:
            yield "stop_reason", self.stop_reason

    # -- accounting views -------------------------------------------------------------------

    @property
    def total(self) -> int:
        """Input tasks accounted for."""
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        """True when every task ended in a success state."""
        return self.total == self.count(*_SUCCESS)

    def count(self, *outcomes: Outcome) -> int:
        """Number of tasks that ended in any of `outcomes`."""
        return sum(self.counts.get(o.value, 0) for o in outcomes)

    def by_outcome(self, *outcomes: Outcome) -> list[TaskAddOutcome]:
        """The collected outcomes in any of `outcomes`, in input order."""
        wanted = set(outcomes)
        return [o for o in self.outcomes if o.outcome in wanted]

    @property
    def succeeded(self) -> list[TaskAddOutcome]:
        """ADDED, ADDED_ON_RETRY and ALREADY_EXISTS outcomes."""
        return self.by_outcome(*_SUCCESS)

    @property
    def failed(self) -> list[TaskAddOutcome]:
        """FAILED and UNKNOWN outcomes (sent or rejected, not known to be added)."""
        return self.by_outcome(Outcome.FAILED, Outcome.UNKNOWN)

    @property
    def not_attempted(self) -> list[TaskAddOutcome]:
        """NOT_ATTEMPTED outcomes (never sent)."""
        return self.by_outcome(Outcome.NOT_ATTEMPTED)


_SUCCESS = (Outcome.ADDED, Outcome.ADDED_ON_RETRY, Outcome.ALREADY_EXISTS)


_RESULTS = TypeAdapter(list[TaskAddResult])


def materialize_results(outcomes: list[TaskAddOutcome]) -> list[TaskAddResult]:
    """`[o.result for o in outcomes]`, validating the service's results in one pydantic call."""
    raws: list[Any] = []
    answered: list[TaskAddOutcome] = []
    for o in outcomes:
        if o.raw is not None and o._result is None:
            raws.append(o.raw)
            answered.append(o)
    # Creating n models in one synchronous burst triggers cyclic-GC passes over the whole heap
    # (the caller's n input tasks included) and doubles the cost; the models form no cycles, so
    # the collector is paused for this loop only (no await, no user code runs inside).
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        for o, model in zip(answered, _RESULTS.validate_python(raws), strict=True):
            o._result = model
        return [o.result for o in outcomes]
    finally:
        if paused:
            gc.enable()


def build_result(
    outcomes: list[TaskAddOutcome] | Callable[[], list[TaskAddOutcome]] | None,
    counts: dict[str, int],
    *,
    requests: int,
    retries: int,
    elapsed: float,
    body_limit: int,
    stop_reason: str | None,
) -> BulkAddResult:
    """Assemble the result; `outcomes` (None when not collected) are sorted into input order.

    A function for `outcomes` (see `Ledger.deferred_collected`) is called on first access.
    """
    ordered: list[TaskAddOutcome] = []
    if isinstance(outcomes, list):
        ordered = outcomes
        ordered.sort(key=_INDEX)
    # Every field is already of the right type: construct without re-validating n items.
    result = BulkAddResult.model_construct(
        outcomes=ordered,
        counts=dict(counts),
        requests=requests,
        retries=retries,
        elapsed=elapsed,
        body_limit=body_limit,
        stop_reason=stop_reason,
    )
    del result.__dict__["value"]  # built on first access, see BulkAddResult
    if callable(outcomes):
        del result.__dict__["outcomes"]
        result._outcomes_builder = outcomes
    return result


_INDEX = operator.attrgetter("index")


def build_error(result: BulkAddResult, *, cause: BaseException | None = None) -> AddCollectionError:
    """The aggregate error for a run where not every task succeeded.

    ``succeeded``/``failed``/``not_attempted`` hold `TaskAddOutcome`s (empty lists when results
    were not collected); ``result`` is the whole `BulkAddResult`.
    """
    counts = result.counts
    failed = counts.get(Outcome.FAILED.value, 0)
    unknown = counts.get(Outcome.UNKNOWN.value, 0)
    skipped = counts.get(Outcome.NOT_ATTEMPTED.value, 0)
    parts = []
    if failed:
        codes = collections.Counter(
            o.error_code or "?" for o in result.outcomes if o.outcome is Outcome.FAILED
        )
        top = ", ".join(f"{code} x{n}" for code, n in codes.most_common(3))
        parts.append(f"{failed} failed" + (f" ({top})" if top else ""))
    if unknown:
        parts.append(f"{unknown} with unknown outcome (may have been added)")
    if skipped:
        parts.append(f"{skipped} not attempted")
    added = result.total - failed - unknown - skipped
    message = f"bulk add: {added} of {result.total} tasks added"
    if parts:
        message += "; " + ", ".join(parts)
    if result.stop_reason:
        message += f"; stopped early: {result.stop_reason}"
    if cause is not None:
        message += f"; cause: {type(cause).__name__}: {cause}"
    return AddCollectionError(
        message,
        succeeded=result.succeeded,
        failed=result.failed,
        not_attempted=result.not_attempted,
        result=result,
    )
