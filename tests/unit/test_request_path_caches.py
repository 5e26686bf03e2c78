"""The per-request caches of the send path give exactly what the uncached computations give.

Covers the canonical-query cache and one-shot HMAC of signing (the §9.3 vectors signed twice and
with a cold cache), the once-per-second `ocp-date` (across a second boundary), the encoded query
per request, and the transport's shared `yarl.URL` / `ClientTimeout` objects.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

import aiohttp
import yarl
from hypothesis import given, settings
from hypothesis import strategies as st

from batchtasks._private import signing, transport, wire
from batchtasks._private.credentials import SharedKeyCredential
from batchtasks._private.protocol import Request, encode_query, request_query, request_url
from batchtasks._private.signing import (
    OcpDateClock,
    canonical_query_from_url_query,
    format_ocp_date,
)
from batchtasks._private.transport import HttpTransport, Timeout
from tests.unit.conftest import VECTOR_ACCOUNT, VECTOR_DATE, VECTOR_KEY

VECTORS = [
    # (method, path, raw query, headers, expected Authorization) from fact sheet §9.3.
    (
        "POST",
        "/jobs/job-1/tasks",
        "api-version=2024-02-01.19.0&timeout=30",
        [
            ("Content-Type", "application/json; odata=minimalmetadata; charset=utf-8"),
            ("client-request-id", "00000000-0000-0000-0000-000000000001"),
            ("ocp-date", VECTOR_DATE),
            ("Content-Length", "55"),
        ],
        "SharedKey myaccount:5MqAbSZCYn3mfdI7HLcQcq7vXfRybkKTrT3x1iUT0fU=",
    ),
    (
        "GET",
        "/jobs/job-1/tasks",
        "api-version=2024-02-01.19.0&%24filter=state%20eq%20%27active%27&maxresults=100",
        [("Accept", "application/json"), ("ocp-date", VECTOR_DATE)],
        "SharedKey myaccount:G7CWXBLHdzCT5G5CjDMDu26qKZZVRpNu2nf4BtDk7OQ=",
    ),
]


def _reference_canonical(raw_query: str) -> list[tuple[str, str]]:
    parsed = parse_qs(raw_query)
    return [(name, parsed[name][0]) for name in sorted(parsed) if parsed[name][0]]


def test_vectors_signed_with_warm_and_cold_query_cache() -> None:
    cred = SharedKeyCredential(VECTOR_ACCOUNT, VECTOR_KEY)
    for method, path, raw_query, headers, expected in VECTORS:
        signing._QUERY_CACHE.clear()
        cold = cred.sign(method=method, path=path, raw_query=raw_query, headers=headers)
        warm = cred.sign(method=method, path=path, raw_query=raw_query, headers=headers)
        assert raw_query in signing._QUERY_CACHE
        assert cold == warm == expected


queries = st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=8)), max_size=4).map(
    encode_query
)


@settings(max_examples=200, deadline=None)
@given(queries)
def test_canonical_query_cached_equals_parse_qs(raw_query: str) -> None:
    expected = _reference_canonical(raw_query)
    assert canonical_query_from_url_query(raw_query) == expected
    assert canonical_query_from_url_query(raw_query) == expected  # from the cache


def test_query_cache_stays_bounded_and_correct() -> None:
    raws = [f"api-version=1&timeout={n}" for n in range(3 * signing._QUERY_CACHE_SIZE)]
    for raw in raws:
        assert canonical_query_from_url_query(raw) == _reference_canonical(raw)
        assert len(signing._QUERY_CACHE) <= signing._QUERY_CACHE_SIZE
    for raw in raws[:5]:
        assert canonical_query_from_url_query(raw) == _reference_canonical(raw)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=80), st.text(st.characters(exclude_categories=("Cs",))))
def test_one_shot_hmac_equals_hmac_new(key: bytes, text: str) -> None:
    digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()
    assert signing.sign_string(key, text) == base64.b64encode(digest).decode("ascii")


class _FakeClock:
    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns


def _uncached(now_ns: int) -> str:
    # What format_ocp_date(datetime.now(timezone.utc)) gives at that instant (now() floors).
    return format_ocp_date(
        datetime.fromtimestamp(now_ns // 10**9, timezone.utc)
        + timedelta(microseconds=now_ns % 10**9 // 1000)
    )


def test_ocp_date_clock_across_a_second_boundary() -> None:
    vector = int(datetime(2024, 10, 1, 12, 0, tzinfo=timezone.utc).timestamp()) * 10**9
    clock = _FakeClock(vector)
    ocp_date = OcpDateClock(clock)
    assert ocp_date() == VECTOR_DATE
    for offset in (1, 500_000_000, 999_999_999, 10**9, 10**9 + 1, 61 * 10**9):
        clock.now_ns = vector + offset
        assert ocp_date() == _uncached(vector + offset)
    assert ocp_date() == "Tue, 01 Oct 2024 12:01:01 GMT"
    clock.now_ns = vector + 999_999_999  # a clock stepped back is followed too
    assert ocp_date() == VECTOR_DATE


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=4_000_000_000 * 10**9))
def test_ocp_date_clock_equals_format_ocp_date(now_ns: int) -> None:
    ocp_date = OcpDateClock(_FakeClock(now_ns))
    assert ocp_date() == _uncached(now_ns) == ocp_date()


def test_format_ocp_date_now_equals_uncached_now() -> None:
    for _ in range(5):  # retried in case a second boundary falls between the reads
        before = format_ocp_date(datetime.now(timezone.utc))
        value = format_ocp_date()
        after = format_ocp_date(datetime.now(timezone.utc))
        if before == after:
            break
    assert value == before == after
    assert OcpDateClock()() in (format_ocp_date(), format_ocp_date(datetime.now(timezone.utc)))


def _request(query: tuple[tuple[str, str], ...], path: str = "/jobs/j%20x/tasks") -> Request:
    return Request(method="GET", path=path, query=query, headers={}, body=None, expected_status=200)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), max_size=3))
def test_request_query_and_url_equal_uncached(pairs: list[tuple[str, str]]) -> None:
    request = _request(tuple(pairs))
    for _ in range(2):
        assert request_query(request) == encode_query(pairs)
        expected = "http://h:1/jobs/j%20x/tasks" + ("?" + encode_query(pairs) if pairs else "")
        assert request_url("http://h:1", request) == expected
    assert len(wire._ENCODED_QUERIES) <= wire._ENCODED_QUERIES_SIZE


def test_transport_url_and_timeout_objects_equal_uncached() -> None:
    http = HttpTransport("http://127.0.0.1:9", user_agent="ua", logger=None)
    for n in range(300):  # more than the URL cache holds
        request = _request((("api-version", "1"), ("n", str(n % 7))), path=f"/jobs/j{n % 5}")
        url = http._url(request)
        assert url == yarl.URL(request_url("http://127.0.0.1:9", request), encoded=True)
        assert str(url) == request_url("http://127.0.0.1:9", request)
    for n in range(200):
        timeout = Timeout(connect=1.0, read=2.0, total=float(n % 80 + 1))
        converted = transport._client_timeout(timeout)
        assert converted == aiohttp.ClientTimeout(
            total=timeout.total, sock_connect=1.0, sock_read=2.0
        )
    assert transport._client_timeout(Timeout(None, None, None)) == aiohttp.ClientTimeout(
        total=None, sock_connect=None, sock_read=None
    )
