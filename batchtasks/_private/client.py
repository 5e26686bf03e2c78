"""BatchClient: endpoint and option validation, session lifecycle, the operation groups.

Construction only validates and stores: no session, loop, lock or thread is created until the
first request or `__aenter__` inside the running loop. This module must not import aiohttp
(transport.py owns it) nor build requests (protocol.py does).
"""

from __future__ import annotations

import ipaddress
import re
import ssl
import warnings
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn
from urllib.parse import urlsplit

from batchtasks._private.constants import API_VERSION
from batchtasks._private.credentials import (
    AsyncTokenCredential,
    SharedKeyCredential,
    make_authorizer,
)
from batchtasks._private.files import FileOperations
from batchtasks._private.jobs import JobOperations
from batchtasks._private.limits import DEFAULT_RESPONSE_LIMITS, ResponseLimits
from batchtasks._private.logging import LoggingOption, resolve_logger
from batchtasks._private.pipeline import Pipeline
from batchtasks._private.retry import DEFAULT_RETRY_POLICY, RetryPolicy
from batchtasks._private.tasks import TaskOperations
from batchtasks._private.transport import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TIMEOUT,
    HttpTransport,
    Timeout,
    default_user_agent,
)
from batchtasks._private.versions import check_api_version

if TYPE_CHECKING:
    import aiohttp

__all__ = ["BatchClient", "validate_endpoint"]


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown(endpoint: str) -> str:
    """`endpoint` for an error message: any user-info (a key, a password) masked."""
    return re.sub(r"(?i)^([a-z][a-z0-9+.\-]*://).*@", r"\1***@", endpoint)


def validate_endpoint(endpoint: str, *, allow_insecure_http: bool = False) -> str:
    """Check an account endpoint and return it as `scheme://host[:port]`.

    Args:
        endpoint: e.g. `https://myaccount.westus.batch.azure.com` or `http://127.0.0.1:10100`;
            without a scheme, https is meant (`myaccount.westus.batch.azure.com`).
        allow_insecure_http: permit plain http to a host that is not loopback.

    Raises:
        ValueError: not an http(s) URL, has a path/query/credentials, or plain http to a
            non-loopback host without `allow_insecure_http=True`.
    """
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise ValueError(
            f"endpoint must be a URL such as https://<account>.<region>.batch.azure.com, "
            f"got {_shown(endpoint) if isinstance(endpoint, str) else type(endpoint).__name__!r}"
        )
    endpoint = endpoint.strip()
    if "://" not in endpoint:
        # A bare host name, as the Azure CLI and portal show it: the service is https only
        # (the batchtasks command line reads it the same way).
        endpoint = "https://" + endpoint
    shown = _shown(endpoint)
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"endpoint must be an http(s) URL with a host, got {shown!r}")
    if parts.username or parts.password:
        raise ValueError("endpoint must not contain credentials; pass a credential object")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"endpoint must be the account URL without a path or query, got {shown!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"endpoint has an invalid port: {shown!r}") from None
    if scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise ValueError(
            f"refusing plain http to {parts.hostname!r}: signatures and tokens would travel "
            "unencrypted. Use https, or pass allow_insecure_http=True to BatchClient if you "
            "really mean it (plain http is allowed without it only to loopback hosts such as "
            "127.0.0.1 or localhost, e.g. the emulator)."
        )
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


class BatchClient:
    """Async client of one Batch account's Task API.

    Use it as an async context manager::

        async with BatchClient(endpoint, SharedKeyCredential(account, key)) as client:
            await client.jobs.add({"id": "job-1", "poolInfo": {"poolId": "pool-1"}})
            await client.tasks.add("job-1", {"id": "t1", "commandLine": "echo hi"})
            async for task in client.tasks.list("job-1"):
                print(task.id, task.state)

    Args:
        endpoint: the account URL, `https://<account>.<region>.batch.azure.com`.
        credential: a `SharedKeyCredential`, or an async token credential (e.g.
            `azure.identity.aio.DefaultAzureCredential()`; borrowed, never closed).
        session: an `aiohttp.ClientSession` to borrow; it is never closed by the client. Without
            it the client creates its own on first use and closes it on exit / `close()`. A
            borrowed session's TLS settings are the caller's: aiohttp offers no public way to
            see whether its connector verifies certificates, so the client cannot warn about one
            created with `ssl=False`.
        max_connections: connection-pool size of the client's own session (default 64) — the
            most requests in flight at once. Not allowed together with `session`.
        timeout: default client-side `Timeout` (connect/read/total seconds) of each attempt.
        retry_policy: default `RetryPolicy`; every operation accepts `retry_policy=` too.
        user_agent: a prefix for the `User-Agent` header (your application's name/version).
        trace_configs: `aiohttp.TraceConfig`s for the client's own session.
        logging: True (default) logs one DEBUG line per request to `batchtasks.http`; a
            `logging.Logger` to use that one; False to log nothing. Headers are never logged.
        ssl_context: TLS settings for the client's own session (verification stays on unless
            your context turns it off).
        allow_insecure_http: allow `http://` to a host that is not loopback.
        response_limits: the largest answer bodies (after decompression) the client reads, by
            kind (`ResponseLimits(resource=, page=, collection=)`); a larger success answer
            raises `ResponseTooLargeError`.
        api_version: the Batch REST api-version to speak, one of `SUPPORTED_API_VERSIONS`
            (2022-10-01.16.0 … 2025-06-01; default 2024-02-01.19.0). A request property the
            chosen version does not define raises `TaskValidationError` before anything is sent
            (single adds; a bulk add reports the service's answer per task).

    Raises:
        ValueError: bad endpoint or option combination.
        TypeError: unsupported credential.
    """

    #: Connection-pool size of a client's own session when `max_connections` is not given.
    DEFAULT_MAX_CONNECTIONS: ClassVar[int] = DEFAULT_MAX_CONNECTIONS

    def __init__(
        self,
        endpoint: str,
        credential: SharedKeyCredential | AsyncTokenCredential,
        *,
        session: aiohttp.ClientSession | None = None,
        max_connections: int | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        user_agent: str | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] | None = None,
        logging: LoggingOption = True,
        ssl_context: ssl.SSLContext | None = None,
        allow_insecure_http: bool = False,
        response_limits: ResponseLimits = DEFAULT_RESPONSE_LIMITS,
        api_version: str = API_VERSION,
    ) -> None:
        api_version = check_api_version(api_version)
        self._endpoint = validate_endpoint(endpoint, allow_insecure_http=allow_insecure_http)
        if session is not None:
            for name, value in (
                ("max_connections", max_connections),
                ("trace_configs", trace_configs),
                ("ssl_context", ssl_context),
            ):
                if value is not None:
                    raise ValueError(
                        f"{name} configures the client's own session; with session= set it on "
                        "your session instead"
                    )
        if (
            ssl_context is not None
            and self._endpoint.startswith("https:")
            and (ssl_context.verify_mode == ssl.CERT_NONE or not ssl_context.check_hostname)
        ):
            # Never silent: without verification anyone on the path can read the signed
            # requests (and their bearer tokens) and answer in the service's name.
            warnings.warn(
                "ssl_context turns off TLS certificate or hostname verification: the client will "
                f"trust any server that answers for {self._endpoint}",
                UserWarning,
                stacklevel=2,
            )
        if not isinstance(timeout, Timeout):
            raise TypeError("timeout must be a batchtasks.Timeout")
        if not isinstance(retry_policy, RetryPolicy):
            raise TypeError("retry_policy must be a batchtasks.RetryPolicy")
        if not isinstance(response_limits, ResponseLimits):
            raise TypeError("response_limits must be a batchtasks.ResponseLimits")
        agent = default_user_agent()
        self._transport = HttpTransport(
            self._endpoint,
            session=session,
            max_connections=max_connections or DEFAULT_MAX_CONNECTIONS,
            ssl_context=ssl_context,
            trace_configs=trace_configs,
            user_agent=f"{user_agent} {agent}" if user_agent else agent,
            logger=resolve_logger(logging),
            response_limits=response_limits,
        )
        self._credential = credential
        self._pipeline = Pipeline(
            self._transport,
            make_authorizer(credential),
            retry_policy=retry_policy,
            timeout=timeout,
            api_version=api_version,
        )
        self.tasks = TaskOperations(self._pipeline)
        self.jobs = JobOperations(self._pipeline)
        self.files = FileOperations(self._pipeline)

    @property
    def endpoint(self) -> str:
        """The normalised account endpoint (`scheme://host[:port]`)."""
        return self._endpoint

    @property
    def api_version(self) -> str:
        """The api-version every request of this client carries."""
        return self._pipeline.api_version

    @property
    def retry_policy(self) -> RetryPolicy:
        """The client's default retry policy."""
        return self._pipeline.retry_policy

    @property
    def timeout(self) -> Timeout:
        """The client's default client-side timeout."""
        return self._pipeline.timeout

    @property
    def response_limits(self) -> ResponseLimits:
        """The largest answers the client reads, by kind."""
        return self._transport.response_limits

    @property
    def max_connections(self) -> int:
        """How many requests the connection pool lets run at once (bulk concurrency must fit)."""
        return self._transport.max_connections

    @property
    def closed(self) -> bool:
        """True after `close()` (or leaving `async with`)."""
        return self._transport.closed

    def __repr__(self) -> str:
        return f"BatchClient(endpoint={self._endpoint!r}, credential={self._credential!r})"

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("BatchClient holds a credential and a session and cannot be pickled")

    async def __aenter__(self) -> BatchClient:
        await self._transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the client's own session (a borrowed session stays open). Idempotent."""
        await self._transport.close()
