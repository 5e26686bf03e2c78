"""The transport over a real loopback server: bytes on the wire, signature, failures, sessions."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from batchtasks._private.constants import JSON_CONTENT_TYPE
from batchtasks._private.credentials import SharedKeyCredential
from batchtasks._private.errors import BatchConnectionError, BatchTimeoutError, NotFoundError
from batchtasks._private.options import ListOptions
from batchtasks._private.pipeline import Pipeline
from batchtasks._private.protocol import (
    RequestOptions,
    Response,
    task_add,
    task_delete,
    task_list,
    task_terminate,
)
from batchtasks._private.retry import NO_RETRY
from batchtasks._private.transport import HttpTransport, Timeout
from tests.unit.conftest import (
    VECTOR_ACCOUNT,
    VECTOR_KEY,
    Captured,
    CaptureServer,
    official_authorization,
)

OPTS = RequestOptions()


def make_pipeline(url: str, **kw: object) -> Pipeline:
    transport = HttpTransport(
        url, user_agent="test-agent", logger=logging.getLogger("t.http"), **kw
    )  # type: ignore[arg-type]
    return Pipeline(
        transport,
        SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY),
        retry_policy=NO_RETRY,
        timeout=Timeout(connect=5, read=5, total=10),
    )


def assert_signature_verifies(server: CaptureServer, seen: Captured) -> None:
    """Recompute the signature from what the server received, with the official SDK."""
    received = dict(seen.headers)
    theirs = official_authorization(
        seen.method, server.url + seen.raw_path, received, seen.body or None
    )
    assert seen.header("Authorization") == theirs


def status(code: int, body: bytes = b"") -> object:
    async def respond(request: web.Request) -> web.Response:
        return web.Response(status=code, body=body, headers={"request-id": "rid-9"})

    return respond


async def test_post_with_body_sends_exactly_what_is_signed(capture_server: CaptureServer) -> None:
    capture_server.respond = status(201)  # type: ignore[assignment]
    pipeline = make_pipeline(capture_server.url)
    body = '{"id":"t1","commandLine":"echo ü"}'.encode()
    try:
        response = await pipeline.send(task_add("job 1", body, RequestOptions(timeout=30)))
    finally:
        await pipeline.transport.close()
    assert response.status == 201
    (seen,) = capture_server.requests
    assert seen.method == "POST"
    assert seen.raw_path == "/jobs/job%201/tasks?api-version=2024-02-01.19.0&timeout=30"
    assert seen.body == body
    assert seen.header("Content-Type") == JSON_CONTENT_TYPE
    assert seen.header("Content-Length") == str(len(body))
    assert seen.header("ocp-date") is not None
    assert ("ocp-date", seen.header("ocp-date")) in seen.headers  # lower-case spelling on the wire
    assert seen.header("client-request-id")
    assert seen.header("User-Agent") == "test-agent"
    assert [k for k, _ in seen.headers if k.lower() == "content-type"] == ["content-type"]
    assert_signature_verifies(capture_server, seen)


async def test_bodyless_post_has_no_content_type_and_length_zero(
    capture_server: CaptureServer,
) -> None:
    capture_server.respond = status(204)  # type: ignore[assignment]
    pipeline = make_pipeline(capture_server.url)
    try:
        await pipeline.send(task_terminate("j", "t", RequestOptions(if_match="0x8D4125FD1A825A4")))
    finally:
        await pipeline.transport.close()
    (seen,) = capture_server.requests
    assert seen.header("Content-Type") is None
    assert seen.header("Content-Length") == "0"
    assert seen.header("If-Match") == "0x8D4125FD1A825A4"
    assert_signature_verifies(capture_server, seen)


async def test_delete_signature_verifies(capture_server: CaptureServer) -> None:
    pipeline = make_pipeline(capture_server.url)
    try:
        await pipeline.send(task_delete("j", "t", RequestOptions(timeout=10)))
    finally:
        await pipeline.transport.close()
    (seen,) = capture_server.requests
    assert seen.method == "DELETE"
    assert seen.header("Content-Type") is None
    assert_signature_verifies(capture_server, seen)


async def test_get_with_unicode_filter_is_encoded_as_signed(capture_server: CaptureServer) -> None:
    capture_server.respond = status(200, b'{"value": []}')  # type: ignore[assignment]
    pipeline = make_pipeline(capture_server.url)
    request = task_list(
        "j", ListOptions(filter="startswith(id,'ü ä') and state eq 'active'", max_results=5)
    )
    try:
        await pipeline.send(request)
    finally:
        await pipeline.transport.close()
    (seen,) = capture_server.requests
    assert seen.raw_path == (
        "/jobs/j/tasks?api-version=2024-02-01.19.0&$filter=startswith%28id%2C%27%C3%BC%20%C3%A4%27%29"
        "%20and%20state%20eq%20%27active%27&maxresults=5"
    )
    assert seen.header("Content-Length") is None
    assert_signature_verifies(capture_server, seen)


async def test_error_status_is_mapped(capture_server: CaptureServer) -> None:
    capture_server.respond = status(404, b'{"code":"TaskNotFound","message":{"value":"gone"}}')  # type: ignore[assignment]
    pipeline = make_pipeline(capture_server.url)
    try:
        with pytest.raises(NotFoundError) as info:
            await pipeline.send(task_delete("j", "t", OPTS))
    finally:
        await pipeline.transport.close()
    assert info.value.request_id == "rid-9"
    assert "SharedKey" not in str(info.value)


async def test_connection_refused_is_connection_error_not_sent() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    pipeline = make_pipeline(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(BatchConnectionError) as info:
            await pipeline.send(task_delete("j", "t", OPTS))
    finally:
        await pipeline.transport.close()
    assert not isinstance(info.value, BatchTimeoutError)
    assert info.value.request_sent is False
    assert info.value.transient is False  # nothing ever answered there: not worth a retry
    message = str(info.value)
    assert f"connection refused by 127.0.0.1:{port}" in message
    assert "ssl:default" not in message
    assert "check the endpoint" in message


async def test_read_timeout_is_timeout_error(capture_server: CaptureServer) -> None:
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    capture_server.respond = hang
    transport = HttpTransport(capture_server.url, user_agent="x", logger=None)
    request = task_delete("j", "t", OPTS)
    try:
        with pytest.raises(BatchTimeoutError) as info:
            await transport.send(
                request, dict(request.headers), timeout=Timeout(read=0.2, total=None)
            )
    finally:
        await transport.close()
    assert info.value.request_sent is True
    assert "outcome is unknown" in str(info.value)


async def test_server_dropping_the_connection_is_connection_error(
    capture_server: CaptureServer,
) -> None:
    async def drop(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    capture_server.respond = drop
    transport = HttpTransport(capture_server.url, user_agent="x", logger=None)
    request = task_delete("j", "t", OPTS)
    try:
        with pytest.raises(BatchConnectionError) as info:
            await transport.send(request, dict(request.headers), timeout=Timeout())
    finally:
        await transport.close()
    assert info.value.request_sent is True


async def test_cancellation_is_not_wrapped(capture_server: CaptureServer) -> None:
    entered = asyncio.Event()
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        entered.set()
        await never.wait()
        return web.Response()

    capture_server.respond = hang
    transport = HttpTransport(capture_server.url, user_agent="x", logger=None)
    request = task_delete("j", "t", OPTS)
    task = asyncio.ensure_future(transport.send(request, dict(request.headers), timeout=Timeout()))
    await entered.wait()
    task.cancel()
    try:
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await transport.close()


def test_construction_creates_no_session() -> None:
    transport = HttpTransport("http://127.0.0.1:1", user_agent="x", logger=None)
    assert transport._session is None
    assert transport.owns_session


async def test_owned_session_is_created_lazily_and_closed(capture_server: CaptureServer) -> None:
    transport = HttpTransport(capture_server.url, user_agent="x", logger=None, max_connections=7)
    assert transport._session is None
    request = task_delete("j", "t", OPTS)
    await transport.send(request, dict(request.headers), timeout=Timeout())
    session = transport._session
    assert session is not None
    assert not session.closed
    assert session.connector is not None
    assert session.connector.limit == 7
    assert transport.max_connections == 7
    await transport.close()
    assert session.closed
    await transport.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        await transport.send(request, dict(request.headers), timeout=Timeout())


async def test_borrowed_session_is_never_closed(capture_server: CaptureServer) -> None:
    connector = aiohttp.TCPConnector(limit=3)
    async with aiohttp.ClientSession(connector=connector) as session:
        transport = HttpTransport(capture_server.url, session=session, user_agent="x", logger=None)
        assert not transport.owns_session
        assert transport.max_connections == 3
        request = task_delete("j", "t", OPTS)
        response = await transport.send(request, dict(request.headers), timeout=Timeout())
        assert isinstance(response, Response)
        await transport.close()
        assert not session.closed


async def test_debug_log_line_has_no_secrets(
    capture_server: CaptureServer, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline = make_pipeline(capture_server.url)
    caplog.set_level(logging.DEBUG)
    try:
        await pipeline.send(task_delete("j", "t", OPTS))
    finally:
        await pipeline.transport.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "t.http"]
    assert len(lines) == 1
    line = lines[0]
    assert "DELETE /jobs/j/tasks/t -> 200" in line
    assert "request-id rid-1" in line
    assert "attempt 1" in line
    assert " ms " in line
    everything = caplog.text
    assert "SharedKey" not in everything
    assert VECTOR_KEY not in everything
    authorization = capture_server.requests[0].header("Authorization")
    assert authorization is not None
    assert authorization not in everything


# --- TLS: verification is on by default -------------------------------------------------------


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 (cryptography comes with azure-batch's deps)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_tls_verification_is_on_by_default(tmp_path: Path) -> None:
    cert_path, key_path = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_path, key_path)

    async def ok(request: web.Request) -> web.Response:
        return web.Response(status=200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", ok)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}"
    request = task_delete("j", "t", OPTS)
    try:
        untrusting = HttpTransport(url, user_agent="x", logger=None)
        try:
            with pytest.raises(BatchConnectionError, match="TLS") as info:
                await untrusting.send(request, dict(request.headers), timeout=Timeout())
        finally:
            await untrusting.close()
        assert info.value.request_sent is False

        trusting_ctx = ssl.create_default_context(cafile=str(cert_path))
        trusting = HttpTransport(url, user_agent="x", logger=None, ssl_context=trusting_ctx)
        try:
            response = await trusting.send(request, dict(request.headers), timeout=Timeout())
        finally:
            await trusting.close()
        assert response.status == 200
    finally:
        await runner.cleanup()


def _dns_failure(code: int, text: str) -> aiohttp.ClientConnectorDNSError:
    key = aiohttp.client_reqrep.ConnectionKey("nope.invalid", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorDNSError(key, socket.gaierror(code, text))


@pytest.mark.parametrize(
    ("code", "text", "transient", "sends"),
    [
        (socket.EAI_NONAME, "Name or service not known", False, 1),
        (socket.EAI_AGAIN, "Temporary failure in name resolution", True, 3),
    ],
)
async def test_a_name_that_does_not_resolve_is_not_retried(
    code: int, text: str, transient: bool, sends: int
) -> None:
    from aioresponses import aioresponses

    from batchtasks import BatchClient, RetryPolicy

    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    policy = RetryPolicy(max_attempts=3, backoff_initial=0.01, jitter=0.0, sleep=sleep)
    credential = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    with aioresponses() as mocked:
        for _ in range(3):
            mocked.get(
                "https://nope.invalid/jobs/j?api-version=2024-02-01.19.0",
                exception=_dns_failure(code, text),
            )
        async with BatchClient("https://nope.invalid", credential, retry_policy=policy) as c:
            with pytest.raises(BatchConnectionError) as info:
                await c.jobs.get("j")
    assert info.value.transient is transient
    assert len(sleeps) == sends - 1  # a name that does not exist is not retried
    assert "cannot resolve host 'nope.invalid'" in str(info.value)
    assert text in str(info.value)
    assert "ssl:default" not in str(info.value)
