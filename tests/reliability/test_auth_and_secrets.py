"""Auth and secrets: the emulator refuses every forged or altered request; the client never leaks.

Emulator side: a correctly signed request replayed with any signed part changed (path, query,
date, method, account, body length) is refused, dates outside the allowed skew are refused, and
signatures are compared in constant time. Client side: the account key, the signatures made from
it and bearer tokens never appear in repr/str, log records (DEBUG, whole run), exceptions
(text, args, causes, pickles) or pickles of the client objects; TLS is verified by default and
plain http leaves loopback only when asked for explicitly.
"""

from __future__ import annotations

import ast
import base64
import inspect
import logging
import os
import pickle
import ssl
import textwrap
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from batchtasks import (
    AuthenticationError,
    BatchClient,
    BatchConnectionError,
    BatchTasksError,
    NotFoundError,
    RetryPolicy,
    SharedKeyCredential,
)
from batchtasks.emulator import Emulator, FaultConfig
from batchtasks.emulator import auth as emulator_auth

from ._wire import ThreadedEmulator, build_request, exchange, threaded_emulator

JOB = "authjob"

# -- emulator: forged and altered requests ----------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedEmulator]:
    with threaded_emulator() as s:
        s.create_job(JOB)
        s.add_tasks(JOB, [{"id": "t1", "commandLine": "x"}])
        yield s


def _signed(
    server: ThreadedEmulator, method: str, target: str, headers: dict[str, str], body: bytes | None
) -> bytes:
    path, _, query = target.partition("?")
    pairs = [tuple(p.split("=", 1)) for p in query.split("&") if p]
    from urllib.parse import unquote

    return build_request(
        method,
        path,
        port=server.port,
        account=server.account,
        key=server.key,
        query=[(unquote(k), unquote(v)) for k, v in pairs],
        api_version=None,
        headers=headers,
        body=body,
    )


def _replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data, (old, data[:300])
    return data.replace(old, new, 1)


BASE_TARGET = (
    f"/jobs/{JOB}/tasks?api-version=2024-02-01.19.0&maxresults=10&%24filter=id%20eq%20%27t1%27"
)

TAMPERS: dict[str, tuple[bytes, bytes]] = {
    "path": (f"/jobs/{JOB}/tasks?".encode(), f"/jobs/{JOB}x/tasks?".encode()),
    "path-case": (f"/jobs/{JOB}/tasks?".encode(), f"/jobs/{JOB.upper()}/tasks?".encode()),
    "query-value": (b"maxresults=10", b"maxresults=11"),
    "query-added": (b"maxresults=10", b"maxresults=10&timeout=5"),
    "query-removed": (b"&maxresults=10", b""),
    "filter": (b"%27t1%27", b"%27t2%27"),
    "method": (b"GET /jobs", b"DELETE /jobs"),
}


@pytest.mark.parametrize("tamper", list(TAMPERS), ids=list(TAMPERS))
def test_replay_with_an_altered_signed_part_is_refused(
    server: ThreadedEmulator, tamper: str
) -> None:
    data = _signed(server, "GET", BASE_TARGET, {}, None)
    # The untouched replay is accepted (the service has no nonce; the date bounds replays).
    assert exchange(server.port, data).status == 200
    old, new = TAMPERS[tamper]
    reply = exchange(server.port, _replace_once(data, old, new))
    assert (reply.status, reply.code) == (403, "AuthenticationFailed"), reply.body[:300]


def test_replay_with_an_altered_date_or_body_is_refused(server: ThreadedEmulator) -> None:
    body = b'{"value":[{"id":"tamper-1","commandLine":"x"}]}'
    data = _signed(
        server, "POST", f"/jobs/{JOB}/addtaskcollection?api-version=2024-02-01.19.0", {}, body
    )
    date_line = next(line for line in data.split(b"\r\n") if line.startswith(b"ocp-date:"))
    later = date_line[:-6] + (b"%02d" % ((int(date_line[-6:-4]) + 1) % 60)) + date_line[-4:]
    assert later != date_line
    reply = exchange(server.port, data.replace(date_line, later))
    assert (reply.status, reply.code) == (403, "AuthenticationFailed")
    # Same length, different content: the signature covers Content-Length, not the bytes
    # (as on the real service), so a same-length body change is the signer's own business;
    # a different length is refused.
    longer = (
        data.replace(b"Content-Length: %d" % len(body), b"Content-Length: %d" % (len(body) + 1))
        + b" "
    )
    reply = exchange(server.port, longer)
    assert (reply.status, reply.code) == (403, "AuthenticationFailed")
    assert "tamper-1" not in server.list_task_ids(JOB)


@settings(max_examples=60, deadline=None)
@given(
    position=st.integers(min_value=0),
    replacement=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
)
def test_any_single_character_change_of_the_signed_target_is_refused(
    server: ThreadedEmulator, position: int, replacement: str
) -> None:
    data = _signed(server, "GET", BASE_TARGET, {}, None)
    line_end = data.index(b"\r\n")
    request_line = data[:line_end].decode()
    method, target, version = request_line.split(" ")
    index = position % len(target)
    if target[index] == replacement or target[index] in "%&=?" or replacement in "%&=?#/ ":
        return
    changed = target[:index] + replacement + target[index + 1 :]
    reply = exchange(server.port, f"{method} {changed} {version}".encode() + data[line_end:])
    # Whatever the change did to the URL, it is not accepted as signed.
    assert reply.status in (400, 403, 404), (changed, reply.status, reply.body[:200])
    if reply.status == 403:
        assert reply.code == "AuthenticationFailed"


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-14 * 60, True), (14 * 60, True), (-16 * 60, False), (16 * 60, False), (-86400 * 365, False)],
)
def test_dates_outside_the_allowed_skew_are_refused(
    server: ThreadedEmulator, offset: float, accepted: bool
) -> None:
    reply = server.request("GET", "/jobs", date_offset=offset)
    if accepted:
        assert reply.status == 200
    else:
        assert (reply.status, reply.code) == (403, "AuthenticationFailed")


WRONG_KEY = base64.b64encode(bytes(range(64))).decode()


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"sign": False}, 401, "AuthenticationFailed"),
        ({"key": WRONG_KEY}, 403, "AuthenticationFailed"),
        ({"account": "someoneelse"}, 403, "AuthenticationFailed"),
        (
            {"sign": False, "headers": {"Authorization": "SharedKey batchdev"}},
            400,
            "InvalidAuthenticationInfo",
        ),
        (
            {"sign": False, "headers": {"Authorization": "SharedKey batchdev:!!!notbase64"}},
            400,
            "InvalidAuthenticationInfo",
        ),
        (
            {"sign": False, "headers": {"Authorization": "SharedKey batchdev:" + "A" * 4000}},
            400,
            "InvalidAuthenticationInfo",
        ),
        (
            {
                "sign": False,
                "headers": {"Authorization": "SharedKey :" + base64.b64encode(b"x" * 32).decode()},
            },
            400,
            "InvalidAuthenticationInfo",
        ),
        (
            {"sign": False, "headers": {"Authorization": "Basic YTpi"}},
            400,
            "InvalidAuthenticationInfo",
        ),
        ({"sign": False, "headers": {"Authorization": "Bearer abc"}}, 403, "AuthenticationFailed"),
        ({"headers": {"ocp-date": "yesterday"}}, 400, "InvalidHeaderValue"),
    ],
    ids=[
        "missing",
        "wrong-key",
        "wrong-account",
        "no-signature",
        "not-base64",
        "huge",
        "no-account",
        "basic",
        "bearer-off",
        "bad-date",
    ],
)
def test_missing_malformed_and_wrong_credentials(
    server: ThreadedEmulator, kwargs: dict[str, Any], status: int, code: str
) -> None:
    body = b'{"value":[{"id":"forged","commandLine":"x"}]}'
    reply = server.request("POST", f"/jobs/{JOB}/addtaskcollection", body=body, **kwargs)
    assert (reply.status, reply.code) == (status, code), reply.body[:300]
    assert "forged" not in server.list_task_ids(JOB)
    # The refusal never echoes a key or a signature.
    assert server.key.encode() not in reply.body
    assert WRONG_KEY.encode() not in reply.body


def test_signatures_are_compared_in_constant_time() -> None:
    tree = ast.parse(textwrap.dedent(inspect.getsource(emulator_auth)))
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "compare_digest"
    ]
    # Both the Shared Key MAC and the dev-mode bearer token go through compare_digest...
    assert len(calls) >= 2
    secret_names = {"received", "expected", "signature", "token", "bearer_token", "mac"}

    def names(node: ast.AST) -> set[str]:
        # Comparing lengths (public) is fine; comparing contents is what must be constant-time.
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
            return set()
        found = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                found.add(sub.id)
            elif isinstance(sub, ast.Attribute):
                found.add(sub.attr)
        return found

    # ...and no ==/!= ever touches a secret value.
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops
        ):
            operands = [node.left, *node.comparators]
            touched = set().union(*(names(o) for o in operands)) & secret_names
            assert not touched, ast.unparse(node)


# -- client: secrets never leak -----------------------------------------------------------------

SECRET_KEY = base64.b64encode(os.urandom(64)).decode()
SECRET_TOKEN = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-token-" + base64.b16encode(os.urandom(8)).decode()
)


def _no_sleep_policy(**kw: Any) -> RetryPolicy:
    async def no_sleep(_: float) -> None:
        return None

    return RetryPolicy(sleep=no_sleep, **kw)


@dataclass
class Sent:
    authorizations: list[str]


def _trace(sent: Sent) -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()

    async def on_start(session: Any, ctx: Any, params: aiohttp.TraceRequestStartParams) -> None:
        value = params.headers.get("Authorization")
        if value:
            sent.authorizations.append(value)

    trace.on_request_start.append(on_start)
    return trace


def _secret_fragments(sent: Sent, *secrets: str) -> list[str]:
    frags = list(secrets)
    for s in secrets:
        try:
            raw = base64.b64decode(s, validate=True)
        except ValueError:
            continue
        frags += [raw.hex(), repr(raw)[2:40]]
    for value in sent.authorizations:
        frags.append(value)
        frags.append(
            value.rsplit(":", 1)[-1] if value.startswith("SharedKey") else value.split(" ", 1)[-1]
        )
    return [f for f in frags if f]


def _exception_texts(exc: BaseException) -> list[str]:
    out = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        out += [
            str(current),
            repr(current),
            repr(current.args),
            repr(vars(current)) if hasattr(current, "__dict__") else "",
        ]
        try:
            out.append(repr(pickle.dumps(current)))
        except Exception as err:  # an unpicklable error is fine, it is not a leak
            out.append(type(err).__name__)
        current = current.__cause__ or current.__context__
    return out


def _assert_nothing_leaks(texts: list[str], fragments: list[str]) -> None:
    assert fragments
    for text in texts:
        for frag in fragments:
            assert frag not in text, f"secret fragment found in: {text[:200]}"


@pytest.fixture
def all_debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("batchtasks", "batchtasks.http", "aiohttp", "aiohttp.client", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored by caplog after the test
    return caplog


async def test_shared_key_never_leaks_in_a_full_run(
    all_debug_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    sent = Sent([])
    errors: list[BaseException] = []
    credential = SharedKeyCredential("leakcheck", SECRET_KEY)
    async with Emulator(in_memory=True, account="leakcheck", key=SECRET_KEY) as emu:
        async with BatchClient(
            emu.url,
            credential,
            trace_configs=[_trace(sent)],
            retry_policy=_no_sleep_policy(max_attempts=3),
        ) as client:
            await client.jobs.add({"id": "j", "poolInfo": {"poolId": "p"}})
            await client.tasks.add("j", {"id": "t1", "commandLine": "echo 1"})
            await client.tasks.add_collection(
                "j", [{"id": f"c{i}", "commandLine": "x"} for i in range(20)]
            )
            [t.id async for t in client.tasks.list("j")]
            await client.tasks.get("j", "t1")
            await client.tasks.update("j", "t1", {"maxTaskRetryCount": 2})
            await client.tasks.terminate("j", "t1")
            await client.tasks.delete("j", "t1")
            emu.set_faults(throttle_rate=1.0, retry_after_seconds=0)
            try:
                await client.tasks.get("j", "c1")
            except BatchTasksError as exc:
                errors.append(exc)
            emu.set_faults(throttle_rate=0.0)
            try:
                await client.tasks.get("j", "nope")
            except NotFoundError as exc:
                errors.append(exc)
            assert repr(client).count("hidden") == 1
            for obj in (client, credential):
                with pytest.raises(TypeError):
                    pickle.dumps(obj)
        wrong = SharedKeyCredential("leakcheck", WRONG_KEY)
        async with BatchClient(emu.url, wrong, trace_configs=[_trace(sent)]) as bad:
            with pytest.raises(AuthenticationError) as caught:
                await bad.tasks.get("j", "c1")
            errors.append(caught.value)
    async with BatchClient(
        "http://127.0.0.1:9", credential, retry_policy=_no_sleep_policy(max_attempts=2)
    ) as refused:
        with pytest.raises(BatchConnectionError) as caught_conn:
            await refused.jobs.get("j")
        errors.append(caught_conn.value)
    assert len(sent.authorizations) > 10
    assert len(errors) == 4
    fragments = _secret_fragments(sent, SECRET_KEY, WRONG_KEY)
    texts = [
        all_debug_logs.text,
        *(r.getMessage() for r in all_debug_logs.records),
        *(repr(r.args) for r in all_debug_logs.records),
        repr(credential),
        str(credential),
        repr(wrong),
    ]
    for exc in errors:
        texts += _exception_texts(exc)
    _assert_nothing_leaks(texts, fragments)
    # The run was logged at all (so the check above looked at something).
    assert any(r.name.startswith("batchtasks") for r in all_debug_logs.records)


class FakeTokenCredential:
    """An async token credential as azure-identity's (returns a fixed token)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        @dataclass
        class Token:
            token: str
            expires_on: int

        import time

        return Token(self._token, int(time.time()) + 3600)

    def __repr__(self) -> str:
        return "FakeTokenCredential()"


async def test_bearer_token_never_leaks(all_debug_logs: pytest.LogCaptureFixture) -> None:
    sent = Sent([])
    errors: list[BaseException] = []
    async with Emulator(in_memory=True, accept_bearer=True, bearer_token=SECRET_TOKEN) as emu:
        async with BatchClient(
            emu.url, FakeTokenCredential(SECRET_TOKEN), trace_configs=[_trace(sent)]
        ) as client:
            await client.jobs.add({"id": "j", "poolInfo": {"poolId": "p"}})
            await client.tasks.add("j", {"id": "t1", "commandLine": "echo 1"})
            try:
                await client.tasks.get("j", "missing")
            except NotFoundError as exc:
                errors.append(exc)
            texts = [repr(client), str(client), repr(client.tasks)]
            with pytest.raises(TypeError):
                pickle.dumps(client)
        async with BatchClient(
            emu.url, FakeTokenCredential("wrong-" + SECRET_TOKEN), trace_configs=[_trace(sent)]
        ) as bad:
            with pytest.raises(AuthenticationError) as caught:
                await bad.tasks.get("j", "t1")
            errors.append(caught.value)
    assert sent.authorizations
    fragments = _secret_fragments(sent, SECRET_TOKEN)
    texts += [all_debug_logs.text]
    for exc in errors:
        texts += _exception_texts(exc)
    _assert_nothing_leaks(texts, fragments)


# -- TLS -----------------------------------------------------------------------------------------

# A self-signed certificate for 127.0.0.1/localhost (valid until 2126), test use only.
SELF_SIGNED_CERT = """-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIUAqAugm96G4WDVoshGn0m2o/FWDwwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNTE1NTI0MFoYDzIxMjYxMTAx
MTU1MjQwWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAR2cbo/u8SQ9Rcr+6HI74Rn0u/ukmfUkFLiZzvFuDXuFYi6uXmu9YdS
jy30hH6uZXAwmG4/tdZwhewIauwWqKvCo28wbTAdBgNVHQ4EFgQUr+PYCV+2lLiR
DMYwzwGOXGyYWdYwHwYDVR0jBBgwFoAUr+PYCV+2lLiRDMYwzwGOXGyYWdYwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSQAwRgIhAM/NA3dvWcHuga0oHKsWqCrhNQZDf/4Nd53xVLIj+xvuAiEA
yn4aR6V/imAUXfpZI62pVLI7sjWhwLAL0JqNf+/DBlg=
-----END CERTIFICATE-----
"""
SELF_SIGNED_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgkmebNSV4n0V+cii6
RfB1culZvm0+kWW/6yAJHhXhmFOhRANCAAR2cbo/u8SQ9Rcr+6HI74Rn0u/ukmfU
kFLiZzvFuDXuFYi6uXmu9YdSjy30hH6uZXAwmG4/tdZwhewIauwWqKvC
-----END PRIVATE KEY-----
"""


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[int, list[str]]]:
    """An https server on 127.0.0.1 with a self-signed certificate; records request paths."""
    cert = tmp_path / "cert.pem"
    key = tmp_path / "key.pem"
    cert.write_text(SELF_SIGNED_CERT)
    key.write_text(SELF_SIGNED_KEY)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({"id": "j"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield port, seen
    finally:
        await runner.cleanup()


async def test_tls_is_verified_by_default(
    tls_server: tuple[int, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, seen = tls_server
    # Environment knobs other tools honour must not switch verification off.
    monkeypatch.setenv("PYTHONHTTPSVERIFY", "0")
    monkeypatch.setenv("CURL_CA_BUNDLE", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "")
    credential = SharedKeyCredential("acct", SECRET_KEY)
    async with BatchClient(
        f"https://127.0.0.1:{port}", credential, retry_policy=_no_sleep_policy(max_attempts=2)
    ) as client:
        with pytest.raises(BatchConnectionError) as caught:
            await client.jobs.get("j")
    assert caught.value.request_sent is False
    assert "TLS" in str(caught.value)
    assert seen == []  # not one request reached the untrusted server


async def test_a_trusted_custom_ca_is_the_way_to_talk_to_a_private_endpoint(
    tls_server: tuple[int, list[str]], tmp_path: Path
) -> None:
    port, seen = tls_server
    context = ssl.create_default_context(cadata=SELF_SIGNED_CERT)
    assert context.verify_mode == ssl.CERT_REQUIRED
    credential = SharedKeyCredential("acct", SECRET_KEY)
    async with BatchClient(
        f"https://127.0.0.1:{port}",
        credential,
        ssl_context=context,
        retry_policy=_no_sleep_policy(max_attempts=1),
    ) as client:
        job = await client.jobs.get("j")
    assert job.id == "j"
    assert seen == ["/jobs/j"]


@pytest.mark.parametrize("change", ["verify_mode", "check_hostname"])
async def test_switching_tls_verification_off_is_never_silent(
    tls_server: tuple[int, list[str]], change: str
) -> None:
    # Regression: an ssl_context with verification off was accepted without a word.
    port, seen = tls_server
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    if change == "verify_mode":
        insecure.verify_mode = ssl.CERT_NONE
    credential = SharedKeyCredential("acct", SECRET_KEY)
    with pytest.warns(UserWarning, match="verification"):
        client = BatchClient(f"https://127.0.0.1:{port}", credential, ssl_context=insecure)
    async with client:
        if change == "verify_mode":
            # Explicitly asked for (and warned about): it then talks to the untrusted server.
            assert (await client.jobs.get("j")).id == "j"
            assert seen == ["/jobs/j"]


@pytest.mark.parametrize(
    "endpoint",
    ["http://example.com", "http://10.0.0.1:8080", "http://myacct.westus.batch.azure.com"],
)
def test_plain_http_off_loopback_needs_an_explicit_opt_in(endpoint: str) -> None:
    credential = SharedKeyCredential("acct", SECRET_KEY)
    with pytest.raises(ValueError, match="allow_insecure_http"):
        BatchClient(endpoint, credential)
    client = BatchClient(endpoint, credential, allow_insecure_http=True)
    assert client.endpoint.startswith("http://")


async def test_an_error_after_retries_carries_no_secret() -> None:
    # A request that fails for good after retries carries only the last response's facts.
    async with Emulator(in_memory=True, faults=FaultConfig(server_error_rate=1.0)) as emu:
        credential = SharedKeyCredential(emu.account, emu.key)
        async with BatchClient(
            emu.url, credential, retry_policy=_no_sleep_policy(max_attempts=3)
        ) as client:
            with pytest.raises(BatchTasksError) as caught:
                await client.jobs.get("j")
    texts = _exception_texts(caught.value)
    _assert_nothing_leaks(texts, [emu.key, "SharedKey"])


@pytest.mark.parametrize("key", ["not base64!", "YQ", ""])
def test_an_unusable_emulator_key_is_refused_at_start(
    key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Regression: a key that is not base64 was accepted and every request then answered 500.
    with pytest.raises(ValueError, match="key") as caught:
        Emulator(in_memory=True, key=key)
    if key:
        assert key not in str(caught.value)
    from batchtasks.emulator.cli import main as emulator_main

    assert emulator_main(["--in-memory", "--key", key]) == 2
    err = capsys.readouterr().err
    assert "key" in err
    if key:
        assert key not in err
