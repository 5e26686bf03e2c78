"""The aiohttp application: middleware (auth, api-version, faults, error rendering) + admin API.

The middleware is the one place where a request becomes authenticated, where faults are injected
and where `ApiError` becomes the service's error body. Admin endpoints under ``/_emulator/``
need no auth (the emulator binds loopback by default) and are documented in the README:

* ``GET /_emulator/faults`` / ``POST /_emulator/faults`` (JSON `FaultConfig`, partial updates)
* ``POST /_emulator/reset`` — delete all jobs and tasks, zero all counters
* ``GET /_emulator/stats`` — requests, tasks added, faults injected by kind, stored counts
* ``POST /_emulator/advance`` — ``{"seconds": N}`` moves the simulated clock and steps tasks
* ``GET /_emulator/openapi.json`` — a small OpenAPI document of the emulated operations

Must not contain operation logic (that is `routes.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from .auth import verify
from .connections import ConnectionGuard, ConnectionLimits
from .constants import ERROR_CONTENT_TYPE
from .context import CLOSE_CONNECTION, CONTEXT, OPERATION, REQUEST_ID, Context
from .errors import ERRORS, ApiError, error_body
from .faults import FaultConfig
from .files import files
from .formats import iso7, utcnow
from .guard import HostPolicy, guard_middleware
from .job_routes import job_routes
from .openapi import openapi_document
from .protocol import base_url, stamp_headers
from .routes import routes
from .taskcounts import routes as taskcount_routes
from .versions import classify

logger = logging.getLogger("batchtasks.emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ADMIN_PREFIX = "/_emulator/"
_WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})


def error_response(request: web.Request, exc: ApiError) -> web.Response:
    """Render an ApiError as the service does (no body for 304)."""
    headers = dict(exc.headers)
    if exc.status == 304:
        return web.Response(status=304, headers=headers)
    body = error_body(
        exc.code,
        exc.message,
        exc.values,
        request_id=request.get(REQUEST_ID, ""),
        time_text=iso7(utcnow()),
        metadata_base=base_url(request),
    )
    headers["Content-Type"] = ERROR_CONTENT_TYPE
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode("utf-8"),
        status=exc.status,
        headers=headers,
    )


def _socket_base(request: web.BaseRequest) -> str:
    # The address the connection came in on: a refused request's Host is not to be trusted (and
    # may be missing, where aiohttp would look up this machine's name).
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        host = f"[{sockname[0]}]" if ":" in str(sockname[0]) else str(sockname[0])
        return f"http://{host}:{sockname[1]}"
    return "http://127.0.0.1"


def refusal_response(
    request: web.BaseRequest, status: int, code: str, values: list[tuple[str, str]]
) -> web.Response:
    """A Batch error answer to a request refused before routing (bad head, foreign Host)."""
    request_id = str(uuid.uuid4())
    body = error_body(
        code,
        ERRORS[code].message,
        values,
        request_id=request_id,
        time_text=iso7(utcnow()),
        metadata_base=_socket_base(request),
    )
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode("utf-8"),
        status=status,
        headers={
            "Content-Type": ERROR_CONTENT_TYPE,
            "request-id": request_id,
            "DataServiceVersion": "3.0",
            "Server": "batchtasks-emulator",
        },
    )


def _refused_head(request: web.BaseRequest, status: int, code: str, reason: str) -> web.Response:
    return refusal_response(request, status, code, [("Reason", reason)])


def _refused_host(request: web.Request, header: str, reason: str) -> web.Response:
    value = request.headers.get(header, "")[:128]
    return refusal_response(
        request,
        400,
        "InvalidHeaderValue",
        [("HeaderName", header), ("HeaderValue", value), ("Reason", reason)],
    )


def connection_guard(limits: ConnectionLimits) -> ConnectionGuard:
    """A `ConnectionGuard` whose refusals are Batch error bodies."""
    return ConnectionGuard(limits, _refused_head)


def _api_version(request: web.Request) -> None:
    """Every route needs a served api-version (the table in `versions.py`)."""
    version = request.query.get("api-version")
    kind = classify(version)
    if kind == "ok":
        return
    if kind == "missing":
        raise ApiError("MissingRequiredQueryParameter", [("QueryParameterName", "api-version")])
    values = [("QueryParameterName", "api-version"), ("QueryParameterValue", str(version)[:128])]
    if kind == "malformed":
        # Not a version at all: the service's answer for a query value it cannot read.
        raise ApiError("InvalidQueryParameterValue", values)
    raise ApiError("UnsupportedRequestVersion", values)


def _client_request_id(request: web.Request) -> None:
    value = request.headers.get("client-request-id")
    if value is None:
        return
    try:
        uuid.UUID(value)
    except ValueError:
        raise ApiError(
            "InvalidHeaderValue",
            [("HeaderName", "client-request-id"), ("HeaderValue", value[:128])],
        ) from None


def _server_timeout(request: web.Request) -> float:
    """The request's server-side timeout: ``timeout`` capped at 30 s (120 s for add_collection)."""
    cap = 120 if request.path.endswith("/addtaskcollection") else 30
    try:
        value = int(request.query.get("timeout", cap))
    except ValueError:
        return float(cap)
    return float(min(max(value, 1), cap))


def _fault_error(kind: str, retry_after: int) -> ApiError:
    if kind == "server_error":
        return ApiError("InternalError")
    code = "ServerBusy" if kind == "server_busy" else "TooManyRequests"
    return ApiError(code, headers={"Retry-After": str(retry_after)})


@web.middleware
async def batch_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate, check api-version, inject faults, run the handler, render errors."""
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    c = request.app[CONTEXT]
    request[REQUEST_ID] = str(uuid.uuid4())
    request[OPERATION] = getattr(request.match_info.handler, "__name__", "unknown")
    committed_write = False
    response: web.StreamResponse
    try:
        delay = c.faults.latency()
        raw_path, _, raw_query = request.raw_path.partition("?")
        verify(
            c.auth,
            method=request.method,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=request.headers,
            now=utcnow(),
        )
        _api_version(request)
        _client_request_id(request)
        if delay:
            budget = _server_timeout(request)
            await asyncio.sleep(min(delay, budget))
            if delay > budget:
                # The injected latency exceeds the request's server-side timeout.
                raise ApiError("OperationTimedOut")
        fault = c.faults.request_fault()
        if fault is not None:
            raise _fault_error(fault, c.faults.config.retry_after_seconds)
        response = await handler(request)
        committed_write = request.method in _WRITE_METHODS and response.status < 300
    except ApiError as exc:
        response = error_response(request, exc)
    except web.HTTPNotFound:
        # A path that names no resource: 404, so every client raises its "not found" error.
        response = error_response(request, ApiError("ResourceNotFound"))
    except web.HTTPMethodNotAllowed:
        response = error_response(request, ApiError("UnsupportedHttpVerb"))
    except (asyncio.CancelledError, web.HTTPException):
        raise
    except ConnectionResetError:
        # The client went away mid-request (e.g. it cancelled its call): not an emulator error,
        # and nobody is left to read the answer (aiohttp drops it quietly).
        request[CLOSE_CONNECTION] = True
        response = error_response(
            request,
            ApiError("InvalidRequestBody", [("Reason", "The connection closed mid-request.")]),
        )
    except Exception:
        # A bug in the emulator: answer like the service's internal error, keep the trace in
        # the log (request data is not logged, so no credentials end up there).
        logger.exception("unhandled error in %s", request[OPERATION])
        response = error_response(request, ApiError("InternalError"))
    if not response.prepared:  # a streamed body was stamped by its handler before it started
        stamp_headers(request, response)
    if request.get(CLOSE_CONNECTION):
        response.force_close()
    c.counters.request(request[OPERATION], response.status)
    if committed_write and c.faults.drop_after_commit():
        # The write is committed; now vanish without answering, like a connection lost on the
        # way back. The client cannot know whether the request took effect.
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError
    return response


# -- admin -----------------------------------------------------------------------------------

admin = web.RouteTableDef()


def _ctx(request: web.Request) -> Context:
    return request.app[CONTEXT]


def _admin_error(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


@admin.get("/_emulator/faults")
async def get_faults(request: web.Request) -> web.Response:
    """Current fault configuration."""
    return web.json_response(_ctx(request).faults.config.to_json())


@admin.post("/_emulator/faults")
async def set_faults(request: web.Request) -> web.Response:
    """Change fault settings (partial JSON object; ``{"reset": true}`` restores defaults)."""
    c = _ctx(request)
    try:
        data = await request.json()
    except ValueError:
        return _admin_error("body must be a JSON object")
    if not isinstance(data, dict):
        return _admin_error("body must be a JSON object")
    base = FaultConfig() if data.pop("reset", False) else c.faults.config
    try:
        config = FaultConfig.from_json(data, base)
    except (TypeError, ValueError) as exc:
        return _admin_error(str(exc))
    c.faults.configure(config)
    return web.json_response(config.to_json())


@admin.post("/_emulator/reset")
async def reset(request: web.Request) -> web.Response:
    """Delete all data and zero all counters."""
    c = _ctx(request)
    await c.store.reset()
    await asyncio.to_thread(c.nodes.remove_all)
    c.counters.reset()
    c.faults.reset_counts()
    return web.json_response({"reset": True})


async def stats_of(c: Context) -> dict[str, Any]:
    """The stats document of an emulator context."""
    with c.counters.lock:
        counters = {
            "requests": c.counters.requests,
            "tasks_added": c.counters.tasks_added,
            "requests_by_operation": dict(c.counters.by_operation),
            "responses_by_status": dict(c.counters.by_status),
        }
    return {**counters, "faults": c.faults.snapshot(), "stored": await c.store.counts()}


@admin.get("/_emulator/stats")
async def stats(request: web.Request) -> web.Response:
    """Counters: requests, tasks added, faults injected by kind, stored jobs/tasks."""
    return web.json_response(await stats_of(_ctx(request)))


@admin.post("/_emulator/advance")
async def advance(request: web.Request) -> web.Response:
    """Move the simulated clock forward and run one lifecycle step."""
    c = _ctx(request)
    try:
        data = await request.json()
        seconds = float(data["seconds"])
        c.clock.advance(seconds)
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        return _admin_error(f'expected {{"seconds": N >= 0}}: {exc}')
    changed = await c.lifecycle.step()
    return web.json_response({"now": iso7(c.clock.now()), "changed": changed})


@admin.get("/_emulator/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """A small OpenAPI 3 document of the emulated operations."""
    return web.json_response(openapi_document(base_url(request)))


def build_app(
    context: Context,
    *,
    client_max_size: int,
    host_policy: HostPolicy | None = None,
    connections: ConnectionGuard | None = None,
) -> web.Application:
    """Create the aiohttp application for one emulator.

    Args:
        context: shared state.
        client_max_size: aiohttp's own body cap; kept above the fault-configurable body limit
            because handlers enforce the limit themselves with a streaming read.
        host_policy: which Host values are answered (default: loopback names only).
        connections: the connection guard, whose middleware marks connections busy.
    """
    middlewares: list[Middleware] = [] if connections is None else [connections.middleware]
    middlewares += [guard_middleware(host_policy or HostPolicy("127.0.0.1"), _refused_host)]
    middlewares.append(batch_middleware)
    app = web.Application(middlewares=middlewares, client_max_size=client_max_size)
    app[CONTEXT] = context
    app.add_routes(admin)
    app.add_routes(job_routes)
    app.add_routes(routes)
    app.add_routes(taskcount_routes)
    app.add_routes(files)
    return app
