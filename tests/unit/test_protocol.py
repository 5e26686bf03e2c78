"""The sans-I/O protocol layer on plain values: requests per operation, encoding, decoding."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from batchtasks._private import protocol
from batchtasks._private.constants import API_VERSION
from batchtasks._private.errors import BatchServiceError, NotFoundError
from batchtasks._private.options import ListOptions
from batchtasks._private.protocol import Request, RequestOptions, Response

OPTS = RequestOptions()


@pytest.mark.parametrize(
    ("request_", "method", "path", "expected"),
    [
        (protocol.task_add("j", b"{}", OPTS), "POST", "/jobs/j/tasks", 201),
        (protocol.task_add_collection("j", b"{}", OPTS), "POST", "/jobs/j/addtaskcollection", 200),
        (protocol.task_list("j", OPTS), "GET", "/jobs/j/tasks", 200),
        (protocol.task_get("j", "t", OPTS), "GET", "/jobs/j/tasks/t", 200),
        (protocol.task_update("j", "t", b"{}", OPTS), "PUT", "/jobs/j/tasks/t", 200),
        (protocol.task_delete("j", "t", OPTS), "DELETE", "/jobs/j/tasks/t", 200),
        (protocol.task_list_subtasks("j", "t", OPTS), "GET", "/jobs/j/tasks/t/subtasksinfo", 200),
        (protocol.task_terminate("j", "t", OPTS), "POST", "/jobs/j/tasks/t/terminate", 204),
        (protocol.task_reactivate("j", "t", OPTS), "POST", "/jobs/j/tasks/t/reactivate", 204),
        (protocol.job_add(b"{}", OPTS), "POST", "/jobs", 201),
        (protocol.job_get("j", OPTS), "GET", "/jobs/j", 200),
        (protocol.job_delete("j", OPTS), "DELETE", "/jobs/j", 202),
        (protocol.job_list(OPTS), "GET", "/jobs", 200),
    ],
)
def test_operation_table(request_: Request, method: str, path: str, expected: int) -> None:
    assert (request_.method, request_.path, request_.expected_status) == (method, path, expected)
    assert request_.query[0] == ("api-version", API_VERSION)
    assert request_.idempotent is not (method == "POST" and expected != 204)
    assert all(name == name.lower() for name in request_.headers)


def test_query_encoding_round_trips_and_keeps_dollar() -> None:
    pairs = [("api-version", API_VERSION), ("$filter", "a eq 'b c'&d=+%ü"), ("maxresults", "5")]
    encoded = protocol.encode_query(pairs)
    assert encoded.startswith(
        "api-version=2024-02-01.19.0&$filter=a%20eq%20%27b%20c%27%26d%3D%2B%25"
    )
    assert parse_qsl(encoded) == pairs


def test_request_url() -> None:
    request = protocol.task_list("job 1", ListOptions(max_results=3))
    url = protocol.request_url("https://a.b.batch.azure.com/", request)
    assert (
        url
        == f"https://a.b.batch.azure.com/jobs/job%201/tasks?api-version={API_VERSION}&maxresults=3"
    )


def test_conditions_rejected_where_the_service_does_not_accept_them() -> None:
    with pytest.raises(ValueError, match="conditional"):
        protocol.task_add("j", b"{}", RequestOptions(if_match="x"))
    with pytest.raises(ValueError, match="conditional"):
        protocol.task_list("j", RequestOptions(if_none_match="x"))


def test_next_link_request_uses_only_path_and_query() -> None:
    first = protocol.task_list("j", ListOptions(client_request_id="c", max_results=2))
    nxt = protocol.request_for_next_link(
        first, "https://elsewhere.example/jobs/j/tasks?api-version=x&$skiptoken=a%2Bb&empty="
    )
    assert nxt.path == "/jobs/j/tasks"
    assert nxt.query == (("api-version", "x"), ("$skiptoken", "a+b"), ("empty", ""))
    assert nxt.headers["client-request-id"] == "c"
    with pytest.raises(ValueError, match="continuation token"):
        protocol.request_for_next_link(first, "not a link")


def test_check_status_and_decoding() -> None:
    request = protocol.task_get("j", "t", OPTS)
    protocol.check_status(request, Response(200, {}, b"{}"))
    with pytest.raises(NotFoundError):
        protocol.check_status(request, Response(404, {}, b'{"code":"TaskNotFound"}'))
    with pytest.raises(BatchServiceError, match="not a JSON object"):
        protocol.decode_json(Response(200, {}, b"[]"))
    with pytest.raises(BatchServiceError, match="value"):
        protocol.decode_value_list(Response(200, {}, b'{"value": 3}'))
    values, data = protocol.decode_value_list(
        Response(200, {}, b'{"value":[{"a":1}],"odata.nextLink":"L"}')
    )
    assert values == [{"a": 1}]
    assert protocol.next_link_of(data) == "L"
    assert protocol.next_link_of({"odata.nextLink": ""}) is None


def test_lone_surrogate_in_a_query_value_is_a_clear_value_error() -> None:
    from batchtasks._private.protocol import encode_query

    with pytest.raises(ValueError, match="query parameter '\\$filter' is not valid Unicode"):
        encode_query([("api-version", "2024-02-01.19.0"), ("$filter", "id eq '\ud800'")])
