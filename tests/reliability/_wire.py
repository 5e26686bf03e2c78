"""Raw-socket HTTP and a threaded emulator for the hostile-input and auth suites.

The fuzz tests need to send bytes no HTTP library would (bad header values, lying
Content-Length, slow bodies) and to run hypothesis in plain synchronous tests, so the emulator
runs on its own event loop in a background thread and requests go over plain sockets. Requests
are signed with the integration suite's independent test-side signer. Must not import the
batchtasks client (the emulator is checked on its own here).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from batchtasks.emulator import Emulator, FaultConfig
from tests.integration._signing_helper import API_VERSION, CONTENT_TYPE, http_date, sign_request


@dataclass
class WireReply:
    """A response read off a raw socket."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str | None:
        try:
            data = self.json()
        except ValueError:
            return None
        return data.get("code") if isinstance(data, dict) else None

    def is_batch_error(self) -> bool:
        """Whether the body is the service's BatchError JSON (code + message.value)."""
        try:
            data = self.json()
        except ValueError:
            return False
        return (
            isinstance(data, dict)
            and isinstance(data.get("code"), str)
            and isinstance(data.get("message"), dict)
            and isinstance(data["message"].get("value"), str)
        )


def read_reply(sock: socket.socket) -> WireReply:
    """Read one HTTP/1.1 response (the request asked for ``Connection: close``)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a response head: {buf[:200]!r}")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length")
    if length is not None:
        need = int(length)
        while len(rest) < need:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        body = rest[:need]
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while not rest.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        body = _dechunk(rest)
    else:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        body = rest
    return WireReply(status, headers, body)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return out


def exchange(port: int, data: bytes, *, timeout: float = 10.0) -> WireReply:
    """Send raw request bytes to 127.0.0.1:`port` and read the response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_reply(sock)


def build_request(
    method: str,
    path: str,
    *,
    port: int,
    account: str,
    key: str,
    query: list[tuple[str, str]] | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    sign: bool = True,
    api_version: str | None = API_VERSION,
    date_offset: float = 0.0,
) -> bytes:
    """Bytes of one (signed) HTTP/1.1 request with ``Connection: close``.

    `path` is sent exactly as given (already percent-encoded); `query` values are encoded here.
    """
    items = [] if api_version is None else [("api-version", api_version)]
    items += query or []
    qs = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in items)
    target = path + (f"?{qs}" if qs else "")
    send = {"ocp-date": http_date(date_offset)}
    if body is not None:
        send["Content-Type"] = CONTENT_TYPE
        send["Content-Length"] = str(len(body))
    elif method in ("POST", "PUT", "DELETE"):
        send["Content-Length"] = "0"
    send.update(headers or {})
    if sign:
        url = f"http://127.0.0.1:{port}{target}"
        send["Authorization"] = sign_request(method, url, send, account, key)
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in send.items())
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + (body or b"")


#: Where an emulator handler failure is logged (its own logger, aiohttp's, asyncio's).
_SERVER_LOGGERS = ("batchtasks.emulator", "aiohttp.server", "aiohttp.web", "asyncio")


class ServerErrors(logging.Handler):
    """Collects ERROR records of aiohttp's server loggers (an unhandled handler exception)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        return [
            f"{r.getMessage()} {r.exc_info[1]!r}" if r.exc_info else r.getMessage()
            for r in self.records
        ]


class ThreadedEmulator:
    """An `Emulator` served by its own event loop on a daemon thread.

    Args:
        **kwargs: passed to `Emulator` (in memory unless `location` is given).
    """

    def __init__(self, **kwargs: Any) -> None:
        if "location" not in kwargs:
            kwargs.setdefault("in_memory", True)
        kwargs.setdefault("faults", FaultConfig())
        self.emulator = Emulator(**kwargs)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.errors = ServerErrors()

    @property
    def port(self) -> int:
        return self.emulator.port

    @property
    def account(self) -> str:
        return self.emulator.account

    @property
    def key(self) -> str:
        return self.emulator.key

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the emulator's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        for name in _SERVER_LOGGERS:
            logging.getLogger(name).addHandler(self.errors)
        self._thread.start()
        self.call(self.emulator.start())

    def stop(self) -> None:
        try:
            self.call(self.emulator.stop())
            self.call(_cancel_leftovers())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()
            for name in _SERVER_LOGGERS:
                logging.getLogger(name).removeHandler(self.errors)

    def request(self, method: str, path: str, **kw: Any) -> WireReply:
        """Send a signed (unless ``sign=False``) request and read the reply."""
        timeout = kw.pop("timeout", 10.0)
        account = kw.pop("account", self.account)
        key = kw.pop("key", self.key)
        data = build_request(method, path, port=self.port, account=account, key=key, **kw)
        return exchange(self.port, data, timeout=timeout)

    def create_job(self, job_id: str) -> None:
        body = json.dumps({"id": job_id, "poolInfo": {"poolId": "p"}}).encode()
        reply = self.request("POST", "/jobs", body=body)
        assert reply.status == 201, reply.body

    def add_tasks(self, job_id: str, tasks: list[dict[str, Any]]) -> WireReply:
        body = json.dumps({"value": tasks}).encode()
        return self.request("POST", f"/jobs/{quote(job_id, safe='')}/addtaskcollection", body=body)

    def list_task_ids(self, job_id: str) -> list[str]:
        ids: list[str] = []
        token: list[tuple[str, str]] = []
        while True:
            reply = self.request(
                "GET", f"/jobs/{quote(job_id, safe='')}/tasks", query=[("$select", "id"), *token]
            )
            assert reply.status == 200, reply.body
            data = reply.json()
            ids += [t["id"] for t in data["value"]]
            link = data.get("odata.nextLink")
            if not link:
                return ids
            skip = link.rsplit("$skiptoken=", 1)[1].split("&")[0]
            from urllib.parse import unquote

            token = [("$skiptoken", unquote(skip))]


async def _cancel_leftovers() -> None:
    # Handlers of connections a test abandoned half-way (slowloris, garbage) end here, so the
    # loop closes with no pending task.
    current = asyncio.current_task()
    leftovers = [t for t in asyncio.all_tasks() if t is not current]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)


@contextmanager
def threaded_emulator(**kwargs: Any) -> Iterator[ThreadedEmulator]:
    """Start a `ThreadedEmulator`, stop it whatever happens."""
    server = ThreadedEmulator(**kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    """Poll `predicate` until true or `timeout` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def hold_connections(port: int, count: int) -> list[socket.socket]:
    """Open `count` connections to `port` and keep them; every second one sends half a request
    head. Returns the sockets that connected (the caller closes them)."""
    held: list[socket.socket] = []
    give_up = time.monotonic() + 60  # an emulator that stopped accepting: fail, not hang
    for i in range(count):
        if time.monotonic() > give_up:
            break
        if i % 16 == 0:
            # Let the emulator accept: a burst beyond its listen backlog would only wait for
            # the kernel's 1 s SYN retry.
            time.sleep(0.01)
        sock = socket.socket()
        sock.settimeout(5)
        try:
            sock.connect(("127.0.0.1", port))
            if i % 2:  # half of them start a request head and never finish it
                sock.sendall(b"GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        except OSError:
            sock.close()
            continue
        held.append(sock)
    return held
