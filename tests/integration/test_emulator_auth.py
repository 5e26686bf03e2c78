"""Shared Key verification: the fact sheet's worked examples and every way auth can fail."""

from __future__ import annotations

import base64
import hashlib

import aiohttp
import pytest

from batchtasks.emulator import DEV_ACCOUNT, DEV_KEY, Emulator
from batchtasks.emulator.auth import sign, string_to_sign

from ._signing_helper import CONTENT_TYPE, RawClient, http_date, sign_request

VECTOR_KEY = (
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="
)
VECTOR_DATE = "Tue, 01 Oct 2024 12:00:00 GMT"


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "expected"),
    [
        (
            "POST",
            "/jobs/job-1/tasks",
            "api-version=2024-02-01.19.0&timeout=30",
            {
                "Content-Type": CONTENT_TYPE,
                "client-request-id": "00000000-0000-0000-0000-000000000001",
                "ocp-date": VECTOR_DATE,
                "Content-Length": "55",
            },
            "5MqAbSZCYn3mfdI7HLcQcq7vXfRybkKTrT3x1iUT0fU=",
        ),
        (
            "GET",
            "/jobs/job-1/tasks",
            "api-version=2024-02-01.19.0&%24filter=state%20eq%20%27active%27&maxresults=100",
            {"Accept": "application/json", "ocp-date": VECTOR_DATE},
            "G7CWXBLHdzCT5G5CjDMDu26qKZZVRpNu2nf4BtDk7OQ=",
        ),
        (
            "POST",
            "/jobs/job-1/tasks/task-1/terminate",
            "api-version=2024-02-01.19.0",
            {"If-Match": "0x8D4125FD1A825A4", "ocp-date": VECTOR_DATE, "Content-Length": "0"},
            "ly/kB3FyFvvjRPaGHJhL6d3uLgo0cntprRgYDVLkbsE=",
        ),
    ],
)
def test_fact_sheet_vectors(
    method: str, path: str, query: str, headers: dict[str, str], expected: str
) -> None:
    assert sign(string_to_sign(method, path, query, headers, "myaccount"), VECTOR_KEY) == expected


def test_vector_d_capitalised_ocp_date_is_not_signed_like_the_sdk() -> None:
    headers = {"Ocp-Date": VECTOR_DATE}
    path, query = "/jobs/job-1/tasks/task-1", "api-version=2024-02-01.19.0"
    text = string_to_sign("GET", path, query, headers, "myaccount", ocp_case_sensitive=True)
    assert (
        text
        == "GET" + "\n" * 12 + "/myaccount/jobs/job-1/tasks/task-1\napi-version:2024-02-01.19.0"
    )
    assert sign(text, VECTOR_KEY) == "Dqin+rXiAdPpTqgUdvJpBDNvldgaTaFCzvGSwPLL85s="


async def test_capitalised_ocp_date_accepted_either_way(raw: RawClient) -> None:
    import email.utils
    import time

    from multidict import CIMultiDict

    url = raw.url("/jobs")
    date = email.utils.formatdate(time.time(), usegmt=True)
    sdk_style = CIMultiDict({"Ocp-Date": date})
    sdk_auth = sign(
        string_to_sign(
            "GET", "/jobs", url.split("?")[1], sdk_style, raw.account, ocp_case_sensitive=True
        ),
        raw.key,
    )
    for auth in (
        f"SharedKey {raw.account}:{sdk_auth}",
        sign_request("GET", url, {"Ocp-Date": date}, raw.account, raw.key),
    ):
        async with raw.session.get(url, headers={"Ocp-Date": date, "Authorization": auth}) as resp:
            assert resp.status == 200


def test_vector_b_string_to_sign_is_exact() -> None:
    text = string_to_sign(
        "GET",
        "/jobs/job-1/tasks",
        "api-version=2024-02-01.19.0&%24filter=state%20eq%20%27active%27&maxresults=100",
        {"ocp-date": VECTOR_DATE},
        "myaccount",
    )
    assert text == (
        "GET\n\n\n\n\n\n\n\n\n\n\n\nocp-date:Tue, 01 Oct 2024 12:00:00 GMT\n"
        "/myaccount/jobs/job-1/tasks\n$filter:state eq 'active'\n"
        "api-version:2024-02-01.19.0\nmaxresults:100"
    )


async def test_valid_signature_is_accepted(raw: RawClient) -> None:
    assert (await raw.send("GET", "/jobs")).status == 200


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"key": base64.b64encode(b"x" * 64).decode()}, 403, "AuthenticationFailed"),
        ({"account": "otheraccount"}, 403, "AuthenticationFailed"),
        ({"sign": False}, 401, "AuthenticationFailed"),
        ({"date_offset": -16 * 60}, 403, "AuthenticationFailed"),
        ({"date_offset": 16 * 60}, 403, "AuthenticationFailed"),
    ],
)
async def test_rejected_credentials(
    raw: RawClient, kwargs: dict[str, object], status: int, code: str
) -> None:
    reply = await raw.send("GET", "/jobs", **kwargs)  # type: ignore[arg-type]
    assert (reply.status, reply.code) == (status, code)
    assert reply.headers["Content-Type"] == "application/json;odata=minimalmetadata"


async def _send_tampered(
    emu: Emulator,
    *,
    sign_url: str,
    send_url: str,
    sign_headers: dict[str, str],
    send_headers: dict[str, str],
    data: bytes | None = None,
    method: str = "GET",
) -> tuple[int, str]:
    auth = sign_request(method, sign_url, sign_headers, emu.account, emu.key)
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            send_url,
            data=data,
            headers={**send_headers, "Authorization": auth},
            skip_auto_headers=("Content-Type",),
        ) as resp,
    ):
        body = await resp.json(content_type=None)
        return resp.status, body["code"]


async def test_tampered_path_query_length_and_date(batch_emulator: Emulator) -> None:
    base = batch_emulator.url
    date = http_date()
    ok = {"ocp-date": date}
    # path
    assert await _send_tampered(
        batch_emulator,
        sign_url=f"{base}/jobs/a?api-version=2024-02-01.19.0",
        send_url=f"{base}/jobs/b?api-version=2024-02-01.19.0",
        sign_headers=ok,
        send_headers=ok,
    ) == (403, "AuthenticationFailed")
    # query
    assert await _send_tampered(
        batch_emulator,
        sign_url=f"{base}/jobs?api-version=2024-02-01.19.0&maxresults=5",
        send_url=f"{base}/jobs?api-version=2024-02-01.19.0&maxresults=6",
        sign_headers=ok,
        send_headers=ok,
    ) == (403, "AuthenticationFailed")
    # ocp-date
    assert await _send_tampered(
        batch_emulator,
        sign_url=f"{base}/jobs?api-version=2024-02-01.19.0",
        send_url=f"{base}/jobs?api-version=2024-02-01.19.0",
        sign_headers=ok,
        send_headers={"ocp-date": http_date(-5)},
    ) == (403, "AuthenticationFailed")
    # body length
    body = b'{"id":"j","poolInfo":{"poolId":"p"}}'
    send = {"ocp-date": date, "Content-Type": CONTENT_TYPE, "Content-Length": str(len(body))}
    assert await _send_tampered(
        batch_emulator,
        method="POST",
        sign_url=f"{base}/jobs?api-version=2024-02-01.19.0",
        send_url=f"{base}/jobs?api-version=2024-02-01.19.0",
        sign_headers={**send, "Content-Length": str(len(body) + 1)},
        send_headers=send,
        data=body,
    ) == (403, "AuthenticationFailed")


@pytest.mark.parametrize(
    "value",
    [
        "SharedKey",
        "SharedKey batchdev",
        "SharedKey batchdev:not*base64",
        "Basic abc",
        "SharedKey batchdev:YWJj",
    ],
)
async def test_malformed_authorization(raw: RawClient, value: str) -> None:
    reply = await raw.send("GET", "/jobs", sign=False, headers={"Authorization": value})
    assert (reply.status, reply.code) == (400, "InvalidAuthenticationInfo")


async def test_unparsable_date_is_invalid_header(raw: RawClient) -> None:
    reply = await raw.send("GET", "/jobs", headers={"ocp-date": "yesterday"})
    assert (reply.status, reply.code) == (400, "InvalidHeaderValue")


async def test_bearer_rejected_by_default(raw: RawClient) -> None:
    reply = await raw.send("GET", "/jobs", sign=False, headers={"Authorization": "Bearer abc"})
    assert (reply.status, reply.code) == (403, "AuthenticationFailed")


async def test_bearer_dev_modes() -> None:
    async with (
        Emulator(in_memory=True, accept_bearer=True) as any_token,
        aiohttp.ClientSession() as s,
    ):
        url = f"{any_token.url}/jobs?api-version=2024-02-01.19.0"
        async with s.get(url, headers={"Authorization": "Bearer whatever"}) as r:
            assert r.status == 200
    async with (
        Emulator(in_memory=True, accept_bearer=True, bearer_token="dev-token") as fixed,
        aiohttp.ClientSession() as s,
    ):
        url = f"{fixed.url}/jobs?api-version=2024-02-01.19.0"
        async with s.get(url, headers={"Authorization": "Bearer dev-token"}) as r:
            assert r.status == 200
        async with s.get(url, headers={"Authorization": "Bearer other"}) as r:
            assert r.status == 403


async def test_custom_account_and_key_and_repr_hides_key() -> None:
    key = base64.b64encode(hashlib.sha512(b"custom").digest()).decode()
    emu = Emulator(in_memory=True, account="acct2", key=key)
    assert key not in repr(emu)
    assert DEV_KEY not in repr(Emulator(in_memory=True))
    async with emu, aiohttp.ClientSession() as session:
        client = RawClient(session, emu.url, "acct2", key)
        assert (await client.send("GET", "/jobs")).status == 200
        wrong = RawClient(session, emu.url, DEV_ACCOUNT, DEV_KEY)
        assert (await wrong.send("GET", "/jobs")).status == 403


async def test_api_version_checks(raw: RawClient) -> None:
    missing = await raw.send("GET", "/jobs", api_version=None)
    assert (missing.status, missing.code) == (400, "MissingRequiredQueryParameter")
    unknown = await raw.send("GET", "/jobs", api_version="2000-01-01.1.0")
    assert (unknown.status, unknown.code) == (400, "UnsupportedRequestVersion")
    neighbour = await raw.send("GET", "/jobs", api_version="2024-07-01.20.0")
    assert neighbour.status == 200


async def test_date_slot_signed_empty_when_ocp_date_present(raw: RawClient) -> None:
    url = raw.url("/jobs")
    date = http_date()
    sent = {"ocp-date": date, "Date": date}
    as_docs = sign_request("GET", url, {"ocp-date": date}, raw.account, raw.key)
    as_sent = sign_request("GET", url, sent, raw.account, raw.key)
    for auth in (as_docs, as_sent):
        async with raw.session.get(url, headers={**sent, "Authorization": auth}) as resp:
            assert resp.status == 200


async def test_body_less_post_signed_with_zero_length_without_header(
    batch_emulator: Emulator,
) -> None:
    base = batch_emulator.url
    raw_headers = {"ocp-date": http_date()}
    url = f"{base}/jobs/j/tasks/t/terminate?api-version=2024-02-01.19.0"
    auth = sign_request(
        "POST",
        url,
        {**raw_headers, "Content-Length": "0"},
        batch_emulator.account,
        batch_emulator.key,
    )

    # Send with chunked encoding (no Content-Length header), signed as "0" like azure-batch 15.x.
    async def empty() -> object:
        yield b""

    async with (
        aiohttp.ClientSession() as s,
        s.post(
            url,
            data=empty(),
            headers={**raw_headers, "Authorization": auth},
            skip_auto_headers=("Content-Type",),
        ) as r,
    ):
        body = await r.json(content_type=None)
    assert (r.status, body["code"]) == (404, "JobNotFound")
