"""Decoding of success responses, sans I/O: status check, JSON body, list results.

Pure functions over `Response` (wire.py). Error statuses become exceptions in ONE place,
`errors.error_from_response`, reached through `check_status`. Must not import aiohttp or
know about models (operations.py parses models from what this returns).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from itertools import repeat
from typing import Any

from pydantic_core import from_json

from batchtasks._private.errors import BatchServiceError, error_from_response
from batchtasks._private.wire import Request, Response

__all__ = [
    "bad_body",
    "check_status",
    "decode_json",
    "decode_value_list",
    "loads_json",
    "next_link_of",
    "value_list_of",
]


def check_status(request: Request, response: Response) -> None:
    """Raise the mapped `BatchServiceError` unless `response` has the operation's success status."""
    if response.status != request.expected_status:
        raise error_from_response(
            response.status,
            response.headers,
            response.body,
            expected_status=request.expected_status,
        )


def bad_body(response: Response, why: str) -> BatchServiceError:
    """The error for a success response whose body cannot be used (`why` says how)."""
    return BatchServiceError(
        status=response.status,
        message=f"malformed success response: {why}",
        request_id=response.headers.get("request-id"),
        headers=response.headers,
    )


def loads_json(body: bytes) -> Any:
    """`json.loads(body)`, computed by pydantic-core's faster parser where that gives the same.

    pydantic-core (jiter) and `json` agree on every document jiter accepts (same numbers incl.
    big ints, NaN/Infinity and -0.0, same strings, last duplicate key wins); jiter refuses some
    documents `json` accepts (lone surrogate escapes, a BOM, UTF-16/32, very deep nesting). Any
    refusal therefore goes to `json.loads`, whose answer or error is then the result.

    Raises:
        ValueError, UnicodeDecodeError, RecursionError: what `json.loads` raises.
    """
    try:
        # Only keys are worth interning: result values (IDs, eTags, dates, URLs) are all unique.
        return from_json(body, cache_strings="keys")
    except Exception:  # any refusal: let the reference parser decide
        return json.loads(body)


def decode_json(response: Response) -> dict[str, Any]:
    """The JSON object of a success response.

    Raises:
        BatchServiceError: the body is not a JSON object.
    """
    try:
        data = loads_json(response.body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: hostile nesting
        raise bad_body(response, "body is not JSON") from None
    if not isinstance(data, dict):
        raise bad_body(response, "body is not a JSON object")
    return data


def decode_value_list(response: Response) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The `value` list of a list-shaped result (and the whole object, for `odata.nextLink`).

    Raises:
        BatchServiceError: the body has no list `value` of objects.
    """
    return value_list_of(response, decode_json(response))


def value_list_of(response: Response, data: object) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The `value` list of the decoded body `data` of `response` (and `data` itself).

    Raises:
        BatchServiceError: `data` is not an object with a list `value` of objects.
    """
    if not isinstance(data, dict):
        raise bad_body(response, "body is not a JSON object")
    value = data.get("value", [])
    # map/repeat keeps the per-item check in C (a bulk-add answer has up to 100 items).
    if not isinstance(value, list) or not all(map(isinstance, value, repeat(dict))):
        raise bad_body(response, "`value` is not a list of objects")
    return value, data


def next_link_of(data: Mapping[str, Any]) -> str | None:
    """The `odata.nextLink` of a list result, or None on the last page."""
    link = data.get("odata.nextLink")
    return link if isinstance(link, str) and link else None
