"""Sans-I/O protocol of the Batch Task API: build `Request` objects, decode `Response` objects.

Every operation's method, path, query parameters, headers and success status live here, as pure
functions over plain values (fact sheet §1-§2). The module must not import aiohttp, do I/O, read
clocks or know about credentials: per-attempt headers (`ocp-date`, `Authorization`,
`client-request-id` default, `User-Agent`) are added by the sender.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlsplit

from pydantic_core import from_json

from batchtasks._private.constants import API_VERSION, JSON_CONTENT_TYPE
from batchtasks._private.errors import BatchServiceError, error_from_response
from batchtasks._private.options import ConditionalOptions, RequestOptions, check_names
from batchtasks._private.signing import format_ocp_date

__all__ = [
    "Request",
    "RequestOptions",
    "Response",
    "decode_json",
    "decode_value_list",
    "encode_query",
    "loads_json",
    "next_link_of",
    "request_for_next_link",
    "request_query",
    "request_url",
]

#: Headers the caller may not set through `custom_headers`: the sender computes them.
_RESERVED_HEADERS: Final = frozenset({"authorization", "host", "content-length"})
_CONDITIONS: Final = ("if_match", "if_none_match", "if_modified_since", "if_unmodified_since")


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, as plain data.

    Attributes:
        method: "GET" | "POST" | "PUT" | "DELETE".
        path: percent-encoded, e.g. "/jobs/j1/tasks".
        query: decoded (name, value) pairs; api-version first.
        headers: exactly the headers to send (lower-case names), before per-attempt ones.
        body: the body bytes, or None.
        expected_status: the one success status for this operation.
        idempotent: whether repeating the request cannot do harm (all but the POST adds).
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]
    body: bytes | None
    expected_status: int
    idempotent: bool = True


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP response, as plain data (`headers` is a case-insensitive mapping)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def _http_date(value: datetime | str) -> str:
    return value if isinstance(value, str) else format_ocp_date(value)


def _segment(value: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    if value in (".", ".."):
        # URL normalisation would turn these into another resource's path.
        raise ValueError(f"{what} must not be {value!r}")
    return quote(value, safe="")


def encode_query(query: Iterable[tuple[str, str]]) -> str:
    """Percent-encode decoded query pairs for the URL (`$` kept literal in names, like msrest).

    Spaces become `%20` and every reserved character is escaped, so the service (and the
    signature's `parse_qs` view) decodes exactly the given values.
    """
    try:
        return "&".join(f"{quote(name, safe='$')}={quote(value, safe='')}" for name, value in query)
    except UnicodeEncodeError as exc:
        # A lone surrogate cannot be sent in UTF-8; say which parameter instead of a codec error.
        bad = next(name for name, value in query if not _encodable(value))
        raise ValueError(f"query parameter {bad!r} is not valid Unicode: {exc.reason}") from None


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Requests of one operation repeat the same query (e.g. only the api-version), and each is
# encoded twice (URL and signature): encode each distinct query once. Bounded.
_ENCODED_QUERIES: dict[tuple[tuple[str, str], ...], str] = {}
_ENCODED_QUERIES_SIZE = 128


def request_query(request: Request) -> str:
    """`encode_query(request.query)`, computed once per distinct query."""
    query = request.query
    try:
        return _ENCODED_QUERIES[query]
    except KeyError:
        pass
    except TypeError:  # an unhashable query (not a tuple of str pairs): no caching
        return encode_query(query)
    encoded = encode_query(query)
    if len(_ENCODED_QUERIES) >= _ENCODED_QUERIES_SIZE:
        _ENCODED_QUERIES.clear()
    _ENCODED_QUERIES[query] = encoded
    return encoded


def request_url(base_url: str, request: Request) -> str:
    """The full encoded URL of `request` against `base_url` (scheme://host[:port], no slash)."""
    url = base_url.rstrip("/") + request.path
    if request.query:
        url += "?" + request_query(request)
    return url


def _headers(
    opts: Mapping[str, Any],
    *,
    body: bytes | None,
    has_body_semantics: bool,
    conditional: bool,
) -> dict[str, str]:
    headers: dict[str, str] = {"accept": "application/json"}
    custom_headers = opts.get("custom_headers")
    if custom_headers:
        for name, value in custom_headers.items():
            lower = name.lower()
            if lower in _RESERVED_HEADERS:
                raise ValueError(f"custom_headers may not set {name!r}; batchtasks computes it")
            headers[lower] = value
    if body is not None:
        headers["content-type"] = JSON_CONTENT_TYPE
        headers["content-length"] = str(len(body))
    elif has_body_semantics:
        # aiohttp would add Content-Length: 0 anyway; say it explicitly so it is signed (§9.2 a).
        headers["content-length"] = "0"
    if (client_request_id := opts.get("client_request_id")) is not None:
        headers["client-request-id"] = client_request_id
    if (echo := opts.get("return_client_request_id")) is not None:
        headers["return-client-request-id"] = "true" if echo else "false"
    if (ocp_date := opts.get("ocp_date")) is not None:
        headers["ocp-date"] = _http_date(ocp_date)
    conditions = [(name, opts.get(name)) for name in _CONDITIONS]
    if not conditional and any(value is not None for _, value in conditions):
        raise ValueError("this operation does not accept conditional headers")
    for name, value in conditions:
        if value is not None:
            # if_modified_since -> if-modified-since; the two time conditions are HTTP dates.
            text = value if name.endswith("match") else _http_date(value)
            headers[name.replace("_", "-")] = text
    return headers


def _query(opts: Mapping[str, Any], *pairs: tuple[str, object]) -> tuple[tuple[str, str], ...]:
    out = [("api-version", API_VERSION)]
    for name, value in pairs:
        if value is not None:
            out.append((name, str(value)))
    timeout = opts.get("timeout")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
            raise ValueError("timeout must be a positive whole number of seconds")
        out.append(("timeout", str(timeout)))
    return tuple(out)


def _max_results(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise ValueError("max_results must be an integer from 1 to 1000")
    return value


def _build(
    method: str,
    path: str,
    opts: Mapping[str, Any],
    *,
    expected: int,
    query: tuple[tuple[str, object], ...] = (),
    body: bytes | None = None,
    conditional: bool = False,
    idempotent: bool = True,
) -> Request:
    check_names(opts)
    return Request(
        method=method,
        path=path,
        query=_query(opts, *query),
        headers=_headers(
            opts, body=body, has_body_semantics=method != "GET", conditional=conditional
        ),
        body=body,
        expected_status=expected,
        idempotent=idempotent,
    )


def _tasks_path(job_id: str) -> str:
    return f"/jobs/{_segment(job_id, 'job_id')}/tasks"


def _task_path(job_id: str, task_id: str) -> str:
    return f"{_tasks_path(job_id)}/{_segment(task_id, 'task_id')}"


# --- Task operations (§2) -------------------------------------------------------------------


def task_add(job_id: str, body: bytes, opts: RequestOptions) -> Request:
    """POST /jobs/{jobId}/tasks -> 201."""
    return _build("POST", _tasks_path(job_id), opts, expected=201, body=body, idempotent=False)


def task_add_collection(job_id: str, body: bytes, opts: RequestOptions) -> Request:
    """POST /jobs/{jobId}/addtaskcollection -> 200 with a TaskAddCollectionResult."""
    path = f"/jobs/{_segment(job_id, 'job_id')}/addtaskcollection"
    return _build("POST", path, opts, expected=200, body=body, idempotent=False)


def task_list(
    job_id: str,
    opts: RequestOptions,
    *,
    filter: str | None = None,
    select: str | None = None,
    expand: str | None = None,
    max_results: int | None = None,
) -> Request:
    """GET /jobs/{jobId}/tasks -> 200 with a CloudTaskListResult (first page)."""
    query = (
        ("$filter", filter),
        ("$select", select),
        ("$expand", expand),
        ("maxresults", _max_results(max_results)),
    )
    return _build("GET", _tasks_path(job_id), opts, expected=200, query=query)


def task_get(
    job_id: str,
    task_id: str,
    opts: ConditionalOptions,
    *,
    select: str | None = None,
    expand: str | None = None,
) -> Request:
    """GET /jobs/{jobId}/tasks/{taskId} -> 200 with a CloudTask."""
    query = (("$select", select), ("$expand", expand))
    path = _task_path(job_id, task_id)
    return _build("GET", path, opts, expected=200, query=query, conditional=True)


def task_delete(job_id: str, task_id: str, opts: ConditionalOptions) -> Request:
    """DELETE /jobs/{jobId}/tasks/{taskId} -> 200."""
    return _build("DELETE", _task_path(job_id, task_id), opts, expected=200, conditional=True)


def task_update(job_id: str, task_id: str, body: bytes, opts: ConditionalOptions) -> Request:
    """PUT /jobs/{jobId}/tasks/{taskId} with a TaskUpdateParameter -> 200."""
    path = _task_path(job_id, task_id)
    return _build("PUT", path, opts, expected=200, body=body, conditional=True)


def task_list_subtasks(
    job_id: str, task_id: str, opts: RequestOptions, *, select: str | None = None
) -> Request:
    """GET /jobs/{jobId}/tasks/{taskId}/subtasksinfo -> 200 (not paged)."""
    path = f"{_task_path(job_id, task_id)}/subtasksinfo"
    return _build("GET", path, opts, expected=200, query=(("$select", select),))


def task_terminate(job_id: str, task_id: str, opts: ConditionalOptions) -> Request:
    """POST /jobs/{jobId}/tasks/{taskId}/terminate (no body) -> 204."""
    path = f"{_task_path(job_id, task_id)}/terminate"
    return _build("POST", path, opts, expected=204, conditional=True)


def task_reactivate(job_id: str, task_id: str, opts: ConditionalOptions) -> Request:
    """POST /jobs/{jobId}/tasks/{taskId}/reactivate (no body) -> 204."""
    path = f"{_task_path(job_id, task_id)}/reactivate"
    return _build("POST", path, opts, expected=204, conditional=True)


# --- Job operations -------------------------------------------------------------------------


def job_add(body: bytes, opts: RequestOptions) -> Request:
    """POST /jobs with a JobAddParameter -> 201."""
    return _build("POST", "/jobs", opts, expected=201, body=body, idempotent=False)


def job_get(
    job_id: str, opts: ConditionalOptions, *, select: str | None = None, expand: str | None = None
) -> Request:
    """GET /jobs/{jobId} -> 200 with a CloudJob."""
    path = f"/jobs/{_segment(job_id, 'job_id')}"
    query = (("$select", select), ("$expand", expand))
    return _build("GET", path, opts, expected=200, query=query, conditional=True)


def job_delete(job_id: str, opts: ConditionalOptions) -> Request:
    """DELETE /jobs/{jobId} -> 202 (the job goes to `deleting`)."""
    path = f"/jobs/{_segment(job_id, 'job_id')}"
    return _build("DELETE", path, opts, expected=202, conditional=True)


def job_get_task_counts(job_id: str, opts: RequestOptions) -> Request:
    """GET /jobs/{jobId}/taskcounts -> 200 with a TaskCountsResult."""
    return _build("GET", f"/jobs/{_segment(job_id, 'job_id')}/taskcounts", opts, expected=200)


def job_list(
    opts: RequestOptions,
    *,
    filter: str | None = None,
    select: str | None = None,
    expand: str | None = None,
    max_results: int | None = None,
) -> Request:
    """GET /jobs -> 200 with a CloudJobListResult (first page)."""
    query = (
        ("$filter", filter),
        ("$select", select),
        ("$expand", expand),
        ("maxresults", _max_results(max_results)),
    )
    return _build("GET", "/jobs", opts, expected=200, query=query)


# --- Paging ---------------------------------------------------------------------------------


def request_for_next_link(first: Request, next_link: str) -> Request:
    """The GET for the page at `next_link`, sent to the client's own endpoint.

    Like the official SDK, the link's path and query are used verbatim (no parameters added).
    Only its path and query are taken: the scheme and host stay the client's, so a link naming
    another host can never receive the client's credentials.
    """
    parts = urlsplit(next_link)
    if not parts.path.startswith("/"):
        raise ValueError("continuation token is not a Batch list link")
    query = tuple(parse_qsl(parts.query, keep_blank_values=True))
    return Request(
        method="GET",
        path=parts.path,
        query=query,
        headers=first.headers,
        body=None,
        expected_status=first.expected_status,
    )


def next_link_of(data: Mapping[str, Any]) -> str | None:
    """The `odata.nextLink` of a list result, or None on the last page."""
    link = data.get("odata.nextLink")
    return link if isinstance(link, str) and link else None


# --- Decoding -------------------------------------------------------------------------------


def check_status(request: Request, response: Response) -> None:
    """Raise the mapped `BatchServiceError` unless `response` has the operation's success status."""
    if response.status != request.expected_status:
        raise error_from_response(
            response.status,
            response.headers,
            response.body,
            expected_status=request.expected_status,
        )


def _bad_body(response: Response, why: str) -> BatchServiceError:
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
        raise _bad_body(response, "body is not JSON") from None
    if not isinstance(data, dict):
        raise _bad_body(response, "body is not a JSON object")
    return data


def decode_value_list(response: Response) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The `value` list of a list-shaped result (and the whole object, for `odata.nextLink`).

    Raises:
        BatchServiceError: the body has no list `value` of objects.
    """
    data = decode_json(response)
    value = data.get("value", [])
    # map/repeat keeps the per-item check in C (a bulk-add answer has up to 100 items).
    if not isinstance(value, list) or not all(map(isinstance, value, repeat(dict))):
        raise _bad_body(response, "`value` is not a list of objects")
    return value, data
