"""Which Batch account the CLI talks to, and how it authenticates — chosen like the Azure CLI does.

Order: ``--account-endpoint/--account-name/--account-key`` flags, then the environment
(``AZURE_BATCH_ENDPOINT``, ``AZURE_BATCH_ACCOUNT``, ``AZURE_BATCH_ACCESS_KEY``). An endpoint with a
key uses Shared Key; an endpoint without a key uses Microsoft Entra ID through azure-identity's
``DefaultAzureCredential`` when it is installed. With nothing configured the command runs against
the local emulator: one started in-process on the per-user data folder
(`batchtasks.emulator.datadir.default_location`), so that successive commands see the same jobs
and tasks; stderr says so, with the folder.

The key lives only inside the credential object: this module must never print, log or put it into
an exception, and `AccountSettings.__repr__` hides it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit

from batchtasks import BatchClient
from batchtasks.cli._errors import UsageError

__all__ = ["AccountSettings", "connection_pool_size", "open_client", "resolve_account"]

ENV_ENDPOINT = "AZURE_BATCH_ENDPOINT"
ENV_ACCOUNT = "AZURE_BATCH_ACCOUNT"
ENV_KEY = "AZURE_BATCH_ACCESS_KEY"


@dataclass(frozen=True)
class AccountSettings:
    """The resolved account. ``endpoint is None`` means: use the local emulator.

    Attributes:
        endpoint: base URL (``https://acct.region.batch.azure.com``), or None for the emulator.
        account_name: the account name for Shared Key (None with Entra ID).
        key: the account key (None with Entra ID); never shown by repr.
        allow_insecure_http: ``--allow-insecure-http``: plain http to a host beyond loopback.
    """

    endpoint: str | None
    account_name: str | None = None
    key: str | None = field(default=None, repr=False)
    allow_insecure_http: bool = False

    @property
    def auth_kind(self) -> str:
        """``"emulator"``, ``"shared-key"`` or ``"entra-id"``."""
        if self.endpoint is None:
            return "emulator"
        return "shared-key" if self.key else "entra-id"


def _normalise_endpoint(endpoint: str) -> str:
    endpoint = endpoint.strip().rstrip("/")
    if "://" not in endpoint:
        # The Azure CLI accepts a bare host name; the service is https only (BatchClient does
        # the same, so the library and the command line accept the same endpoints).
        endpoint = "https://" + endpoint
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"invalid account endpoint {endpoint!r}: expected https://HOST")
    return endpoint


def resolve_account(
    *,
    endpoint: str | None,
    account_name: str | None,
    key: str | None,
    allow_insecure_http: bool = False,
    environ: Mapping[str, str] | None = None,
) -> AccountSettings:
    """Combine flags and environment into `AccountSettings`.

    Args:
        endpoint: ``--account-endpoint`` (None when not given).
        account_name: ``--account-name``.
        key: ``--account-key``.
        allow_insecure_http: ``--allow-insecure-http``.
        environ: the environment to read (default: ``os.environ``).

    Returns:
        The settings; ``endpoint`` is None when nothing at all is configured.

    Raises:
        UsageError: an incomplete or contradictory configuration.
    """
    env = os.environ if environ is None else environ
    endpoint = endpoint or env.get(ENV_ENDPOINT) or None
    account_name = account_name or env.get(ENV_ACCOUNT) or None
    key = key or env.get(ENV_KEY) or None
    if endpoint is None:
        if key or account_name:
            raise UsageError(
                "an account name or key was given but no endpoint: "
                f"set --account-endpoint or {ENV_ENDPOINT}"
            )
        return AccountSettings(endpoint=None)
    endpoint = _normalise_endpoint(endpoint)
    if key is None:
        return AccountSettings(
            endpoint=endpoint, account_name=account_name, allow_insecure_http=allow_insecure_http
        )
    if account_name is None:
        host = urlsplit(endpoint).hostname or ""
        if host.endswith(".batch.azure.com"):
            account_name = host.split(".", 1)[0]
        else:
            raise UsageError(
                f"an account key needs an account name: set --account-name or {ENV_ACCOUNT}"
            )
    return AccountSettings(
        endpoint=endpoint,
        account_name=account_name,
        key=key,
        allow_insecure_http=allow_insecure_http,
    )


def _entra_credential() -> Any:
    try:
        identity = importlib.import_module("azure.identity.aio")
    except ImportError:
        raise UsageError(
            "an endpoint without an account key needs Microsoft Entra ID: "
            "pip install 'batchtasks[identity]' (azure-identity), "
            f"or give a key with --account-key or {ENV_KEY}"
        ) from None
    return identity.DefaultAzureCredential()


_DEFAULT_POOL = BatchClient.DEFAULT_MAX_CONNECTIONS


def connection_pool_size(concurrency: int | None) -> int | None:
    """`max_connections` for a client that will run `concurrency` requests at once.

    Returns:
        None (the client's default) unless more connections than that are needed.
    """
    if concurrency is None or concurrency <= _DEFAULT_POOL:
        return None
    return concurrency


def _client(settings: AccountSettings, endpoint: str, credential: Any, pool: int | None) -> Any:
    """A `BatchClient`, or a one-line `UsageError` whose advice names the CLI's own flag."""
    try:
        return BatchClient(
            endpoint,
            credential,
            max_connections=pool,
            allow_insecure_http=settings.allow_insecure_http,
        )
    except ValueError as exc:  # the client's own check of the endpoint
        if not settings.allow_insecure_http:
            try:  # would the flag make it acceptable? (construction opens nothing)
                BatchClient(endpoint, credential, allow_insecure_http=True)
            except ValueError:
                pass
            else:
                host = urlsplit(endpoint).hostname
                raise UsageError(
                    f"refusing plain http to {host!r}: keys, signatures and tokens would travel "
                    "unencrypted. Use https, or pass --allow-insecure-http if you really mean it "
                    "(loopback hosts such as the emulator need no flag)"
                ) from None
        raise UsageError(str(exc)) from None


async def _local_emulator(
    stack: contextlib.AsyncExitStack, notice: TextIO | None, *, run_tasks: bool
) -> Any:
    """Start the emulator on the per-user data folder in this process; say so on stderr."""
    from batchtasks.emulator import Emulator
    from batchtasks.emulator.datadir import default_location

    location = default_location()
    try:
        emulator = Emulator(location=location, run_tasks=run_tasks)
        emu = await stack.enter_async_context(emulator)
    except ValueError as exc:  # a folder that cannot be created, a damaged database
        raise UsageError(f"the local emulator cannot use its data folder: {exc}") from None
    if run_tasks:  # tasks move on only while some process serves the folder: catch up first
        await emu.advance(0)
    print(
        f"no Azure Batch account configured; using the local emulator with its data in "
        f"{location} ('batchtasks emulator reset' wipes it)",
        file=notice or sys.stderr,
        flush=True,
    )
    return emu


@contextlib.asynccontextmanager
async def open_client(
    settings: AccountSettings,
    *,
    notice: TextIO | None = None,
    concurrency: int | None = None,
    run_tasks: bool = True,
) -> AsyncIterator[BatchClient]:
    """Open a `batchtasks.BatchClient` for the settings; start the local emulator if needed.

    Args:
        settings: from `resolve_account`.
        notice: where to say that the local emulator is used (default: stderr).
        concurrency: requests the caller will have in flight at once; the client's connection
            pool is made at least that large.
        run_tasks: let the local emulator run tasks during this command. A bulk add turns it
            off: the tasks it adds would start running meanwhile and compete with it for the
            one database thread (2-4x slower); the next command runs them.

    Yields:
        The open client (closed, and the emulator stopped, on exit).
    """
    from batchtasks import SharedKeyCredential

    async with contextlib.AsyncExitStack() as stack:
        credential: Any
        if settings.endpoint is None:
            emu = await _local_emulator(stack, notice, run_tasks=run_tasks)
            endpoint = emu.url
            credential = SharedKeyCredential(emu.account, emu.key)
        elif settings.key is not None:
            endpoint = settings.endpoint
            credential = SharedKeyCredential(settings.account_name or "", settings.key)
        else:
            endpoint = settings.endpoint
            credential = _entra_credential()
            await stack.enter_async_context(credential)
        client = _client(settings, endpoint, credential, connection_pool_size(concurrency))
        yield await stack.enter_async_context(client)
