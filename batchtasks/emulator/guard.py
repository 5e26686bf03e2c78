"""Browser-facing guard of the emulator: who may address it, and who may drive its admin API.

The dev key is public and the admin endpoints have no authentication, so a web page must never be
able to reach either:

* **Host**: a request whose ``Host`` is not a loopback name or address (``localhost``,
  ``127.0.0.0/8``, ``[::1]``), nor the interface the emulator was told to bind, nor a name given
  with ``allowed_hosts`` / ``--allowed-host``, is refused (400 ``InvalidHeaderValue``). This stops
  DNS rebinding: a page on ``evil.example`` whose name is re-pointed to 127.0.0.1 still sends
  ``Host: evil.example``.
* **Admin, cross-site**: ``/_emulator/`` refuses a request with a foreign ``Origin`` (or
  ``Origin: null``) or ``Sec-Fetch-Site: cross-site`` (403).
* **Admin, JSON only**: every admin ``POST`` needs ``Content-Type: application/json``, which a
  page can send cross-origin only after a CORS preflight the emulator never approves (415).

Must not import `batchtasks._private` or `batchtasks.models`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

__all__ = ["HostPolicy", "guard_middleware"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Refusal = Callable[[web.Request, str, str], web.StreamResponse]

ADMIN_PREFIX = "/_emulator/"
_WILDCARDS = frozenset({"", "0.0.0.0", "::", "*"})  # noqa: S104 - names, not a bind


def _host_name(value: str) -> str:
    """The host of a ``Host`` header value (port and IPv6 brackets removed), lower-cased."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value  # a bare IPv6 address or a plain name


def is_loopback(host: str) -> bool:
    """Whether `host` (no port) names this machine's loopback interface."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HostPolicy:
    """Which ``Host`` values the emulator answers.

    Args:
        bind_host: the interface the emulator binds (allowed unless it is a wildcard).
        allowed_hosts: more names or addresses to answer to; ``"*"`` answers any host.
    """

    def __init__(self, bind_host: str, allowed_hosts: Iterable[str] = ()) -> None:
        names = {_host_name(h) for h in allowed_hosts if h.strip()}
        self.any_host = "*" in {h.strip() for h in allowed_hosts}
        bind = _host_name(bind_host)
        if bind not in _WILDCARDS:
            names.add(bind)
        self.names = frozenset(names)

    def allows(self, host_header: str | None) -> bool:
        """Whether a request with this ``Host`` header value is answered."""
        if self.any_host:
            return True
        if not host_header:
            return False
        host = _host_name(host_header)
        return host in self.names or is_loopback(host)

    def allows_origin(self, origin: str) -> bool:
        """Whether an ``Origin`` header value is this machine (or an allowed host)."""
        if origin.strip().lower() == "null":
            return False
        parts = urlsplit(origin.strip())
        return parts.scheme in ("http", "https") and self.allows(parts.netloc)


def _admin_refusal(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _is_json(content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


def guard_middleware(policy: HostPolicy, refuse_host: Refusal) -> Middleware:
    """The middleware enforcing `policy`; `refuse_host` renders a refused ``Host`` as Batch does."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host")
        if not policy.allows(host):
            return refuse_host(
                request,
                "Host",
                "the emulator answers only to loopback names; start it with --allowed-host "
                f"{_host_name(host or '') or 'NAME'} to answer to this one",
            )
        if request.path.startswith(ADMIN_PREFIX):
            origin = request.headers.get("Origin")
            site = request.headers.get("Sec-Fetch-Site", "").lower()
            if (origin is not None and not policy.allows_origin(origin)) or site == "cross-site":
                return _admin_refusal(403, "cross-site requests to the admin API are refused")
            if request.method == "POST" and not _is_json(request.headers.get("Content-Type", "")):
                return _admin_refusal(
                    415, "admin POST requests need Content-Type: application/json"
                )
        return await handler(request)

    return guard
