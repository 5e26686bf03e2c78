"""Shared Key signing: the §9.3 vectors exactly, and equality with the official SDK signer."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchtasks._private.constants import API_VERSION, JSON_CONTENT_TYPE
from batchtasks._private.credentials import SharedKeyCredential
from batchtasks._private.protocol import Request, encode_query, request_url
from batchtasks._private.signing import (
    decode_key,
    format_ocp_date,
    shared_key_authorization,
    string_to_sign,
)
from tests.unit.conftest import VECTOR_ACCOUNT, VECTOR_DATE, VECTOR_KEY, official_authorization

KEY = decode_key(VECTOR_KEY)


def test_vector_a_task_add() -> None:
    body = b'{"id":"task-1","commandLine":"/bin/sh -c \'echo hello\'"}'
    assert len(body) == 55
    headers = [
        ("Content-Type", JSON_CONTENT_TYPE),
        ("client-request-id", "00000000-0000-0000-0000-000000000001"),
        ("ocp-date", VECTOR_DATE),
        ("Content-Length", "55"),
    ]
    sts = string_to_sign(
        method="POST",
        account_name=VECTOR_ACCOUNT,
        path="/jobs/job-1/tasks",
        raw_query="api-version=2024-02-01.19.0&timeout=30",
        headers=headers,
    )
    assert sts == (
        "POST\n\n\n55\n\napplication/json; odata=minimalmetadata; charset=utf-8\n\n\n\n\n\n\n"
        "ocp-date:Tue, 01 Oct 2024 12:00:00 GMT\n/myaccount/jobs/job-1/tasks\n"
        "api-version:2024-02-01.19.0\ntimeout:30"
    )
    auth = shared_key_authorization(
        account_name=VECTOR_ACCOUNT,
        key=KEY,
        method="POST",
        path="/jobs/job-1/tasks",
        raw_query="api-version=2024-02-01.19.0&timeout=30",
        headers=headers,
    )
    assert auth == "SharedKey myaccount:5MqAbSZCYn3mfdI7HLcQcq7vXfRybkKTrT3x1iUT0fU="


def test_vector_b_task_list_with_filter() -> None:
    raw_query = "api-version=2024-02-01.19.0&%24filter=state%20eq%20%27active%27&maxresults=100"
    headers = [("Accept", "application/json"), ("ocp-date", VECTOR_DATE)]
    sts = string_to_sign(
        method="GET",
        account_name=VECTOR_ACCOUNT,
        path="/jobs/job-1/tasks",
        raw_query=raw_query,
        headers=headers,
    )
    assert sts == (
        "GET\n\n\n\n\n\n\n\n\n\n\n\nocp-date:Tue, 01 Oct 2024 12:00:00 GMT\n"
        "/myaccount/jobs/job-1/tasks\n$filter:state eq 'active'\n"
        "api-version:2024-02-01.19.0\nmaxresults:100"
    )
    cred = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    auth = cred.sign(method="GET", path="/jobs/job-1/tasks", raw_query=raw_query, headers=headers)
    assert auth == "SharedKey myaccount:G7CWXBLHdzCT5G5CjDMDu26qKZZVRpNu2nf4BtDk7OQ="


def test_vector_b_through_our_query_encoding() -> None:
    # Our encoder writes the query differently from the vector's URL; the signature must not care.
    raw_query = encode_query(
        [("api-version", API_VERSION), ("$filter", "state eq 'active'"), ("maxresults", "100")]
    )
    cred = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    headers = [("accept", "application/json"), ("ocp-date", VECTOR_DATE)]
    auth = cred.sign(method="GET", path="/jobs/job-1/tasks", raw_query=raw_query, headers=headers)
    assert auth == "SharedKey myaccount:G7CWXBLHdzCT5G5CjDMDu26qKZZVRpNu2nf4BtDk7OQ="


def test_vector_c_terminate_if_match_content_length_zero() -> None:
    headers = [
        ("If-Match", "0x8D4125FD1A825A4"),
        ("ocp-date", VECTOR_DATE),
        ("Content-Length", "0"),
    ]
    sts = string_to_sign(
        method="POST",
        account_name=VECTOR_ACCOUNT,
        path="/jobs/job-1/tasks/task-1/terminate",
        raw_query="api-version=2024-02-01.19.0",
        headers=headers,
    )
    assert sts == (
        "POST\n\n\n0\n\n\n\n\n0x8D4125FD1A825A4\n\n\n\nocp-date:Tue, 01 Oct 2024 12:00:00 GMT\n"
        "/myaccount/jobs/job-1/tasks/task-1/terminate\napi-version:2024-02-01.19.0"
    )
    cred = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    auth = cred.sign(
        method="POST",
        path="/jobs/job-1/tasks/task-1/terminate",
        raw_query="api-version=2024-02-01.19.0",
        headers=headers,
    )
    assert auth == "SharedKey myaccount:ly/kB3FyFvvjRPaGHJhL6d3uLgo0cntprRgYDVLkbsE="


def test_vector_d_capitalised_ocp_date_is_not_signed() -> None:
    headers = [("Ocp-Date", VECTOR_DATE)]
    sts = string_to_sign(
        method="GET",
        account_name=VECTOR_ACCOUNT,
        path="/jobs/job-1/tasks/task-1",
        raw_query="api-version=2024-02-01.19.0",
        headers=headers,
    )
    assert (
        sts == "GET" + "\n" * 12 + "/myaccount/jobs/job-1/tasks/task-1\napi-version:2024-02-01.19.0"
    )
    cred = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    auth = cred.sign(
        method="GET",
        path="/jobs/job-1/tasks/task-1",
        raw_query="api-version=2024-02-01.19.0",
        headers=headers,
    )
    assert auth == "SharedKey myaccount:Dqin+rXiAdPpTqgUdvJpBDNvldgaTaFCzvGSwPLL85s="


def test_empty_header_values_and_query_values_are_skipped() -> None:
    sts = string_to_sign(
        method="GET",
        account_name="a",
        path="/jobs",
        raw_query="api-version=1&empty=&timeout=5",
        headers=[("if-match", ""), ("ocp-date", "")],
    )
    assert sts == "GET" + "\n" * 12 + "/a/jobs\napi-version:1\ntimeout:5"


def test_format_ocp_date_is_rfc1123_gmt() -> None:
    from datetime import datetime, timedelta, timezone

    when = datetime(2024, 10, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_ocp_date(when) == VECTOR_DATE
    assert format_ocp_date(datetime(2024, 10, 1, 12, 0)) == VECTOR_DATE
    assert format_ocp_date().endswith(" GMT")


def test_bad_key_message_does_not_echo_key() -> None:
    import pytest

    with pytest.raises(ValueError, match="base64") as info:
        SharedKeyCredential("acct", "not-base64-at-all!")
    assert "not-base64" not in str(info.value)


# --- property: our signature == the official SDK's, for what we actually send ---------------

_id_chars = string.ascii_letters + string.digits + "-_"
_ids = st.text(_id_chars, min_size=1, max_size=12)
_odd_ids = st.text(min_size=1, max_size=8).filter(
    lambda s: "\x00" not in s and s not in (".", "..")
)
_filter_values = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=30)
_header_values = st.text(string.ascii_letters + string.digits + " ,;:=-/.'\"", max_size=20).map(
    str.strip
)


@st.composite
def _requests(draw: st.DrawFn) -> Request:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
    job = draw(st.one_of(_ids, _odd_ids))
    segments = [f"/jobs/{encode_segment(job)}"]
    if draw(st.booleans()):
        segments.append("/tasks")
        if draw(st.booleans()):
            segments.append("/" + encode_segment(draw(st.one_of(_ids, _odd_ids))))
            segments.append(
                draw(st.sampled_from(["", "/terminate", "/reactivate", "/subtasksinfo"]))
            )
    query: list[tuple[str, str]] = [("api-version", API_VERSION)]
    names = draw(
        st.lists(
            st.sampled_from(
                ["$filter", "$select", "$expand", "maxresults", "timeout", "$skiptoken"]
            ),
            unique=True,
            max_size=4,
        )
    )
    for name in names:
        query.append((name, draw(_filter_values)))
    # We always send a non-empty ocp-date (the SDK would otherwise insert the current time).
    ocp_date = draw(_header_values.filter(bool))
    headers: dict[str, str] = {"accept": "application/json", "ocp-date": ocp_date}
    for name in draw(
        st.lists(
            st.sampled_from(
                [
                    "if-match",
                    "if-none-match",
                    "if-modified-since",
                    "if-unmodified-since",
                    "client-request-id",
                    "return-client-request-id",
                    "content-language",
                    "ocp-custom",
                    "x-ms-other",
                    "range",
                ]
            ),
            unique=True,
            max_size=5,
        )
    ):
        headers[name] = draw(_header_values)
    body: bytes | None = None
    if method in ("POST", "PUT") and draw(st.booleans()):
        body = draw(st.text(max_size=40)).encode("utf-8")
        headers["content-type"] = JSON_CONTENT_TYPE
        headers["content-length"] = str(len(body))
    elif method != "GET":
        headers["content-length"] = "0"
    return Request(
        method=method,
        path="".join(segments),
        query=tuple(query),
        headers=headers,
        body=body,
        expected_status=200,
    )


def encode_segment(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=_requests())
def test_signature_equals_official_sdk(request: Request) -> None:
    cred = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    ours = cred.sign(
        method=request.method,
        path=request.path,
        raw_query=encode_query(request.query),
        headers=request.headers.items(),
    )
    url = request_url("https://myaccount.westus.batch.azure.com", request)
    theirs = official_authorization(request.method, url, request.headers, request.body)
    assert ours == theirs
