"""The emulator against a hostile browser and a hostile network.

* A web page: a cross-site ``POST /_emulator/reset`` (no body), ``POST /_emulator/faults`` with a
  text/plain body, and DNS rebinding (a foreign ``Host`` reaching 127.0.0.1 with the public dev
  key) are refused; data and faults are untouched.
* Over-long request lines and headers, and heads that are not HTTP, get a Batch error body with
  the right status, and no traceback reaches the log or stderr.
* 2,000 held connections (idle, or with half-sent heads) against an emulator process limited to
  256 open files: normal requests are still answered, the process never runs out of file
  descriptors, and idle and half-sent connections are closed after their timeouts.
"""

from __future__ import annotations

import contextlib
import json
import re
import resource
import socket
import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest

from batchtasks.emulator import DEV_ACCOUNT, DEV_KEY

from ._wire import (
    ThreadedEmulator,
    WireReply,
    build_request,
    exchange,
    hold_connections,
    threaded_emulator,
)

JOB = "netjob"


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedEmulator]:
    with threaded_emulator(allowed_hosts=["batch.test"]) as s:
        s.create_job(JOB)
        yield s


def with_host(data: bytes, host: str) -> bytes:
    """`data` (a request from `build_request`) with its Host header replaced."""
    return re.sub(rb"\r\nHost: [^\r]*\r\n", b"\r\nHost: " + host.encode() + b"\r\n", data, count=1)


def admin(
    server: ThreadedEmulator, method: str, path: str, body: bytes = b"", **headers: str
) -> WireReply:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n"
    head += "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {len(body)}\r\n\r\n"
    return exchange(server.port, head.encode() + body)


def job_exists(server: ThreadedEmulator) -> bool:
    return server.request("GET", f"/jobs/{JOB}").status == 200


def throttle_rate(server: ThreadedEmulator) -> float:
    return float(admin(server, "GET", "/_emulator/faults").json()["throttle_rate"])


# -- item 6: Host, Origin, content type ----------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example", "10.1.2.3", ""]
)
def test_a_foreign_host_is_refused_even_with_a_valid_signature(
    server: ThreadedEmulator, host: str
) -> None:
    # Regression (DNS rebinding): a page whose name resolved to 127.0.0.1 had the whole API,
    # signing with the public dev key.
    data = build_request(
        "DELETE", f"/jobs/{JOB}", port=server.port, account=server.account, key=server.key
    )
    reply = exchange(server.port, with_host(data, host.format(port=server.port)))
    assert reply.status == 400
    assert reply.is_batch_error()
    assert reply.code == "InvalidHeaderValue"
    assert {"key": "HeaderName", "value": "Host"} in reply.json()["values"]
    assert job_exists(server)
    assert server.errors.records == []


@pytest.mark.parametrize(
    "host",
    ["localhost:{port}", "127.0.0.1:{port}", "127.5.6.7", "[::1]:{port}", "batch.test:{port}"],
)
def test_loopback_and_allowed_hosts_are_answered(server: ThreadedEmulator, host: str) -> None:
    data = build_request(
        "GET", f"/jobs/{JOB}", port=server.port, account=server.account, key=server.key
    )
    reply = exchange(server.port, with_host(data, host.format(port=server.port)))
    assert reply.status == 200, reply.body


def test_any_host_can_be_allowed_for_those_who_bind_elsewhere() -> None:
    with threaded_emulator(allowed_hosts=["*"]) as s:
        data = build_request("GET", "/jobs", port=s.port, account=s.account, key=s.key)
        assert exchange(s.port, with_host(data, "anything.example")).status == 200


def test_a_cross_site_reset_is_refused(server: ThreadedEmulator) -> None:
    # Regression: a cross-site POST /_emulator/reset with no body wiped every job.
    for headers in (
        {"Origin": "http://evil.example", "Content_Type": "application/json"},
        {"Origin": "null", "Content_Type": "application/json"},
        {"Sec_Fetch_Site": "cross-site", "Content_Type": "application/json"},
    ):
        reply = admin(server, "POST", "/_emulator/reset", b"{}", **headers)
        assert reply.status == 403, (headers, reply.body)
    reply = admin(server, "POST", "/_emulator/reset")  # a form-like post without a JSON type
    assert reply.status == 415
    assert job_exists(server)


def test_a_text_plain_faults_post_is_refused(server: ThreadedEmulator) -> None:
    # Regression: POST /_emulator/faults with a text/plain body set the 500 rate to 1.0.
    body = json.dumps({"server_error_rate": 1.0}).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        reply = admin(server, "POST", "/_emulator/faults", body, Content_Type=content_type)
        assert reply.status == 415
    assert admin(server, "GET", "/_emulator/faults").json()["server_error_rate"] == 0.0
    # The emulator's own tools (same origin, JSON) still work.
    body = json.dumps({"throttle_rate": 0.5}).encode()
    headers = {"Content_Type": "application/json", "Origin": f"http://localhost:{server.port}"}
    assert admin(server, "POST", "/_emulator/faults", body, **headers).status == 200
    assert throttle_rate(server) == 0.5
    reset = json.dumps({"reset": True}).encode()
    assert (
        admin(server, "POST", "/_emulator/faults", reset, Content_Type="application/json").status
        == 200
    )
    assert throttle_rate(server) == 0.0


# -- item 10: over-long lines and headers ---------------------------------------------------------


@pytest.mark.parametrize(
    ("what", "status", "code"),
    [
        ("request-line", 414, "RequestUrlTooLong"),
        ("header-value", 431, "RequestHeaderFieldsTooLarge"),
        ("header-name", 431, "RequestHeaderFieldsTooLarge"),
        ("not-http", 400, "InvalidHttpRequest"),
    ],
)
def test_over_long_lines_get_a_batch_error_without_a_traceback(
    server: ThreadedEmulator, what: str, status: int, code: str
) -> None:
    # Regression: aiohttp's plain-text 400 echoing the line, and a 9-line traceback per request.
    filler = "x" * 100_000
    heads = {
        "request-line": f"GET /jobs?$filter={filler} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "header-value": f"GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {filler}\r\n\r\n",
        "header-name": f"GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-{filler}: 1\r\n\r\n",
        "not-http": "\x16\x03\x01 GARBAGE\r\n\r\n",
    }
    reply = exchange(server.port, heads[what].encode("latin-1"))
    assert (reply.status, reply.code) == (status, code), reply.body[:300]
    assert reply.is_batch_error()
    assert b"xxxxxxxx" not in reply.body
    assert server.errors.records == []


# -- item 7: held connections --------------------------------------------------------------------

HELD = 2000
EMULATOR_FILES = 256


def _raise_own_file_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


@contextlib.contextmanager
def emulator_process(*args: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``python -m batchtasks.emulator`` limited to `EMULATOR_FILES` open files."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (EMULATOR_FILES, EMULATOR_FILES))

    proc = subprocess.Popen(
        [sys.executable, "-m", "batchtasks.emulator", "--in-memory", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=limit,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        yield proc, int(match.group(1))
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                proc.communicate(timeout=30)  # also closes the pipes
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


def _closed_by_peer(sock: socket.socket) -> bool:
    sock.settimeout(15)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except OSError:
        return False


def test_held_connections_do_not_starve_normal_requests() -> None:
    # Regression: 300 held connections under `ulimit -n 256` made normal requests time out, at
    # 99.9 % CPU, with 425 MB of "socket.accept() out of system resource" tracebacks.
    _raise_own_file_limit(HELD + 512)
    with emulator_process("--idle-timeout", "3", "--head-timeout", "2") as (proc, port):
        held = hold_connections(port, HELD)
        try:
            answered = 0
            for _ in range(20):
                data = build_request("GET", "/jobs", port=port, account=DEV_ACCOUNT, key=DEV_KEY)
                reply = exchange(port, data, timeout=10)
                answered += reply.status == 200
            files = psutil.Process(proc.pid).num_fds()
            late = held[-5:]  # the most recent holders survived eviction: timeouts end them
            closed = [_closed_by_peer(sock) for sock in late]
        finally:
            for sock in held:
                sock.close()
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    assert len(held) > EMULATOR_FILES  # the holders really were more than the process could take
    assert answered == 20
    assert files <= EMULATOR_FILES
    assert all(closed), closed
    assert b"out of system resource" not in stderr
    assert b"Traceback" not in stderr, stderr[-2000:]


def test_over_long_lines_write_nothing_to_stderr() -> None:
    with emulator_process() as (proc, port):
        for head in (
            b"GET /" + b"x" * 100_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: " + b"y" * 100_000 + b"\r\n\r\n",
        ):
            assert exchange(port, head).is_batch_error()
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    assert b"Traceback" not in stderr, stderr[-2000:]
    assert b"xxxxxxxx" not in stderr
