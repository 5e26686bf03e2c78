"""HTTP protocol details shared by the handlers: query/header/body parsing and response shaping.

Validates ``$select``/``$expand``/``maxresults``/``timeout``/``$skiptoken``, compiles ``$filter``,
builds ``odata.nextLink``, checks conditional headers, reads bodies under the size limit, and
builds responses with the service's headers. Must not touch the store.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from .constants import API_VERSION, JSON_CONTENT_TYPE, MAX_RESULTS_DEFAULT
from .context import CLOSE_CONNECTION, CONTEXT, REQUEST_ID, Context
from .errors import ApiError
from .filters import FieldMap, FilterError, compile_filter
from .formats import parse_iso, parse_rfc1123, rfc1123

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

_CONDITION_HEADERS = ("If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since")


def ctx(request: web.Request) -> Context:
    """The emulator context of the app serving `request`."""
    return request.app[CONTEXT]


def api_version(request: web.Request) -> str:
    """The request's api-version (the middleware has checked that it is one served)."""
    return request.query["api-version"]


def base_url(request: web.Request) -> str:
    """``scheme://host[:port]`` as the client addressed us (nextLink/url must be reachable)."""
    return f"{request.scheme}://{request.host}"


def stamp_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Add the headers every answer carries: request-id, DataServiceVersion, Server, and the
    caller's client-request-id when it asked for it back (before a streamed body starts)."""
    response.headers["request-id"] = request[REQUEST_ID]
    response.headers["DataServiceVersion"] = "3.0"
    response.headers["Server"] = "batchtasks-emulator"
    if request.headers.get("return-client-request-id", "").lower() == "true":
        client_id = request.headers.get("client-request-id")
        if client_id:
            response.headers["client-request-id"] = client_id


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response with the service's content type."""
    return web.Response(
        body=_dumps(body).encode("utf-8"),
        status=status,
        headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})},
    )


def empty_response(status: int, headers: dict[str, str] | None = None) -> web.Response:
    """A response without body (201/202/204/200 writes)."""
    return web.Response(status=status, headers=headers)


def resource_headers(resource: dict[str, Any], data_service_id: str | None) -> dict[str, str]:
    """ETag (unquoted), Last-Modified (RFC 1123) and optionally DataServiceId."""
    headers = {"ETag": resource["eTag"]}
    when = parse_iso(resource["lastModified"])
    if when is not None:
        headers["Last-Modified"] = rfc1123(when)
    if data_service_id is not None:
        headers["DataServiceId"] = data_service_id
    return headers


def _int_param(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise _bad_query(name, raw, f"The value of {name} must be an integer.") from None


def _bad_query(name: str, value: str, reason: str) -> ApiError:
    return ApiError(
        "InvalidQueryParameterValue",
        [("QueryParameterName", name), ("QueryParameterValue", value), ("Reason", reason)],
    )


def check_timeout(request: web.Request) -> None:
    """Validate the optional ``timeout`` query parameter (its value is otherwise ignored)."""
    value = _int_param(request, "timeout")
    if value is not None and value < 1:
        raise ApiError(
            "OutOfRangeQueryParameterValue",
            [("QueryParameterName", "timeout"), ("QueryParameterValue", str(value))],
        )


def parse_select(request: web.Request, allowed: frozenset[str]) -> frozenset[str] | None:
    """The ``$select`` property names, validated against `allowed` (None: no $select)."""
    raw = request.query.get("$select")
    if raw is None:
        return None
    names = frozenset(n.strip() for n in raw.split(","))
    bad = sorted(n for n in names if n not in allowed)
    if bad or not names:
        raise _bad_query("$select", raw, f"Unknown property {bad[0] if bad else ''!r}.")
    return names


def parse_expand(request: web.Request) -> bool:
    """Whether ``$expand=stats`` was asked for (anything else is rejected)."""
    raw = request.query.get("$expand")
    if raw is None:
        return False
    names = {n.strip() for n in raw.split(",")}
    if names != {"stats"}:
        raise _bad_query("$expand", raw, "Only 'stats' can be expanded.")
    return True


def parse_maxresults(request: web.Request) -> int:
    """``maxresults`` (1..1000, default 1000)."""
    value = _int_param(request, "maxresults")
    if value is None:
        return MAX_RESULTS_DEFAULT
    if not 1 <= value <= MAX_RESULTS_DEFAULT:
        raise ApiError(
            "OutOfRangeQueryParameterValue",
            [
                ("QueryParameterName", "maxresults"),
                ("QueryParameterValue", str(value)),
                ("Reason", "maxresults must be between 1 and 1000."),
            ],
        )
    return value


def parse_filter(request: web.Request, fields: FieldMap) -> tuple[str | None, list[object]]:
    """Compile ``$filter`` (or nothing)."""
    raw = request.query.get("$filter")
    if raw is None:
        return None, []
    try:
        return compile_filter(raw, fields)
    except FilterError as exc:
        raise _bad_query("$filter", raw, str(exc)) from None


def encode_token(cursor: str) -> str:
    """An opaque continuation token for a cursor."""
    return base64.urlsafe_b64encode(_dumps({"v": 1, "after": cursor}).encode()).decode().rstrip("=")


def decode_token(request: web.Request) -> str | None:
    """The cursor from ``$skiptoken`` (None on the first page)."""
    raw = request.query.get("$skiptoken")
    if raw is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        after = data["after"]
        if not isinstance(after, str):
            raise TypeError
        after.encode("utf-8")  # a lone surrogate cannot be a cursor (nor be bound in SQL)
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError):
        raise _bad_query("$skiptoken", raw, "The continuation token is not valid.") from None
    return after


def next_link(request: web.Request, cursor: str, limit: int) -> str:
    """Absolute URL of the next page, carrying api-version and every list parameter."""
    params: list[tuple[str, str]] = [
        ("api-version", request.query.get("api-version", API_VERSION)),
        ("maxresults", str(limit)),
    ]
    for name in ("$filter", "$select", "$expand", "recursive", "timeout"):
        if name in request.query:
            params.append((name, request.query[name]))
    params.append(("$skiptoken", encode_token(cursor)))
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in params)
    return f"{base_url(request)}{request.rel_url.raw_path}?{query}"


def _condition(request: web.Request) -> tuple[str, str] | None:
    present = [(h, request.headers[h]) for h in _CONDITION_HEADERS if h in request.headers]
    if len(present) > 1:
        raise ApiError("MultipleConditionHeadersNotSupported")
    if not present:
        return None
    name, value = present[0]
    if name in ("If-Modified-Since", "If-Unmodified-Since") and parse_rfc1123(value) is None:
        raise ApiError("InvalidHeaderValue", [("HeaderName", name), ("HeaderValue", value)])
    return present[0]


def condition_checker(request: web.Request, *, read: bool) -> Callable[[dict[str, Any]], None]:
    """A function that raises ConditionNotMet (304 on reads, 412 on writes) for a resource.

    Header syntax is checked now; the resource is checked when the returned function is called
    (inside the store's transaction for writes, so the check and the write are atomic).
    """
    cond = _condition(request)

    def check(resource: dict[str, Any]) -> None:
        if cond is None:
            return
        name, value = cond
        etag = resource["eTag"]
        modified = parse_iso(resource["lastModified"])
        assert modified is not None
        modified = modified.replace(microsecond=0)
        ok: bool
        # Tolerate clients that quote ETags (HTTP style); the service's ETags are unquoted.
        wanted = value.strip().removeprefix("W/").strip('"')
        if name == "If-Match":
            ok = wanted in ("*", etag)
        elif name == "If-None-Match":
            ok = wanted not in ("*", etag)
        else:
            since = parse_rfc1123(value)
            assert since is not None
            ok = modified > since if name == "If-Modified-Since" else modified <= since
        if not ok:
            raise ApiError(
                "ConditionNotMet",
                status=304 if read else 412,
                headers=resource_headers(resource, None),
            )

    return check


async def read_json(request: web.Request) -> object:
    """Read the body (bounded by the body limit) and decode it as JSON.

    Raises:
        ApiError: RequestBodyTooLarge (413) or InvalidRequestBody (400).
    """
    limit = ctx(request).faults.config.body_limit
    length = request.content_length
    if length is not None and length >= limit:
        raise too_large(request, limit)
    # Read with a cap, so a chunked body or a lying Content-Length is never read whole.
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size >= limit:
            raise too_large(request, limit)
        chunks.append(chunk)
    data = b"".join(chunks)
    try:
        parsed = json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError("InvalidRequestBody", [("Reason", "The body is not valid JSON.")]) from None
    if _ESCAPED_SURROGATE.search(data) is not None:
        # '\ud800' parses to a lone surrogate, which has no UTF-8 form: storing or echoing it
        # would fail later. Only bodies with such an escape pay for this check.
        try:
            _dumps(parsed).encode("utf-8")
        except (UnicodeEncodeError, RecursionError):
            raise ApiError(
                "InvalidRequestBody",
                [("Reason", "The body contains an unpaired UTF-16 surrogate escape.")],
            ) from None
    return parsed


_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def _reject_constant(name: str) -> object:
    # NaN/Infinity are not JSON; accepting them would make our own responses invalid JSON.
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def too_large(request: web.Request, limit: int) -> ApiError:
    """A 413 RequestBodyTooLarge, counted; the connection is closed after the answer."""
    ctx(request).faults.count("body_too_large")
    request[CLOSE_CONNECTION] = True
    return ApiError("RequestBodyTooLarge", [("MaxLimit", str(limit))])


# -- jobs ------------------------------------------------------------------------------------
