"""The wire shape of the Batch API, sans I/O: `Request`/`Response` and how a request is built.

`build_request` turns an operation's method, path, query pairs and keyword options
(options.py) into a `Request` with exactly the headers to send; `request_url` / `request_query`
encode it for the wire and the signature alike. Operation modules (protocol.py, and any new
one) use these building blocks::

    def job_task_counts(job_id: str, opts: RequestOptions) -> Request:
        # GET /jobs/{jobId}/taskcounts -> 200 with a TaskCountsResult
        path = f"/jobs/{path_segment(job_id, 'job_id')}/taskcounts"
        return build_request("GET", path, opts, expected=200)

The module must not import aiohttp, do I/O, read clocks or know about credentials: per-attempt
headers (`ocp-date`, `Authorization`, `client-request-id` default, `User-Agent`) are added by
the sender (pipeline.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlsplit

from batchtasks._private.constants import API_VERSION, JSON_CONTENT_TYPE
from batchtasks._private.options import check_names
from batchtasks._private.signing import format_ocp_date

__all__ = [
    "GET_ODATA",
    "LIST_ODATA",
    "Request",
    "Response",
    "build_request",
    "encode_query",
    "max_results_param",
    "path_segment",
    "request_for_next_link",
    "request_query",
    "request_url",
    "task_path",
    "tasks_path",
]

#: Headers the caller may not set through `custom_headers`: the sender computes them.
_RESERVED_HEADERS: Final = frozenset({"authorization", "host", "content-length"})
_CONDITIONS: Final = ("if_match", "if_none_match", "if_modified_since", "if_unmodified_since")
#: The OData options (`GetOptions`, `ListOptions`) and their query parameters, in sending order.
_ODATA: Final = (
    ("filter", "$filter"),
    ("select", "$select"),
    ("expand", "$expand"),
    ("max_results", "maxresults"),
)
#: What `build_request(odata=...)` accepts for a get and for a list.
GET_ODATA: Final = frozenset({"select", "expand"})
LIST_ODATA: Final = frozenset({"filter", "select", "expand", "max_results"})


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


def path_segment(value: str, what: str) -> str:
    """`value` percent-encoded as one path segment (`what` names it in the error).

    Raises:
        ValueError: empty, not a string, or `.`/`..` (which URL normalisation would resolve).
    """
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


def _query(
    opts: Mapping[str, Any], odata: frozenset[str], pairs: tuple[tuple[str, object], ...]
) -> tuple[tuple[str, str], ...]:
    out = [("api-version", API_VERSION)]
    for name, param in _ODATA:
        value = opts.get(name)
        if name not in odata:
            if name in opts:  # an OData option this operation has not got
                raise TypeError(f"unexpected keyword argument {name!r}")
        elif value is not None:
            out.append((param, str(max_results_param(value) if name == "max_results" else value)))
    for name, value in pairs:
        if value is not None:
            out.append((name, str(value)))
    timeout = opts.get("timeout")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
            raise ValueError("timeout must be a positive whole number of seconds")
        out.append(("timeout", str(timeout)))
    return tuple(out)


def max_results_param(value: int | None) -> int | None:
    """A list operation's `maxresults` (1-1000), checked; None when not given."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise ValueError("max_results must be an integer from 1 to 1000")
    return value


def build_request(
    method: str,
    path: str,
    opts: Mapping[str, Any],
    *,
    expected: int,
    odata: frozenset[str] = frozenset(),
    query: tuple[tuple[str, object], ...] = (),
    body: bytes | None = None,
    conditional: bool = False,
    idempotent: bool = True,
) -> Request:
    """The `Request` of one operation call.

    Args:
        method, path: HTTP method and percent-encoded path (see `path_segment`).
        opts: the call's keyword options (`RequestOptions`, `ConditionalOptions`, ...).
        expected: the operation's one success status.
        odata: the OData options of `opts` this operation takes (`GET_ODATA`, `LIST_ODATA`).
        query: the operation's own further (name, value) pairs; None values are left out.
        body: the body bytes, if any.
        conditional: whether the operation accepts the `if_*` headers.
        idempotent: False for the adds (the pipeline retries them more carefully).

    Raises:
        TypeError: `opts` holds a name that is no option, or an OData option not in `odata`.
        ValueError: a bad option value, or conditional headers where none are accepted.
    """
    check_names(opts)
    return Request(
        method=method,
        path=path,
        query=_query(opts, odata, query),
        headers=_headers(
            opts, body=body, has_body_semantics=method != "GET", conditional=conditional
        ),
        body=body,
        expected_status=expected,
        idempotent=idempotent,
    )


def tasks_path(job_id: str) -> str:
    """`/jobs/{job_id}/tasks`, encoded."""
    return f"/jobs/{path_segment(job_id, 'job_id')}/tasks"


def task_path(job_id: str, task_id: str) -> str:
    """`/jobs/{job_id}/tasks/{task_id}`, encoded."""
    return f"{tasks_path(job_id)}/{path_segment(task_id, 'task_id')}"


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
