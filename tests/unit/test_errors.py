"""The response -> exception mapping, error text, Retry-After parsing, pickling."""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pydantic
import pytest

import batchtasks._private.errors as errors
from batchtasks._private.errors import (
    AddCollectionError,
    AlreadyExistsError,
    AuthenticationError,
    BadRequestError,
    BatchConnectionError,
    BatchServiceError,
    BatchTasksError,
    BatchTimeoutError,
    ConditionNotMetError,
    ConflictError,
    NotFoundError,
    RequestBodyTooLargeError,
    ServerError,
    TaskValidationError,
    ThrottledError,
    error_from_response,
    parse_retry_after,
)

REQUEST_ID = "5c8d8a54-0000-4c53-9d14-1e6c1c2d3e4f"


def batch_error_body(code: str, text: str = "Something happened.", values: object = None) -> bytes:
    data: dict[str, object] = {
        "odata.metadata": "https://a.b.batch.azure.com/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element",
        "code": code,
        "message": {
            "lang": "en-US",
            "value": f"{text}\nRequestId:{REQUEST_ID}\nTime:2024-10-01T12:00:00.0000000Z",
        },
    }
    if values is not None:
        data["values"] = values
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "InvalidPropertyValue", BadRequestError),
        (400, "MissingRequiredProperty", BadRequestError),
        (401, "AuthenticationFailed", AuthenticationError),
        (403, "AuthenticationFailed", AuthenticationError),
        (404, "JobNotFound", NotFoundError),
        (404, "TaskNotFound", NotFoundError),
        (409, "TaskExists", AlreadyExistsError),
        (409, "JobExists", AlreadyExistsError),
        (409, "TaskCompleted", ConflictError),
        (409, "JobBeingDeleted", ConflictError),
        (304, "ConditionNotMet", ConditionNotMetError),
        (412, "ConditionNotMet", ConditionNotMetError),
        (413, "RequestBodyTooLarge", RequestBodyTooLargeError),
        (429, "TooManyRequests", ThrottledError),
        (503, "ServerBusy", ThrottledError),
        (503, "ServiceUnavailable", ServerError),
        (500, "InternalError", ServerError),
        (500, "OperationTimedOut", ServerError),
        (502, "BadGateway", ServerError),
        (405, "UnsupportedHttpVerb", BatchServiceError),
    ],
)
def test_status_and_code_map_to_class(status: int, code: str, cls: type[BatchServiceError]) -> None:
    exc = error_from_response(status, {"request-id": REQUEST_ID}, batch_error_body(code))
    assert type(exc) is cls
    assert exc.status == status
    assert exc.code == code
    assert exc.message == "Something happened."
    assert exc.request_id == REQUEST_ID
    assert exc.error is not None
    assert exc.error.code == code
    text = str(exc)
    assert str(status) in text
    assert code in text
    assert REQUEST_ID in text
    assert "Something happened." in text


def test_conflict_is_not_already_exists() -> None:
    exc = error_from_response(409, {}, batch_error_body("TaskCompleted"))
    assert not isinstance(exc, AlreadyExistsError)
    assert isinstance(exc, ConflictError)


def test_values_and_retry_after_seconds() -> None:
    body = batch_error_body("RequestBodyTooLarge", values=[{"key": "MaxLimit", "value": "1048576"}])
    exc = error_from_response(413, {"Retry-After": "7"}, body)
    assert [(v.key, v.value) for v in exc.values] == [("MaxLimit", "1048576")]
    assert exc.retry_after == 7.0
    assert "MaxLimit=1048576" in str(exc)


def test_headers_are_matched_case_insensitively() -> None:
    exc = error_from_response(503, {"REQUEST-ID": "r1", "retry-after": "3"}, b"")
    assert exc.request_id == "r1"
    assert exc.retry_after == 3.0
    assert exc.headers["Request-Id"] == "r1"
    assert exc.headers["Retry-After"] == "3"


def test_retry_after_http_date() -> None:
    now = datetime(2024, 10, 1, 12, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=42), usegmt=True)
    assert parse_retry_after(later, now=now) == 42.0
    assert (
        parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now) == 0.0
    )


@pytest.mark.parametrize("value", [None, "", "soon", "NaN"])
def test_retry_after_unparsable(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_retry_after_negative_is_zero() -> None:
    assert parse_retry_after("-3") == 0.0


def test_html_502_from_a_proxy() -> None:
    body = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    exc = error_from_response(502, {"Content-Type": "text/html"}, body)
    assert type(exc) is ServerError
    assert exc.code is None
    assert exc.error is None
    assert "502" in str(exc)
    assert "Bad Gateway" in str(exc)


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'{"unrelated": true}', b"\xff\xfe"])
def test_odd_bodies_are_tolerated(body: bytes) -> None:
    exc = error_from_response(404, {}, body)
    assert type(exc) is NotFoundError
    assert exc.code is None


def test_long_non_json_body_is_truncated() -> None:
    exc = error_from_response(500, {}, b"x" * 5000)
    assert len(str(exc)) < 400


def test_unexpected_success_status_is_named() -> None:
    exc = error_from_response(200, {}, b"", expected_status=201)
    assert type(exc) is BatchServiceError
    assert "unexpected success status 200 (expected 201)" in str(exc)


def test_already_exists_after_unknown_outcome_text() -> None:
    exc = error_from_response(409, {}, batch_error_body("TaskExists"))
    assert isinstance(exc, AlreadyExistsError)
    assert exc.after_unknown_outcome is False
    exc.mark_after_unknown_outcome()
    assert exc.after_unknown_outcome is True
    assert "unknown outcome" in str(exc)


def test_service_errors_pickle_with_their_state() -> None:
    body = batch_error_body("TaskExists", values=[{"key": "k", "value": "v"}])
    exc = error_from_response(409, {"request-id": REQUEST_ID, "Retry-After": "2"}, body)
    assert isinstance(exc, AlreadyExistsError)
    exc.mark_after_unknown_outcome()
    clone = pickle.loads(pickle.dumps(exc))
    assert type(clone) is AlreadyExistsError
    assert (clone.status, clone.code, clone.request_id, clone.retry_after) == (
        409,
        "TaskExists",
        REQUEST_ID,
        2.0,
    )
    assert clone.after_unknown_outcome is True
    assert str(clone) == str(exc)


def test_hierarchy() -> None:
    assert issubclass(BatchTimeoutError, BatchConnectionError)
    assert issubclass(AlreadyExistsError, ConflictError)
    assert issubclass(TaskValidationError, ValueError)
    for cls in (BatchConnectionError, BatchServiceError, TaskValidationError, AddCollectionError):
        assert issubclass(cls, BatchTasksError)
    assert set(errors.__all__) >= {
        "BatchTasksError",
        "BatchConnectionError",
        "BatchTimeoutError",
        "BatchServiceError",
        "BadRequestError",
        "AuthenticationError",
        "NotFoundError",
        "ConflictError",
        "AlreadyExistsError",
        "ConditionNotMetError",
        "RequestBodyTooLargeError",
        "ThrottledError",
        "ServerError",
        "TaskValidationError",
        "AddCollectionError",
    }


def test_task_validation_error_wraps_pydantic_and_names_the_task() -> None:
    from batchtasks.models import TaskAddParameter

    with pytest.raises(pydantic.ValidationError) as info:
        TaskAddParameter.model_validate({"id": "t-1"})
    exc = TaskValidationError.from_validation_error(info.value, task_id="t-1", index=3)
    assert isinstance(exc, ValueError)
    assert exc.task_id == "t-1"
    assert exc.index == 3
    assert "'t-1'" in str(exc)
    assert "index 3" in str(exc)
    assert "commandLine" in str(exc).replace("command_line", "commandLine")
    assert exc.__cause__ is info.value


def test_add_collection_error_keeps_lists_and_pickles() -> None:
    exc = AddCollectionError("bulk add: 2 of 3 added", succeeded=[1, 2], failed=[3], result="r")
    assert str(exc) == "bulk add: 2 of 3 added"
    clone = pickle.loads(pickle.dumps(exc))
    assert (clone.succeeded, clone.failed, clone.not_attempted) == ([1, 2], [3], [])
    assert clone.result == "r"
    assert str(clone) == str(exc)


def test_huge_service_message_is_clipped_in_str_but_kept_whole() -> None:
    body = json.dumps(
        {"code": "InternalError", "message": {"lang": "en-US", "value": "x" * 2_000_000}}
    ).encode()
    exc = error_from_response(500, {"request-id": "r1"}, body)
    assert len(str(exc)) < 1_200
    assert "more characters" in str(exc)
    assert "[request-id: r1]" in str(exc)
    assert len(exc.message) == 2_000_000
