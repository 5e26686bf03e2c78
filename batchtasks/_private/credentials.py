"""Credentials: Shared Key, and an adapter for Microsoft Entra ID async token credentials.

Each credential turns "the request exactly as it will be sent" into an `Authorization` header
value. This module owns the secrets (account key, access tokens) and must never let them reach
repr/str, logs, exception text or pickles. It does no HTTP itself (token fetching is the token
credential's business) and must not import aiohttp.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, Protocol, runtime_checkable

from batchtasks._private.constants import BATCH_SCOPE
from batchtasks._private.signing import decode_key, shared_key_authorization

__all__ = [
    "AccessTokenLike",
    "AsyncTokenCredential",
    "Authorizer",
    "SharedKeyCredential",
    "TokenCredentialAuthorizer",
    "make_authorizer",
]


class Authorizer(Protocol):
    """What the client needs from a credential: the Authorization value for one request."""

    async def authorization(
        self, *, method: str, path: str, raw_query: str, headers: Iterable[tuple[str, str]]
    ) -> str:
        """Return the `Authorization` header value for a request sent exactly like this."""
        ...


class AccessTokenLike(Protocol):
    """The shape of `azure.core.credentials.AccessToken` (a token string and its expiry)."""

    @property
    def token(self) -> str: ...

    @property
    def expires_on(self) -> int: ...


@runtime_checkable
class AsyncTokenCredential(Protocol):
    """Any `azure.identity.aio` credential (or anything with an async `get_token(*scopes)`)."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessTokenLike: ...


def _refuse_pickle(kind: str) -> NoReturn:
    raise TypeError(f"{kind} holds a secret and cannot be pickled or copied")


class SharedKeyCredential:
    """Batch account name and key, signing each request with the Shared Key scheme.

    The key is decoded once at construction and never shown: `repr()` names only the account, and
    the object refuses to be pickled (so it cannot leak through a process pool or a cache).

    Args:
        account_name: the Batch account name exactly as the service knows it (normally lower case).
        key: the base64 account key (primary or secondary).

    Raises:
        ValueError: the account name is empty or the key is not base64 (the message omits the key).
    """

    __slots__ = ("_account_name", "_key")

    def __init__(self, account_name: str, key: str) -> None:
        if not account_name:
            raise ValueError("account_name must not be empty")
        self._account_name = account_name
        self._key = decode_key(key)

    @property
    def account_name(self) -> str:
        """The Batch account name used in the canonical resource and the header."""
        return self._account_name

    def __repr__(self) -> str:
        return f"SharedKeyCredential(account_name={self._account_name!r}, key=<hidden>)"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        _refuse_pickle("SharedKeyCredential")

    def __copy__(self) -> SharedKeyCredential:
        # A copy in the same process cannot leak anything; sharing the instance is enough.
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedKeyCredential:
        return self

    def sign(
        self, *, method: str, path: str, raw_query: str, headers: Iterable[tuple[str, str]]
    ) -> str:
        """Return `SharedKey {account}:{signature}` for a request sent exactly like this.

        Args:
            method: HTTP verb as sent.
            path: percent-encoded URL path as sent.
            raw_query: URL query string as sent (no `?`).
            headers: every header as sent (spelling preserved; include `ocp-date`).
        """
        return shared_key_authorization(
            account_name=self._account_name,
            key=self._key,
            method=method,
            path=path,
            raw_query=raw_query,
            headers=list(headers),
        )

    async def authorization(
        self, *, method: str, path: str, raw_query: str, headers: Iterable[tuple[str, str]]
    ) -> str:
        """Async face of :meth:`sign` (the `Authorizer` protocol)."""
        return self.sign(method=method, path=path, raw_query=raw_query, headers=headers)


class TokenCredentialAuthorizer:
    """Bearer tokens from an async token credential, cached and refreshed before expiry.

    One refresh runs at a time (an `asyncio.Lock`, created on first use inside the running loop);
    concurrent requests wait for it instead of stampeding the identity endpoint. The token is
    refreshed once fewer than `refresh_margin` seconds of validity remain.

    Args:
        credential: e.g. `azure.identity.aio.DefaultAzureCredential()`; borrowed, never closed.
        scope: the scope to request; the Batch scope by default.
        refresh_margin: seconds before expiry at which a new token is fetched.
        clock: wall-clock seconds (the unit of `expires_on`); injectable for tests.
    """

    __slots__ = ("_clock", "_credential", "_expires_on", "_lock", "_margin", "_scope", "_token")

    def __init__(
        self,
        credential: AsyncTokenCredential,
        *,
        scope: str = BATCH_SCOPE,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not callable(getattr(credential, "get_token", None)):
            raise TypeError("credential must have an async get_token(*scopes) method")
        self._credential = credential
        self._scope = scope
        self._margin = refresh_margin
        self._clock = clock
        self._token: str | None = None
        self._expires_on = 0.0
        self._lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        kind = type(self._credential).__name__
        return f"TokenCredentialAuthorizer(credential={kind}, scope={self._scope!r})"

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        _refuse_pickle("TokenCredentialAuthorizer")

    def _fresh(self) -> str | None:
        if self._token is not None and self._expires_on - self._margin > self._clock():
            return self._token
        return None

    async def authorization(
        self, *, method: str, path: str, raw_query: str, headers: Iterable[tuple[str, str]]
    ) -> str:
        """Return `Bearer <token>`, fetching a new token only when the cached one is near expiry."""
        token = self._fresh()
        if token is None:
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                token = self._fresh()
                if token is None:
                    token = await self._refresh()
        return f"Bearer {token}"

    async def _refresh(self) -> str:
        result = self._credential.get_token(self._scope)
        if not inspect.isawaitable(result):
            raise TypeError(
                "the token credential's get_token() is synchronous; use an async credential "
                "(for example from azure.identity.aio)"
            )
        access = await result
        self._token = str(access.token)
        self._expires_on = float(access.expires_on)
        return self._token


def make_authorizer(credential: object) -> Authorizer:
    """Return the authorizer for a `SharedKeyCredential` or an async token credential.

    Raises:
        TypeError: the object is neither.
    """
    if isinstance(credential, SharedKeyCredential):
        return credential
    if isinstance(credential, TokenCredentialAuthorizer):
        return credential
    if callable(getattr(credential, "get_token", None)):
        return TokenCredentialAuthorizer(credential)  # type: ignore[arg-type]
    raise TypeError(
        "credential must be a batchtasks.SharedKeyCredential or an async token credential "
        f"with get_token(*scopes), not {type(credential).__name__}"
    )
