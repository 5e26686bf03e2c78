"""No exception the client raises can lead an error reporter to a credential.

Error reporters (Sentry and the like) walk `__cause__`/`__context__`, every attribute and the
local variables of the traceback's frames, whether or not a printed traceback shows them. For
every kind of failure — a response that is not HTTP, a connection cut mid-body, a refused
connection, a timeout, error statuses after retries, an oversized answer, a paging loop, and
the outcome exceptions of a bulk add — each raised exception is walked recursively (chain, args,
vars, slots, mappings, sequences, aiohttp's `request_info`, and the containers held by frames of
batchtasks in its traceback) for the account key, the bearer token and every Authorization
value that went on the wire.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import types
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from batchtasks import (
    BatchClient,
    BatchConnectionError,
    BatchServiceError,
    BatchTasksError,
    BatchTimeoutError,
    PagingError,
    ResponseLimits,
    ResponseTooLargeError,
    RetryPolicy,
    SharedKeyCredential,
    Timeout,
)

from ._raw_server import RawRequest, answer, raw_server
from .test_auth_and_secrets import FakeTokenCredential

KEY = base64.b64encode(os.urandom(64)).decode()
TOKEN = "eyJ0eXAiOiJKV1QifQ.chain-secret-" + base64.b16encode(os.urandom(12)).decode()
TASK = b'{"id":"t","state":"active","commandLine":"x"}'


# -- the walk ------------------------------------------------------------------------------------

_SCALARS = (int, float, bool, type(None), complex)
_OPAQUE = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type, types.CodeType)


def _fields(obj: object) -> Iterable[tuple[str, object]]:
    with contextlib.suppress(TypeError):
        yield from vars(obj).items()
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if isinstance(name, str) and hasattr(obj, name):
                yield name, getattr(obj, name)


class Walker:
    """Finds `secrets` anywhere reachable from an exception."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = [s for s in secrets if s]
        self.seen: set[int] = set()
        self.found: list[str] = []

    def text(self, where: str, value: str | bytes) -> None:
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        for secret in self.secrets:
            if secret in text:
                self.found.append(f"{where}: {text[:120]!r}")

    def walk(self, obj: object, where: str, depth: int = 0) -> None:
        if depth > 25 or isinstance(obj, _SCALARS) or id(obj) in self.seen:
            return
        self.seen.add(id(obj))
        if isinstance(obj, (str, bytes, bytearray)):
            self.text(where, bytes(obj) if isinstance(obj, bytearray) else obj)
            return
        if isinstance(obj, _OPAQUE):
            return
        if isinstance(obj, BaseException):
            self.text(f"{where} str", str(obj))
            self.text(f"{where} repr", repr(obj))
            for name in ("__cause__", "__context__"):
                self.walk(getattr(obj, name), f"{where}.{name}", depth + 1)
            self.walk(obj.args, f"{where}.args", depth + 1)
            self.walk(getattr(obj, "request_info", None), f"{where}.request_info", depth + 1)
            self.frames(obj, where)
        if isinstance(obj, Mapping):
            for key, value in list(obj.items()):
                self.walk(key, f"{where}[key]", depth + 1)
                self.walk(value, f"{where}[{key!r}]", depth + 1)
        elif isinstance(obj, (list, tuple, set, frozenset)):
            for i, item in enumerate(obj):
                self.walk(item, f"{where}[{i}]", depth + 1)
        for name, value in _fields(obj):
            self.walk(value, f"{where}.{name}", depth + 1)

    def frames(self, exc: BaseException, where: str) -> None:
        # What a reporter shows of each batchtasks frame: containers in full, other objects
        # by their repr.
        tb = exc.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if "batchtasks" in frame.f_code.co_filename.replace("\\", "/").split("/tests/")[0]:
                for name, value in frame.f_locals.items():
                    label = f"{where} frame {frame.f_code.co_name}:{name}"
                    if isinstance(value, (str, bytes, Mapping, list, tuple)):
                        self.walk(value, label)
                    else:
                        self.text(label, repr(value))
            tb = tb.tb_next


def assert_no_secret(errors: list[BaseException], sent: list[RawRequest], *secrets: str) -> None:
    """Every exception in `errors` is free of `secrets` and of the Authorization values sent."""
    fragments = list(secrets)
    for request in sent:
        for line in request.head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "authorization":
                value = value.strip()
                fragments += [value, value.rsplit(":", 1)[-1], value.split(" ", 1)[-1]]
    walker = Walker(fragments)
    assert errors
    for i, exc in enumerate(errors):
        walker.walk(exc, f"error{i}:{type(exc).__name__}")
    assert walker.found == []


# -- hostile behaviours --------------------------------------------------------------------------


async def not_http(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 abc Garbage\r\nContent-Length: x\r\n\r\n{}")
    await writer.drain()
    writer.close()


async def cut_mid_body(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + TASK[:10])
    await writer.drain()
    writer.close()


async def stall(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3600)


async def server_error(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    await answer(writer, 500, b'{"code":"InternalError","message":{"value":"boom"}}')


async def huge(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    await answer(writer, 200, TASK * 100)


async def looping(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    await answer(writer, 200, b'{"value":[],"odata.nextLink":"/jobs/j/tasks?$skiptoken=1"}')


BEHAVIOURS: dict[
    str, tuple[Callable[[RawRequest, asyncio.StreamWriter], Awaitable[None]], type]
] = {
    "not-http": (not_http, BatchConnectionError),
    "cut-mid-body": (cut_mid_body, BatchConnectionError),
    "timeout": (stall, BatchTimeoutError),
    "server-error": (server_error, BatchServiceError),
    "too-large": (huge, ResponseTooLargeError),
    "paging-loop": (looping, PagingError),
}


async def _no_sleep(_: float) -> None:
    return None


def _credential(kind: str) -> tuple[Any, str]:
    return (
        (SharedKeyCredential("acct", KEY), KEY)
        if kind == "shared-key"
        else (FakeTokenCredential(TOKEN), TOKEN)
    )


async def _errors_of(client: BatchClient) -> list[BaseException]:
    errors: list[BaseException] = []
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: client.tasks.get("j", "t"),
        lambda: client.tasks.add("j", {"id": "t", "commandLine": "x"}),
        lambda: client.tasks.list("j").to_list(),
    ]
    for call in calls:
        try:
            await asyncio.wait_for(call(), 60)
        except BatchTasksError as exc:
            errors.append(exc)
    result = await asyncio.wait_for(
        client.tasks.add_collection(
            "j", [{"id": f"t{i}", "commandLine": "x"} for i in range(3)], raise_on_failure=False
        ),
        60,
    )
    errors += [o.exception for o in result.outcomes if o.exception is not None]
    return errors


@pytest.mark.parametrize("credential_kind", ["shared-key", "bearer"])
@pytest.mark.parametrize("mode", list(BEHAVIOURS))
async def test_no_exception_chain_holds_a_secret(mode: str, credential_kind: str) -> None:
    # Regression: after a response that was not HTTP, BatchConnectionError.__context__ was
    # aiohttp's error, whose request_info.headers['Authorization'] held the token or signature
    # (`from None` only hides it from printed tracebacks); the same in bulk outcomes.
    behaviour, expected = BEHAVIOURS[mode]
    credential, secret = _credential(credential_kind)
    async with (
        raw_server(behaviour) as server,
        BatchClient(
            server.url,
            credential,
            retry_policy=RetryPolicy(max_attempts=2, sleep=_no_sleep),
            timeout=Timeout(connect=5, read=0.5, total=1),
            response_limits=ResponseLimits(resource=len(TASK) * 10),
        ) as client,
    ):
        errors = await _errors_of(client)
    assert any(isinstance(e, expected) for e in errors), errors
    assert server.requests
    assert_no_secret(errors, server.requests, secret)


@pytest.mark.parametrize("credential_kind", ["shared-key", "bearer"])
async def test_a_refused_connection_holds_no_secret(credential_kind: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    credential, secret = _credential(credential_kind)
    async with BatchClient(
        f"http://127.0.0.1:{port}",
        credential,
        retry_policy=RetryPolicy(max_attempts=2, sleep=_no_sleep),
    ) as client:
        errors = await _errors_of(client)
    assert all(isinstance(e, BatchConnectionError) for e in errors), errors
    assert_no_secret(errors, [], secret, "SharedKey acct:", "Bearer ")


def test_the_walk_finds_a_secret_behind_a_suppressed_context() -> None:
    # The walk itself: a secret in the request_info headers of a hidden __context__ is found.
    @dataclass
    class Info:
        headers: Mapping[str, str]

    class Inner(Exception):
        request_info = Info({"Authorization": f"Bearer {TOKEN}"})

    try:
        try:
            raise Inner("inner")
        except Inner:
            raise BatchConnectionError("outer") from None
    except BatchConnectionError as exc:
        caught: BaseException = exc
    walker = Walker([TOKEN])
    walker.walk(caught, "e")
    assert walker.found
