"""Test-side Shared Key signer and raw-HTTP helper for emulator integration tests.

Written independently of `batchtasks.emulator.auth` (from the fact sheet §9) so that a mistake in
the emulator's verifier cannot hide behind the same mistake here.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import io
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from multidict import CIMultiDict

API_VERSION = "2024-02-01.19.0"
CONTENT_TYPE = "application/json; odata=minimalmetadata; charset=utf-8"
_STANDARD = (
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-MD5",
    "Content-Type",
    "Date",
    "If-Modified-Since",
    "If-Match",
    "If-None-Match",
    "If-Unmodified-Since",
    "Range",
)


def sign_request(method: str, url: str, headers: dict[str, str], account: str, key: str) -> str:
    """Return the ``Authorization`` value for a request (headers as they will be sent)."""
    parts = urlsplit(url)
    by_lower = {k.lower(): v for k, v in headers.items()}
    lines = [method]
    lines += [by_lower.get(h.lower(), "") for h in _STANDARD]
    text = "\n".join(lines) + "\n"
    for name, value in sorted((k, v) for k, v in by_lower.items() if k.startswith("ocp-") and v):
        text += f"{name}:{value}\n"
    text += f"/{account}{parts.path}"
    seen: dict[str, str] = {}
    for name, value in parse_qsl(parts.query):
        seen.setdefault(name, value)
    for name in sorted(seen):
        text += f"\n{name}:{seen[name]}"
    mac = hmac.new(base64.b64decode(key), text.encode(), hashlib.sha256).digest()
    return f"SharedKey {account}:{base64.b64encode(mac).decode()}"


def http_date(offset_seconds: float = 0.0) -> str:
    """An RFC 1123 date for now + offset."""
    import time

    return email.utils.formatdate(time.time() + offset_seconds, usegmt=True)


@dataclass
class Reply:
    """A received response."""

    status: int
    headers: CIMultiDict[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str | None:
        if not self.body:
            return None
        data = self.json()
        return data.get("code") if isinstance(data, dict) else None


class RawClient:
    """Signs and sends requests with aiohttp; no retries, no batchtasks client code."""

    def __init__(self, session: aiohttp.ClientSession, base: str, account: str, key: str) -> None:
        self.session = session
        self.base = base
        self.account = account
        self.key = key

    def url(
        self, path: str, query: dict[str, str] | None = None, api_version: str | None = API_VERSION
    ) -> str:
        from urllib.parse import quote

        items = [] if api_version is None else [("api-version", api_version)]
        items += list((query or {}).items())
        qs = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in items)
        return f"{self.base}{path}" + (f"?{qs}" if qs else "")

    async def send(
        self,
        method: str,
        path_or_url: str,
        *,
        body: Any = None,
        raw_body: bytes | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        api_version: str | None = API_VERSION,
        sign: bool = True,
        account: str | None = None,
        key: str | None = None,
        date_offset: float = 0.0,
    ) -> Reply:
        """Send one request and read the whole answer."""
        url = (
            path_or_url
            if path_or_url.startswith("http")
            else self.url(path_or_url, query, api_version)
        )
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
        send_headers = {"ocp-date": http_date(date_offset), "Accept": "application/json"}
        if data is not None:
            send_headers["Content-Type"] = CONTENT_TYPE
            send_headers["Content-Length"] = str(len(data))
        elif method in ("POST", "PUT", "DELETE", "PATCH"):
            send_headers["Content-Length"] = "0"
        send_headers.update(headers or {})
        if sign:
            send_headers["Authorization"] = sign_request(
                method, url, send_headers, account or self.account, key or self.key
            )
        payload = io.BytesIO(data) if data is not None and len(data) > 512 * 1024 else data
        async with self.session.request(
            method, url, data=payload, headers=send_headers, skip_auto_headers=("Content-Type",)
        ) as resp:
            return Reply(resp.status, CIMultiDict(resp.headers), await resp.read())

    async def create_job(self, job_id: str, **extra: Any) -> Reply:
        reply = await self.send(
            "POST", "/jobs", body={"id": job_id, "poolInfo": {"poolId": "p"}, **extra}
        )
        assert reply.status == 201, reply.body
        return reply

    async def add_task(self, job_id: str, task: dict[str, Any]) -> Reply:
        return await self.send("POST", f"/jobs/{job_id}/tasks", body=task)

    async def get_task(self, job_id: str, task_id: str, **kw: Any) -> Reply:
        return await self.send("GET", f"/jobs/{job_id}/tasks/{task_id}", **kw)
