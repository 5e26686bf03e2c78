"""Credentials: secrets stay hidden; bearer tokens are cached, refreshed early, fetched once."""

from __future__ import annotations

import asyncio
import copy
import pickle
from dataclasses import dataclass

import pytest

from batchtasks._private.constants import BATCH_SCOPE
from batchtasks._private.credentials import (
    SharedKeyCredential,
    TokenCredentialAuthorizer,
    make_authorizer,
)
from tests.unit.conftest import VECTOR_KEY

SIGN_ARGS = {"method": "GET", "path": "/jobs", "raw_query": "api-version=x", "headers": []}


def test_shared_key_repr_and_str_hide_the_key() -> None:
    cred = SharedKeyCredential("acct", VECTOR_KEY)
    for text in (repr(cred), str(cred), f"{cred}", f"{cred!r}"):
        assert "acct" in text
        assert VECTOR_KEY not in text
        assert VECTOR_KEY[:10] not in text


def test_shared_key_refuses_pickle() -> None:
    cred = SharedKeyCredential("acct", VECTOR_KEY)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match="secret") as info:
            pickle.dumps(cred, protocol=protocol)
        assert VECTOR_KEY not in str(info.value)


def test_shared_key_copy_returns_same_object() -> None:
    cred = SharedKeyCredential("acct", VECTOR_KEY)
    assert copy.copy(cred) is cred
    assert copy.deepcopy(cred) is cred


def test_shared_key_rejects_empty_account() -> None:
    with pytest.raises(ValueError, match="account_name"):
        SharedKeyCredential("", VECTOR_KEY)


async def test_shared_key_authorization_is_shared_key_header() -> None:
    cred = SharedKeyCredential("acct", VECTOR_KEY)
    value = await cred.authorization(**SIGN_ARGS)  # type: ignore[arg-type]
    assert value.startswith("SharedKey acct:")


@dataclass
class _Token:
    token: str
    expires_on: int


class FakeTokenCredential:
    def __init__(self, lifetime: int = 3600) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.lifetime = lifetime
        self.now = 1_000_000.0
        self.gate: asyncio.Event | None = None

    async def get_token(self, *scopes: str, **kwargs: object) -> _Token:
        self.calls.append(scopes)
        if self.gate is not None:
            await self.gate.wait()
        return _Token(f"secret-token-{len(self.calls)}", int(self.now) + self.lifetime)


async def test_bearer_token_cached_until_margin() -> None:
    fake = FakeTokenCredential(lifetime=3600)
    auth = TokenCredentialAuthorizer(fake, clock=lambda: fake.now)
    assert await auth.authorization(**SIGN_ARGS) == "Bearer secret-token-1"  # type: ignore[arg-type]
    fake.now += 3600 - 301  # still more than the 5-minute margin left
    assert await auth.authorization(**SIGN_ARGS) == "Bearer secret-token-1"  # type: ignore[arg-type]
    fake.now += 2  # inside the margin: refresh
    assert await auth.authorization(**SIGN_ARGS) == "Bearer secret-token-2"  # type: ignore[arg-type]
    assert fake.calls == [(BATCH_SCOPE,), (BATCH_SCOPE,)]


async def test_concurrent_requests_share_one_refresh() -> None:
    fake = FakeTokenCredential()
    fake.gate = asyncio.Event()
    auth = TokenCredentialAuthorizer(fake, clock=lambda: fake.now)
    waiters = [asyncio.ensure_future(auth.authorization(**SIGN_ARGS)) for _ in range(10)]  # type: ignore[arg-type]
    await asyncio.sleep(0)
    fake.gate.set()
    values = await asyncio.gather(*waiters)
    assert set(values) == {"Bearer secret-token-1"}
    assert len(fake.calls) == 1


async def test_sync_get_token_is_rejected_clearly() -> None:
    class SyncCredential:
        def get_token(self, *scopes: str) -> _Token:
            return _Token("t", 0)

    auth = make_authorizer(SyncCredential())
    with pytest.raises(TypeError, match=r"azure\.identity\.aio"):
        await auth.authorization(**SIGN_ARGS)  # type: ignore[arg-type]


async def test_token_authorizer_hides_token_and_refuses_pickle() -> None:
    fake = FakeTokenCredential()
    auth = TokenCredentialAuthorizer(fake, clock=lambda: fake.now)
    await auth.authorization(**SIGN_ARGS)  # type: ignore[arg-type]
    assert "secret-token" not in repr(auth)
    with pytest.raises(TypeError):
        pickle.dumps(auth)


def test_make_authorizer_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match="SharedKeyCredential"):
        make_authorizer("account-key-string")
    cred = SharedKeyCredential("acct", VECTOR_KEY)
    assert make_authorizer(cred) is cred
    assert isinstance(make_authorizer(FakeTokenCredential()), TokenCredentialAuthorizer)


@pytest.mark.parametrize("key", ["nope!", "a2V5!", "a2V5 ~", "", "   ", "a2V5\x00"])
def test_a_key_that_is_not_base64_is_refused_at_construction(key: str) -> None:
    with pytest.raises(ValueError, match=r"not valid base64|empty") as info:
        SharedKeyCredential("a", key)
    if key.strip():
        assert key not in str(info.value)


def test_a_key_pasted_across_lines_is_accepted() -> None:
    whole = SharedKeyCredential("a", "a2V5a2V5")
    wrapped = SharedKeyCredential("a", " a2V5\na2V5 \n")
    headers = [("ocp-date", "Tue, 01 Oct 2024 12:00:00 GMT")]
    assert whole.sign(method="GET", path="/jobs", raw_query="", headers=headers) == wrapped.sign(
        method="GET", path="/jobs", raw_query="", headers=headers
    )
