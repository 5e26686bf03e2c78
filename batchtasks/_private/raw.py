"""Raw access as a view: `client.tasks.with_raw_response.get(...)` returns a `RawResponse`.

The same idea as the Anthropic and OpenAI SDKs (`_response.py`, `to_raw_response_wrapper`):
operations return parsed values only and have no `raw` parameter; the view wraps each one so that
it returns `RawResponse[T]` around the same value, with the same parameters (`ParamSpec`), so
each operation's signature is written once and mypy still knows the precise return type.

How it works: the wrapper opens a capture (a `ContextVar`, so concurrent calls never see each
other's) and awaits the operation; `OperationsBase._send` calls `record()` with the final
successful `Response`. A new operation group adds its view like this::

    class WidgetOperationsWithRawResponse:
        def __init__(self, widgets: WidgetOperations) -> None:
            self.get = raw_response_wrapper(widgets.get)

    class WidgetOperations(OperationsBase):
        @functools.cached_property
        def with_raw_response(self) -> WidgetOperationsWithRawResponse:
            return WidgetOperationsWithRawResponse(self)

Only operations that send exactly one request and return its value belong in a view (not
`list`, whose pages carry their own status and headers, nor `add_collection`).
This module must not do I/O; it must not keep a response beyond the call that made it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

from typing_extensions import ParamSpec

from batchtasks._private.responses import RawResponse
from batchtasks._private.wire import Response

__all__ = ["raw_response_wrapper", "record"]

P = ParamSpec("P")
T = TypeVar("T")


class _Capture:
    __slots__ = ("response",)

    def __init__(self) -> None:
        self.response: Response | None = None


_CAPTURE: ContextVar[_Capture | None] = ContextVar("batchtasks_raw_capture", default=None)


def record(response: Response) -> None:
    """Note `response` as the answer of the raw call in progress (if there is one)."""
    capture = _CAPTURE.get()
    if capture is not None:
        capture.response = response


def raw_response_wrapper(
    operation: Callable[P, Awaitable[T]],
) -> Callable[P, Awaitable[RawResponse[T]]]:
    """`operation`, returning a `RawResponse[T]` (status, headers, parsed value) instead of `T`."""

    @functools.wraps(operation)
    async def call_raw(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        capture = _Capture()
        token = _CAPTURE.set(capture)
        try:
            parsed = await operation(*args, **kwargs)
        finally:
            _CAPTURE.reset(token)
        response = capture.response
        if response is None:  # an operation that sent nothing cannot be in a view
            raise RuntimeError(f"{getattr(operation, '__name__', operation)!r} sent no request")
        return RawResponse(response.status, response.headers, parsed)

    return call_raw
