"""Plumbing shared by the operation groups (`TaskOperations`, `JobOperations`, ...).

Send (and record for the raw view), decode, page, validate input.

Keeps the operation classes thin (build -> send -> decode). Must not know any particular
operation's path or options (protocol.py does) nor touch aiohttp (transport.py does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic
from pydantic_core import PydanticSerializationError

from batchtasks._private.decoding import decode_json, next_link_of
from batchtasks._private.errors import BatchServiceError, TaskValidationError
from batchtasks._private.json_slices import decode_page
from batchtasks._private.options import RequestOptions, send_settings
from batchtasks._private.paging import AsyncPager, Page
from batchtasks._private.pipeline import Pipeline, RetryMode
from batchtasks._private.raw import record
from batchtasks._private.versions import undefined_property
from batchtasks._private.wire import Request, Response, request_for_next_link
from batchtasks._private.yielding import map_yielding
from batchtasks.models import BatchModel

__all__ = ["OperationsBase", "coerce_model"]

M = TypeVar("M", bound=BatchModel)


def coerce_model(
    model: type[M], value: M | Mapping[str, Any], *, what: str, index: int | None = None
) -> M:
    """Return `value` as a validated `model` (a mapping may use wire keys or attribute names).

    Raises:
        TaskValidationError: the value does not fit the model; names its id and index.
    """
    if isinstance(value, model):
        result = value
    elif not isinstance(value, Mapping):
        raise TaskValidationError(
            f"{what}: expected a {model.__name__} or a mapping, got {type(value).__name__}",
            index=index,
        )
    else:
        try:
            result = model.model_validate(dict(value))
        except pydantic.ValidationError as exc:
            raw_id = value.get("id")
            raise TaskValidationError.from_validation_error(
                exc, task_id=raw_id if isinstance(raw_id, str) else None, index=index
            ) from exc
    try:
        # A lone surrogate passes str validation but has no UTF-8 form; find out here, where
        # the error can name the task, rather than when the body is built.
        result.to_json_bytes()
    except (PydanticSerializationError, UnicodeEncodeError) as exc:
        raw_id = getattr(result, "id", None)
        raise TaskValidationError(
            f"{what}: cannot be encoded as UTF-8 JSON ({exc})",
            task_id=raw_id if isinstance(raw_id, str) else None,
            index=index,
        ) from exc
    return result


def _parse(model: type[M], data: Mapping[str, Any], response: Response) -> M:
    try:
        return model.from_wire(data)
    except pydantic.ValidationError as exc:
        raise BatchServiceError(
            status=response.status,
            message=f"malformed success response: not a {model.__name__}"
            f" ({exc.error_count()} errors)",
            request_id=response.headers.get("request-id"),
            headers=response.headers,
        ) from None


def _max_response_size(options: RequestOptions) -> int | None:
    value = options.get("max_response_size")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError("max_response_size must be a positive number of bytes or None")
    return value


class OperationsBase:
    """Shared machinery of the operation groups (not public).

    An operation is written once: its own parameters, then ``**options`` typed with the shared
    `TypedDict` (options.py), then build -> send -> decode::

        async def delete(
            self, job_id: str, task_id: str, **options: Unpack[ConditionalOptions]
        ) -> None:
            await self._send(protocol.task_delete(job_id, task_id, options), options)

    Use `_send` for operations without a body in the answer, `_send_model` for one model,
    `_pager` for lists. Raw access comes from the group's `with_raw_response` view (raw.py).

    Args:
        pipeline: the client's send pipeline.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def _check_version(self, kind: str, body: bytes) -> bytes:
        """`body` if the client's api-version defines every property in it.

        Raises:
            TaskValidationError: a property the version does not have (nothing is sent).
        """
        problem = undefined_property(kind, body, self._pipeline.api_version)
        if problem is not None:
            raise TaskValidationError(problem)
        return body

    async def _send(
        self, request: Request, options: RequestOptions, *, mode: str = RetryMode.SAFE
    ) -> Response:
        retry_policy, client_timeout = send_settings(options)
        response = await self._pipeline.send(
            request,
            retry_policy=retry_policy,
            timeout=client_timeout,
            mode=mode,
            max_response_size=_max_response_size(options),
        )
        record(response)
        return response

    async def _send_model(self, request: Request, model: type[M], options: RequestOptions) -> M:
        response = await self._send(request, options)
        return _parse(model, decode_json(response), response)

    def _pager(
        self,
        first: Request,
        item_model: type[M],
        options: RequestOptions,
        *,
        follow_links: bool = True,
    ) -> AsyncPager[M]:
        retry_policy, client_timeout = send_settings(options)
        max_size = _max_response_size(options)

        async def fetch(token: str | None) -> Page[M]:
            request = first if token is None else request_for_next_link(first, token)
            response = await self._pipeline.send(
                request,
                retry_policy=retry_policy,
                timeout=client_timeout,
                max_response_size=max_size,
            )
            values, data = await decode_page(response)
            items = await map_yielding(lambda value: _parse(item_model, value, response), values)
            link = next_link_of(data) if follow_links else None
            return Page(items, link, response.status, response.headers)

        return AsyncPager(fetch)
