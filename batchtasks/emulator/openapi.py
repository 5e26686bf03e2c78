"""A small OpenAPI 3 description of the emulated operations (served at /_emulator/openapi.json).

Documentation for tools (e.g. fuzzers); the emulator does not validate against it.
"""

from __future__ import annotations

from typing import Any

from .constants import API_VERSION
from .versions import SUPPORTED

_JOB = {"name": "jobId", "in": "path", "required": True, "schema": {"type": "string"}}
_TASK = {"name": "taskId", "in": "path", "required": True, "schema": {"type": "string"}}
_FILE = {"name": "filePath", "in": "path", "required": True, "schema": {"type": "string"}}
_RECURSIVE = {"name": "recursive", "in": "query", "schema": {"type": "boolean"}}
_API = {
    "name": "api-version",
    "in": "query",
    "required": True,
    "schema": {"type": "string", "enum": list(SUPPORTED), "default": API_VERSION},
}
_TIMEOUT = {"name": "timeout", "in": "query", "schema": {"type": "integer"}}
_LIST = [
    {"name": "$filter", "in": "query", "schema": {"type": "string"}},
    {"name": "$select", "in": "query", "schema": {"type": "string"}},
    {"name": "$expand", "in": "query", "schema": {"type": "string", "enum": ["stats"]}},
    {
        "name": "maxresults",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
    },
]
_BODY = {"content": {"application/json": {"schema": {"type": "object"}}}, "required": True}


def _op(
    op_id: str, status: str, params: list[dict[str, Any]], body: bool = False
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "parameters": [_API, _TIMEOUT, *params],
        "responses": {status: {"description": "success"}, "default": {"description": "BatchError"}},
        "security": [{"sharedKey": []}],
    }
    if body:
        op["requestBody"] = _BODY
    return op


def openapi_document(server: str) -> dict[str, Any]:
    """The OpenAPI document, with `server` as the only server URL."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "batchtasks emulator (Azure Batch Task API subset)",
            "version": API_VERSION,
        },
        "servers": [{"url": server}],
        "components": {
            "securitySchemes": {
                "sharedKey": {"type": "apiKey", "in": "header", "name": "Authorization"}
            }
        },
        "paths": {
            "/jobs": {
                "post": _op("Job_Add", "201", [], body=True),
                "get": _op("Job_List", "200", _LIST[:2] + _LIST[3:]),
            },
            "/jobs/{jobId}": {
                "get": _op("Job_Get", "200", [_JOB, *_LIST[1:3]]),
                "put": _op("Job_Update", "200", [_JOB], body=True),
                "patch": _op("Job_Patch", "200", [_JOB], body=True),
                "delete": _op("Job_Delete", "202", [_JOB]),
            },
            "/jobs/{jobId}/taskcounts": {"get": _op("Job_GetTaskCounts", "200", [_JOB])},
            "/jobs/{jobId}/tasks": {
                "post": _op("Task_Add", "201", [_JOB], body=True),
                "get": _op("Task_List", "200", [_JOB, *_LIST]),
            },
            "/jobs/{jobId}/addtaskcollection": {
                "post": _op("Task_AddCollection", "200", [_JOB], body=True),
            },
            "/jobs/{jobId}/tasks/{taskId}": {
                "get": _op("Task_Get", "200", [_JOB, _TASK, *_LIST[1:3]]),
                "put": _op("Task_Update", "200", [_JOB, _TASK], body=True),
                "delete": _op("Task_Delete", "200", [_JOB, _TASK]),
            },
            "/jobs/{jobId}/tasks/{taskId}/subtasksinfo": {
                "get": _op("Task_ListSubtasks", "200", [_JOB, _TASK, _LIST[1]]),
            },
            "/jobs/{jobId}/tasks/{taskId}/terminate": {
                "post": _op("Task_Terminate", "204", [_JOB, _TASK]),
            },
            "/jobs/{jobId}/tasks/{taskId}/reactivate": {
                "post": _op("Task_Reactivate", "204", [_JOB, _TASK]),
            },
            "/jobs/{jobId}/tasks/{taskId}/files": {
                "get": _op(
                    "File_ListFromTask", "200", [_JOB, _TASK, _RECURSIVE, _LIST[0], _LIST[3]]
                ),
            },
            "/jobs/{jobId}/tasks/{taskId}/files/{filePath}": {
                "get": _op("File_GetFromTask", "200", [_JOB, _TASK, _FILE]),
                "head": _op("File_GetPropertiesFromTask", "200", [_JOB, _TASK, _FILE]),
                "delete": _op("File_DeleteFromTask", "200", [_JOB, _TASK, _FILE, _RECURSIVE]),
            },
        },
    }
