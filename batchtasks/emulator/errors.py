# ruff: noqa: E501
"""Batch error codes declared as data, and the one exception type routes raise to answer with one.

Each code has its HTTP status and default English message (moto-style: errors are a table, not
code). `ApiError` carries a code plus optional `values` details; `error_body` renders the service's
`BatchError` JSON. Must not format responses itself (that is `app.py`'s job) and must not contain
secrets in any message.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One Batch error code: its HTTP status and default message."""

    status: int
    message: str


ERRORS: dict[str, ErrorSpec] = {
    "ConditionNotMet": ErrorSpec(
        412, "The condition specified using HTTP conditional header(s) is not met."
    ),
    "MissingRequiredHeader": ErrorSpec(400, "A required HTTP header was not specified."),
    "MissingRequiredProperty": ErrorSpec(
        400, "A required property was not specified in the request body."
    ),
    "UnsupportedHeader": ErrorSpec(
        400, "One of the HTTP headers specified in the request is not supported."
    ),
    "UnsupportedProperty": ErrorSpec(
        400, "One of the properties specified in the request body is not supported."
    ),
    "InvalidHeaderValue": ErrorSpec(
        400, "The value for one of the HTTP headers is not in the correct format."
    ),
    "InvalidPropertyValue": ErrorSpec(
        400, "The value provided for one of the properties in the request body is invalid."
    ),
    "MissingRequiredQueryParameter": ErrorSpec(
        400, "A query parameter that's mandatory for this request is not specified."
    ),
    "UnsupportedQueryParameter": ErrorSpec(
        400, "One of the query parameters specified in the request URI is not supported."
    ),
    "InvalidQueryParameterValue": ErrorSpec(
        400, "Value for one of the query parameters specified in the request URI is invalid."
    ),
    "OutOfRangeQueryParameterValue": ErrorSpec(
        400,
        "One of the query parameters specified in the request URI is outside the permissible range.",
    ),
    "InvalidUri": ErrorSpec(
        400, "The requested URI does not represent any resource on the server."
    ),
    "InvalidRequestBody": ErrorSpec(400, "The specified request body is invalid."),
    "InvalidAuthenticationInfo": ErrorSpec(
        400,
        "The authentication information was not provided in the correct format. Verify the value of Authorization header.",
    ),
    "MultipleConditionHeadersNotSupported": ErrorSpec(
        400, "Multiple condition headers are not supported."
    ),
    "UnsupportedRequestVersion": ErrorSpec(400, "The specified API version is not supported."),
    "TaskDependenciesNotSpecifiedOnJob": ErrorSpec(
        400, "The task has dependencies, but the job does not allow task dependencies."
    ),
    "TaskDependencyListTooLong": ErrorSpec(400, "The task dependency list is too long."),
    "TaskDependencyRangesTooLong": ErrorSpec(400, "The task dependency ranges are too long."),
    "AuthenticationFailed": ErrorSpec(
        403,
        "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
    ),
    "ResourceNotFound": ErrorSpec(404, "The specified resource does not exist."),
    "JobNotFound": ErrorSpec(404, "The specified job does not exist."),
    "TaskNotFound": ErrorSpec(404, "The specified task does not exist."),
    # Task files ("Batch Status and Error Codes" table of the REST reference).
    "FileNotFound": ErrorSpec(404, "The specified file does not exist."),
    "OperationInvalidForCurrentState": ErrorSpec(
        409, "The specified operation is not valid for the current state of the resource."
    ),
    "TaskFilesUnavailable": ErrorSpec(409, "The files of the specified task are unavailable."),
    "InvalidRange": ErrorSpec(
        416, "The range specified is invalid for the current size of the resource."
    ),
    "UnsupportedHttpVerb": ErrorSpec(405, "The resource doesn't support the specified HTTP verb."),
    "JobExists": ErrorSpec(409, "The specified job already exists."),
    "JobBeingDeleted": ErrorSpec(
        409, "The specified job has been marked for deletion and is being garbage collected."
    ),
    "JobBeingTerminated": ErrorSpec(409, "The specified job is being terminated."),
    "JobCompleted": ErrorSpec(409, "The specified job is already in a completed state."),
    "TaskExists": ErrorSpec(409, "The specified task already exists."),
    "TaskCompleted": ErrorSpec(409, "The specified task is already in a completed state."),
    "TaskNotCompleted": ErrorSpec(409, "The specified task is not in a completed state."),
    "TaskSucceeded": ErrorSpec(
        409, "The specified task completed successfully and cannot be reactivated."
    ),
    "RequestBodyTooLarge": ErrorSpec(
        413, "The request body is too large and exceeds the maximum permissible limit."
    ),
    "TooManyRequests": ErrorSpec(
        429, "The server is throttling requests. Retry after the indicated time."
    ),
    "InternalError": ErrorSpec(
        500, "The server encountered an internal error. Please retry the request."
    ),
    "OperationTimedOut": ErrorSpec(
        500, "The operation could not be completed within the permitted time."
    ),
    "ServerBusy": ErrorSpec(
        503, "The server is currently unable to receive requests. Please retry your request."
    ),
    # Answers to request heads the HTTP layer refuses. The real front end answers these itself
    # (not with a Batch body); the emulator keeps the Batch shape so clients parse one format.
    "RequestUrlTooLong": ErrorSpec(414, "The request URL is too long."),
    "RequestHeaderFieldsTooLarge": ErrorSpec(431, "The request headers are too large."),
    "InvalidHttpRequest": ErrorSpec(400, "The request is not a valid HTTP request."),
}


class ApiError(Exception):
    """Raised by handlers to answer with a Batch error.

    Args:
        code: a key of `ERRORS`.
        values: extra ``(key, value)`` details (the body's ``values`` list).
        status: override the table's HTTP status (e.g. 304 for ConditionNotMet on reads,
            401 for a missing Authorization header).
        message: override the table's message.
        headers: extra response headers (e.g. ``Retry-After``).
    """

    def __init__(
        self,
        code: str,
        values: list[tuple[str, str]] | None = None,
        *,
        status: int | None = None,
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        spec = ERRORS[code]
        self.code = code
        self.status = spec.status if status is None else status
        self.message = spec.message if message is None else message
        self.values = list(values or [])
        self.headers = dict(headers or {})
        super().__init__(f"{self.status} {code}")


def error_body(
    code: str,
    message: str,
    values: list[tuple[str, str]],
    *,
    request_id: str,
    time_text: str,
    metadata_base: str,
) -> dict[str, object]:
    """Build the service's `BatchError` JSON for one error.

    Args:
        code: Batch error code.
        message: English message text (without the RequestId/Time trailer).
        values: ``(key, value)`` details.
        request_id: the response's request-id, embedded in the message as the service does.
        time_text: the body-format time of the error.
        metadata_base: ``scheme://host`` used for the ``odata.metadata`` link.

    Returns:
        A JSON-ready dict.
    """
    body: dict[str, object] = {
        "odata.metadata": f"{metadata_base}/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element",
        "code": code,
        "message": {
            "lang": "en-US",
            "value": f"{message}\nRequestId:{request_id}\nTime:{time_text}",
        },
    }
    if values:
        body["values"] = [{"key": k, "value": v} for k, v in values]
    return body
