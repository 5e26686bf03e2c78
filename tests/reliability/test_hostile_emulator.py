"""Hostile input against a running emulator (it is a server users run): fuzzing and limits.

Every request goes over loopback to a real emulator, signed with the integration suite's own
signer unless the test is about unsigned garbage. The invariants: nothing is ever answered with a
5xx (no faults are configured), every 4xx from the API carries the service's BatchError body, no
handler exception reaches aiohttp's error log, the emulator keeps serving, and the stored data is
intact afterwards.
"""

from __future__ import annotations

import base64
import json
import socket
import string
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import aiohttp
import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchtasks.emulator import Emulator
from batchtasks.emulator.cli import build_parser
from batchtasks.emulator.constants import DB_FILENAME
from batchtasks.emulator.db import resolve_location
from tests.integration._signing_helper import RawClient

from ._wire import (
    ThreadedEmulator,
    WireReply,
    build_request,
    read_reply,
    threaded_emulator,
    wait_for,
)

JOB = "fuzzjob"
SEEDED = [f"seed-{i:03d}" for i in range(25)]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedEmulator]:
    """One emulator for the module, with a job holding known tasks."""
    with threaded_emulator() as s:
        s.create_job(JOB)
        reply = s.add_tasks(JOB, [{"id": i, "commandLine": "echo x"} for i in SEEDED])
        assert reply.status == 200
        assert all(r["status"] == "success" for r in reply.json()["value"])
        yield s


@pytest.fixture(autouse=True)
def _fresh_error_log(request: pytest.FixtureRequest) -> None:
    # The server is shared by the module; each test judges only the crashes it caused.
    if "server" in request.fixturenames:
        request.getfixturevalue("server").errors.records.clear()


def crashes(server: ThreadedEmulator) -> list[str]:
    """Handler exceptions in the server log (protocol-level 400s of aiohttp excluded)."""
    out = []
    for record in server.errors.records:
        exc = record.exc_info[1] if record.exc_info else None
        # aiohttp's own parser rejecting a malformed request line/header is a clean 400.
        if exc is not None and type(exc).__module__.startswith("aiohttp.http"):
            continue
        out.append(f"{record.getMessage()} {exc!r}")
    return out


def assert_sane(reply: WireReply, server: ThreadedEmulator) -> None:
    """No 5xx, errors carry a BatchError body, nothing crashed."""
    assert reply.status < 500, (reply.status, reply.body[:300])
    if reply.status >= 400:
        assert reply.is_batch_error(), reply.body[:300]
    assert crashes(server) == []


def assert_intact(server: ThreadedEmulator) -> None:
    """The job and its seeded tasks are all still there (and still answer)."""
    reply = server.request("GET", f"/jobs/{JOB}")
    assert reply.status == 200, reply.body[:300]
    ids = set(server.list_task_ids(JOB))
    assert set(SEEDED) <= ids


# -- malformed bodies ------------------------------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000
HOSTILE_BODIES = {
    "deep-arrays": DEEP,
    "deep-arrays-in-value": b'{"value":' + DEEP + b"}",
    "deep-objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "deep-unclosed": b"[" * 200_000,
    "truncated": b'{"value":[{"id":"x","commandLine":"a"',
    "not-json": b"\x00\x01garbage",
    "bad-utf8": b'{"value":[{"id":"x","commandLine":"\xff\xfe"}]}',
    "empty": b"",
    "top-level-null": b"null",
    "top-level-number": b"1e400",
    "huge-integer": b"9" * 5000,
    "huge-integer-in-task": b'{"value":[{"id":"x","commandLine":"a","requiredSlots":'
    + b"9" * 5000
    + b"}]}",
    "1e400-in-task": b'{"value":[{"id":"x1","commandLine":"a","requiredSlots":1e400}]}',
    "nan-in-task": b'{"value":[{"id":"x2","commandLine":"a","requiredSlots":NaN}]}',
    "huge-duration": b'{"value":[{"id":"x3","commandLine":"a","constraints":'
    b'{"retentionTime":"P' + b"9" * 5000 + b'D"}}]}',
    "huge-duration-seconds": b'{"value":[{"id":"x4","commandLine":"a","constraints":'
    b'{"maxWallClockTime":"PT' + b"9" * 5000 + b'S"}}]}',
    "lone-surrogate": b'{"value":[{"id":"x5","commandLine":"\\ud800"}]}',
    "lone-surrogate-in-id": b'{"value":[{"id":"\\udfff","commandLine":"a"}]}',
    "lone-surrogate-in-name": b'{"value":[{"id":"x6","commandLine":"a","displayName":"\\uDC00"}]}',
    "nul-in-id": b'{"value":[{"id":"x\\u0000","commandLine":"a"}]}',
    "value-not-list": b'{"value":{"id":"x"}}',
    "items-not-objects": b'{"value":[1,null,"x",[],true]}',
}
ENDPOINTS = [
    ("POST", f"/jobs/{JOB}/addtaskcollection"),
    ("POST", f"/jobs/{JOB}/tasks"),
    ("PUT", f"/jobs/{JOB}/tasks/{SEEDED[0]}"),
    ("POST", "/jobs"),
]


@pytest.mark.parametrize("body", list(HOSTILE_BODIES.values()), ids=list(HOSTILE_BODIES))
@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=[p for _, p in ENDPOINTS])
def test_malformed_bodies_are_client_errors(
    server: ThreadedEmulator, method: str, path: str, body: bytes
) -> None:
    reply = server.request(method, path, body=body)
    assert_sane(reply, server)
    collection = path.endswith("addtaskcollection")
    if body is HOSTILE_BODIES["huge-duration-seconds"]:
        # 'PT<5000 digits>S' parses to an (absurdly long) duration: accepting it is no crash.
        assert reply.status in (200, 201, 400), reply.body[:300]
    elif reply.status == 200 and collection:
        # A parseable collection may be answered per task; a hostile task is a clienterror.
        statuses = {r["status"] for r in reply.json()["value"]}
        assert statuses == {"clienterror"}, reply.body[:300]
    elif method == "PUT" and body in (b"", b"null"):
        # An update without constraints resets them to the defaults: a valid request.
        assert reply.status in (200, 400), (reply.status, reply.body[:300])
    else:
        assert reply.status == 400, (reply.status, reply.body[:300])


def test_data_intact_after_malformed_bodies(server: ThreadedEmulator) -> None:
    for body in HOSTILE_BODIES.values():
        server.request("POST", f"/jobs/{JOB}/addtaskcollection", body=body)
    assert_intact(server)
    assert crashes(server) == []


# -- hypothesis fuzzing ----------------------------------------------------------------------


def _containers(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    _containers,
    max_leaves=25,
)
TASK_KEYS = [
    "id",
    "displayName",
    "commandLine",
    "constraints",
    "requiredSlots",
    "environmentSettings",
    "resourceFiles",
    "outputFiles",
    "exitConditions",
    "dependsOn",
    "multiInstanceSettings",
    "userIdentity",
    "containerSettings",
    "affinityInfo",
    "applicationPackageReferences",
    "authenticationTokenSettings",
]
task_bodies = st.dictionaries(
    st.sampled_from(TASK_KEYS) | st.text(max_size=10), json_values, max_size=8
)


@FUZZ
@given(tasks=st.lists(task_bodies | json_values, max_size=6))
def test_fuzzed_task_collections(server: ThreadedEmulator, tasks: list[object]) -> None:
    reply = server.add_tasks(JOB, tasks)  # type: ignore[arg-type]
    assert_sane(reply, server)
    if reply.status == 200:
        results = reply.json()["value"]
        assert len(results) == len(tasks)
        assert {r["status"] for r in results} <= {"success", "clienterror"}


@FUZZ
@given(body=json_values)
def test_fuzzed_single_task_job_and_update_bodies(server: ThreadedEmulator, body: object) -> None:
    raw = json.dumps(body).encode()
    for method, path in ENDPOINTS[1:]:
        assert_sane(server.request(method, path, body=raw), server)


@FUZZ
@given(body=st.binary(max_size=300))
def test_fuzzed_raw_bytes_as_body(server: ThreadedEmulator, body: bytes) -> None:
    assert_sane(server.request("POST", f"/jobs/{JOB}/addtaskcollection", body=body), server)


header_names = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=20)
header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=60,
)
INTERESTING_HEADERS = [
    "If-Match",
    "If-None-Match",
    "If-Modified-Since",
    "If-Unmodified-Since",
    "ocp-date",
    "client-request-id",
    "return-client-request-id",
    "Content-Type",
    "Accept",
    "ocp-range",
]


@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(INTERESTING_HEADERS) | header_names, header_values, max_size=4
    ),
    method_path=st.sampled_from(
        [
            ("GET", f"/jobs/{JOB}/tasks/{SEEDED[1]}"),
            ("GET", f"/jobs/{JOB}/tasks"),
            ("PUT", f"/jobs/{JOB}/tasks/{SEEDED[1]}"),
            ("GET", f"/jobs/{JOB}"),
            ("POST", f"/jobs/{JOB}/tasks/nosuchtask/terminate"),
        ]
    ),
)
def test_fuzzed_headers(
    server: ThreadedEmulator, headers: dict[str, str], method_path: tuple[str, str]
) -> None:
    method, path = method_path
    # Content-Length must stay truthful, or the HTTP framing itself is what is being tested.
    headers = {
        k: v
        for k, v in headers.items()
        if k.lower() not in ("content-length", "host", "transfer-encoding", "connection")
    }
    body = b"{}" if method == "PUT" else None
    assert_sane(server.request(method, path, headers=headers, body=body), server)


QUERY_NAMES = [
    "$filter",
    "$select",
    "$expand",
    "maxresults",
    "timeout",
    "$skiptoken",
    "api-version",
]


@FUZZ
@given(
    query=st.lists(
        st.tuples(st.sampled_from(QUERY_NAMES) | header_names, header_values), max_size=4
    )
)
def test_fuzzed_query_strings(server: ThreadedEmulator, query: list[tuple[str, str]]) -> None:
    for path in (f"/jobs/{JOB}/tasks", f"/jobs/{JOB}/tasks/{SEEDED[2]}", "/jobs"):
        assert_sane(server.request("GET", path, query=query), server)


FILTER_WORDS = [
    "id",
    "state",
    "creationTime",
    "executionInfo/exitCode",
    "executionInfo/startTime",
    "lastModified",
    "eq",
    "ne",
    "gt",
    "ge",
    "lt",
    "le",
    "and",
    "or",
    "not",
    "startswith",
    "(",
    ")",
    ",",
    "'",
    "''",
    "'active'",
    "'seed-001'",
    "datetime'2020-01-01T00:00:00Z'",
    "2020-01-01T00:00:00Z",
    "1",
    "-1",
    "99999999999",
    "true",
    "false",
    " ",
    "%",
    "_",
    ";",
    "--",
    "/*",
    "*/",
    "\\",
    "\x00",
    "é",
    "☃",
]


@FUZZ
@given(
    words=st.lists(st.sampled_from(FILTER_WORDS), max_size=25),
    noise=st.text(max_size=20),
)
def test_fuzzed_filters(server: ThreadedEmulator, words: list[str], noise: str) -> None:
    text = " ".join(words) + noise
    text = text.encode("utf-8", "replace").decode("utf-8")
    for path in (f"/jobs/{JOB}/tasks", "/jobs"):
        reply = server.request("GET", path, query=[("$filter", text)])
        assert_sane(reply, server)


@pytest.mark.parametrize(
    "text",
    [
        "not " * 1020 + "id eq 'a'",
        "(" * 500 + "id eq 'a'" + ")" * 500,
        "id eq 'a' or " * 300 + "id eq 'b'",
        "executionInfo/exitCode eq " + "9" * 4000,
        "creationTime gt datetime'" + "9" * 4000 + "'",
        "x" * 5000,
    ],
    ids=["not-chain", "parens", "many-or", "long-int", "long-date", "too-long"],
)
def test_hostile_filter_shapes(server: ThreadedEmulator, text: str) -> None:
    reply = server.request("GET", f"/jobs/{JOB}/tasks", query=[("$filter", text)])
    assert_sane(reply, server)
    assert reply.status == 400
    assert reply.code == "InvalidQueryParameterValue"


def test_request_line_beyond_the_http_limit_is_refused(server: ThreadedEmulator) -> None:
    # Refused by the HTTP layer before any parsing of ours (414, a Batch error body).
    reply = server.request("GET", f"/jobs/{JOB}/tasks", query=[("$filter", "x" * 100_000)])
    assert reply.status == 414
    assert reply.is_batch_error()
    assert crashes(server) == []


id_text = st.text(max_size=80)


@FUZZ
@given(job_id=id_text, task_id=id_text)
def test_fuzzed_ids_in_paths(server: ThreadedEmulator, job_id: str, task_id: str) -> None:
    jid = quote(job_id.encode("utf-8", "surrogatepass"), safe="")
    tid = quote(task_id.encode("utf-8", "surrogatepass"), safe="")
    for method, path, body in [
        ("GET", f"/jobs/{jid}/tasks/{tid}", None),
        ("GET", f"/jobs/{jid}/tasks", None),
        ("DELETE", f"/jobs/{jid}/tasks/{tid}", None),
        ("PUT", f"/jobs/{jid}/tasks/{tid}", b"{}"),
        ("POST", f"/jobs/{jid}/tasks/{tid}/terminate", None),
        ("GET", f"/jobs/{jid}", None),
    ]:
        if not jid or not tid:
            continue
        assert_sane(server.request(method, path, body=body), server)
    assert set(SEEDED) <= set(server.list_task_ids(JOB))


# -- SQL injection ---------------------------------------------------------------------------

SQL_PAYLOADS = [
    "' OR '1'='1",
    "'; DROP TABLE tasks; --",
    "x'); DELETE FROM tasks; --",
    "' UNION SELECT id_lower, body FROM jobs --",
    "%' OR 1=1 --",
    "\\'; DROP TABLE jobs; --",
    '"; DROP TABLE jobs; --',
    "1; ATTACH DATABASE '/tmp/pwn.db' AS pwn; --",
]


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
def test_sql_injection_through_filters_and_ids_is_inert(
    server: ThreadedEmulator, payload: str
) -> None:
    quoted = payload.replace("'", "''")
    filters = [
        f"id eq '{quoted}'",
        f"startswith(id, '{quoted}')",
        f"state eq '{quoted}'",
        f"id eq '{payload}'",  # unbalanced on purpose
        payload,
    ]
    for text in filters:
        for path in (f"/jobs/{JOB}/tasks", "/jobs"):
            reply = server.request("GET", path, query=[("$filter", text)])
            assert_sane(reply, server)
            if reply.status == 200:
                # A well-formed filter on a literal that no id equals matches nothing.
                assert reply.json()["value"] == []
    enc = quote(payload, safe="")
    for method, path, body in [
        ("GET", f"/jobs/{enc}/tasks", None),
        ("GET", f"/jobs/{JOB}/tasks/{enc}", None),
        ("DELETE", f"/jobs/{JOB}/tasks/{enc}", None),
        ("DELETE", f"/jobs/{enc}", None),
        ("PUT", f"/jobs/{JOB}/tasks/{enc}", b"{}"),
        ("POST", f"/jobs/{enc}/addtaskcollection", json.dumps({"value": []}).encode()),
    ]:
        assert_sane(server.request(method, path, body=body), server)
    reply = server.add_tasks(JOB, [{"id": payload, "commandLine": "x"}])
    assert reply.json()["value"][0]["status"] == "clienterror"
    assert_intact(server)
    assert sorted(t for t in server.list_task_ids(JOB) if t.startswith("seed-")) == SEEDED


# -- oversized bodies ------------------------------------------------------------------------


def _head(server: ThreadedEmulator, extra: dict[str, str], *, sign: bool = True) -> bytes:
    # Signed over the declared headers; the body that follows never completes.
    data = build_request(
        "POST",
        f"/jobs/{JOB}/addtaskcollection",
        port=server.port,
        account=server.account,
        key=server.key,
        headers={"Content-Type": "application/json", **extra},
        sign=sign,
    )
    return data.replace(b"Content-Length: 0\r\n", b"")


@pytest.mark.parametrize("sign", [True, False], ids=["signed", "unsigned"])
def test_huge_content_length_is_refused_without_reading_the_body(
    server: ThreadedEmulator, sign: bool
) -> None:
    head = _head(server, {"Content-Length": str(10**12)}, sign=sign)
    assert b"Content-Length: 1000000000000" in head
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(head + b'{"value":[')
        # The body is 1 TB and we never send it: an answer at all proves it was not awaited.
        reply = read_reply(sock)
    assert reply.status == (413 if sign else 401)
    assert reply.is_batch_error()
    if sign:
        assert reply.code == "RequestBodyTooLarge"
    assert crashes(server) == []


def test_chunked_body_beyond_the_limit_is_refused_midstream(server: ThreadedEmulator) -> None:
    head = _head(server, {"Transfer-Encoding": "chunked"})
    limit = 1_048_576
    chunk = b"x" * 65536
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(head)
        sent = 0
        try:
            while sent <= limit + len(chunk):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        # No terminating chunk is ever sent: an answer proves the body was not read to its end.
        reply = read_reply(sock)
    assert reply.status == 413
    assert reply.code == "RequestBodyTooLarge"
    assert crashes(server) == []


def test_client_vanishing_mid_body_is_not_an_emulator_error(server: ThreadedEmulator) -> None:
    # Regression: a body cut short by the client (a cancelled call) was logged as an unhandled
    # ConnectionResetError and counted as a 500.
    def answered() -> int:
        stats = server.call(server.emulator.stats())
        return int(sum(stats["responses_by_status"].values()))

    before = answered()
    statuses_before = server.call(server.emulator.stats())["responses_by_status"]
    head = _head(server, {"Content-Length": "5000"})
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + b'{"value":[{"id":"half')
    assert wait_for(lambda: answered() > before)
    statuses = server.call(server.emulator.stats())["responses_by_status"]
    assert statuses.get("500", 0) == statuses_before.get("500", 0)
    assert crashes(server) == []
    assert_intact(server)


def test_emulator_still_serves_after_abuse(server: ThreadedEmulator) -> None:
    assert_intact(server)
    assert crashes(server) == []


# -- unsigned garbage --------------------------------------------------------------------------


@FUZZ
@given(data=st.binary(min_size=1, max_size=400))
def test_unsigned_garbage_requests(server: ThreadedEmulator, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data + b"\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    if received.startswith(b"HTTP/1."):
        status = int(received.split(b" ", 2)[1])
        assert status < 500, received[:300]
    assert crashes(server) == []


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
    path=st.sampled_from(
        ["/jobs", f"/jobs/{JOB}/tasks", f"/jobs/{JOB}/addtaskcollection", "/", "/x/y/z"]
    ),
    auth=st.one_of(st.none(), header_values, st.just("SharedKey batchdev:"), st.just("Bearer ")),
)
def test_unsigned_requests_never_get_through(
    server: ThreadedEmulator, method: str, path: str, auth: str | None
) -> None:
    headers = {} if auth is None else {"Authorization": auth}
    body = json.dumps({"value": [{"id": "intruder", "commandLine": "x"}]}).encode()
    reply = server.request(method, path, body=body, headers=headers, sign=False)
    assert reply.status in (400, 401, 403, 404, 405), (reply.status, reply.body[:200])
    if method != "HEAD":
        assert reply.is_batch_error()
    assert "intruder" not in server.list_task_ids(JOB)


# -- binding and the --location directory -------------------------------------------------------


async def test_binds_loopback_unless_told_otherwise() -> None:
    assert build_parser().parse_args([]).host == "127.0.0.1"
    async with Emulator(in_memory=True) as emu:
        assert emu.host == "127.0.0.1"
        listening = [
            c
            for c in psutil.Process().net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == emu.port
        ]
        assert [c.laddr.ip for c in listening] == ["127.0.0.1"]


async def test_location_cannot_be_escaped_by_requests(tmp_path: Path) -> None:
    location = tmp_path / "store"
    hostile = ["..", "...", "..%2F..%2Fescape", "%2Fetc%2Fpasswd", "a%00b", DB_FILENAME]
    with threaded_emulator(location=location / ".." / "store") as s:
        s.create_job("j")
        for name in hostile:
            for method, path in [
                ("POST", f"/jobs/{name}/addtaskcollection"),
                ("POST", f"/jobs/j/tasks/{name}/terminate"),
                ("GET", f"/jobs/{name}"),
                ("DELETE", f"/jobs/{name}"),
            ]:
                body = b'{"value":[]}' if path.endswith("collection") else None
                reply = s.request(method, path, body=body)
                assert reply.status < 500
            reply = s.add_tasks("j", [{"id": name.replace("%", ""), "commandLine": "x"}])
            assert reply.status == 200
        assert crashes(s) == []
    # Only the database (and SQLite's WAL side files) ever appear, only inside the location.
    created = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")}
    assert created <= {
        "store",
        f"store/{DB_FILENAME}",
        f"store/{DB_FILENAME}-wal",
        f"store/{DB_FILENAME}-shm",
    }
    assert f"store/{DB_FILENAME}" in created


def test_location_must_be_a_directory_and_the_db_not_a_symlink(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        resolve_location(not_a_dir)
    target = tmp_path / "elsewhere.sqlite3"
    target.write_text("")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / DB_FILENAME).symlink_to(target)
    with pytest.raises(ValueError, match="symbolic link"):
        resolve_location(linked)
    # A relative location with '..' resolves to one real directory; the file name is fixed.
    db = resolve_location(tmp_path / "a" / ".." / "b")
    assert db == (tmp_path / "b" / DB_FILENAME).resolve()


def test_admin_endpoints_reject_bad_input(server: ThreadedEmulator) -> None:
    for body in (b"[", b"[]", b'{"throttle_rate": 2}', b'{"nope": 1}', b'{"seed": "x"}'):
        data = (
            f"POST /_emulator/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(data)
            reply = read_reply(sock)
        assert reply.status == 400, reply.body
    # And the faults are still off.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"GET /_emulator/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        config = read_reply(sock).json()
    assert config["throttle_rate"] == 0.0
    assert crashes(server) == []


def test_slowloris_does_not_block_other_clients(server: ThreadedEmulator) -> None:
    # Half-sent requests on a few connections must not stop a normal request being served.
    holders = []
    try:
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            holders.append(sock)
        # The socket timeout bounds the wait: an answer at all means it did not hang.
        reply = server.request("GET", f"/jobs/{JOB}")
        assert reply.status == 200
    finally:
        for sock in holders:
            sock.close()


async def test_absurd_exit_codes_cannot_stall_the_task_lifecycle() -> None:
    # Regression: 'exit <30 digits>' overflowed SQLite's INTEGER when the task finished, the
    # whole lifecycle step rolled back, and no task of the emulator ever progressed again.
    tasks = {
        "huge": "exit " + "9" * 30,
        "huge-negative": "exit -" + "9" * 30,
        "beyond-int-digits": "exit " + "9" * 5000,
        "normal": "exit 3",
    }
    async with (
        Emulator(in_memory=True, run_tasks=True, clock_speed=1000.0) as emu,
        aiohttp.ClientSession() as session,
    ):
        raw = RawClient(session, emu.url, emu.account, emu.key)
        await raw.create_job("life")
        body = {"value": [{"id": k, "commandLine": v} for k, v in tasks.items()]}
        reply = await raw.send("POST", "/jobs/life/addtaskcollection", body=body)
        assert {r["status"] for r in reply.json()["value"]} == {"success"}
        await emu.advance(10)
        await emu.advance(10_000)
        listed = (await raw.send("GET", "/jobs/life/tasks")).json()["value"]
    codes = {t["id"]: (t["state"], t["executionInfo"].get("exitCode")) for t in listed}
    assert codes == {
        "huge": ("completed", 2**31 - 1),
        "huge-negative": ("completed", -(2**31)),
        "beyond-int-digits": ("completed", 2**31 - 1),
        "normal": ("completed", 3),
    }


@pytest.mark.parametrize(
    "text",
    [
        "creationTime gt 9999-12-31T23:59:59-23:59",
        "creationTime gt 0001-01-01T00:00:00+23:59",
        "creationTime gt datetime'9999-12-31T23:59:59.9999999-99:99'",
        "lastModified lt 0001-01-01T00:00:00+00:01",
    ],
)
def test_filter_dates_past_the_calendar_edges(server: ThreadedEmulator, text: str) -> None:
    # Regression: the offset pushed the literal past datetime's range -> OverflowError -> 500.
    reply = server.request("GET", f"/jobs/{JOB}/tasks", query=[("$filter", text)])
    assert_sane(reply, server)
    assert (reply.status, reply.code) == (400, "InvalidQueryParameterValue")


def _admin_post(port: int, path: str, body: bytes) -> WireReply:
    data = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        return read_reply(sock)


@pytest.mark.parametrize("seconds", ["1e12", "1e300", "1" + "0" * 400])
def test_advancing_the_clock_past_the_calendar_is_refused(seconds: str) -> None:
    # Regression: a finite but huge advance moved the clock past datetime.max; the call answered
    # 500 and from then on every API request failed computing "now" until a restart.
    with threaded_emulator() as s:
        s.create_job("clock")
        reply = _admin_post(s.port, "/_emulator/advance", b'{"seconds": ' + seconds.encode() + b"}")
        assert reply.status == 400, reply.body
        assert s.request("GET", "/jobs/clock/tasks").status == 200
        assert s.add_tasks("clock", [{"id": "after", "commandLine": "x"}]).status == 200
        assert _admin_post(s.port, "/_emulator/advance", b'{"seconds": 3600}').status == 200
        assert crashes(s) == []


@pytest.mark.parametrize("end", [2**31, 10**30])
async def test_dependency_ranges_beyond_32_bits_are_refused(end: int) -> None:
    # Regression: a range end beyond SQLite's INTEGER overflowed in the lifecycle's dependency
    # query, the step rolled back, and no task of the emulator ever ran again.
    async with (
        Emulator(in_memory=True, run_tasks=True, clock_speed=1000.0) as emu,
        aiohttp.ClientSession() as session,
    ):
        raw = RawClient(session, emu.url, emu.account, emu.key)
        await raw.create_job("deps", usesTaskDependencies=True)
        body = {
            "value": [
                {
                    "id": "dep",
                    "commandLine": "x",
                    "dependsOn": {"taskIdRanges": [{"start": 0, "end": end}]},
                },
                {"id": "normal", "commandLine": "exit 0"},
            ]
        }
        reply = await raw.send("POST", "/jobs/deps/addtaskcollection", body=body)
        results = {r["taskId"]: r for r in reply.json()["value"]}
        assert results["dep"]["status"] == "clienterror"
        assert results["dep"]["error"]["code"] == "InvalidPropertyValue"
        await emu.advance(10)
        await emu.advance(10_000)
        task = (await raw.send("GET", "/jobs/deps/tasks/normal")).json()
    assert task["state"] == "completed"


SKIPTOKEN_PAYLOADS = [
    b'{"v":1,"after":"\\ud800"}',
    b"[" * 1500 + b"]" * 1500,  # deeper than the recursion limit, short enough for a URL
    b'{"v":1,"after":"seed-001\' OR 1=1 --"}',
    b'{"v":1,"after":' + b"9" * 5000 + b"}",
    b'{"v":1,"after":"\\u0000"}',
]


@FUZZ
@given(
    payload=st.sampled_from(SKIPTOKEN_PAYLOADS)
    | st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps({"v": 1, "after": v}).encode())
)
def test_forged_continuation_tokens(server: ThreadedEmulator, payload: bytes) -> None:
    # Regression: a token whose cursor was a lone surrogate, or whose JSON nested deeply,
    # answered 500 (UnicodeEncodeError at the SQL bind / RecursionError).
    token = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    for path in (f"/jobs/{JOB}/tasks", "/jobs"):
        reply = server.request("GET", path, query=[("$skiptoken", token)])
        assert_sane(reply, server)
    assert_intact(server)
