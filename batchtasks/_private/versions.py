"""The api-versions a `BatchClient` can speak, and the request properties each one lacks.

The client's own copy of the facts (the emulator keeps its own in ``emulator/versions.py``, so
a mistake cannot hide on both sides). Source: the Batch REST specification,
``Azure/azure-rest-api-specs`` ``specification/batch/data-plane/Microsoft.Batch/stable/<version>/``
and ``.../Batch/stable/2025-06-01/`` (see docs/api-versions.md for the full diff):

* ``containerSettings.containerHostBatchBindMounts`` (tasks, job manager/preparation/release
  tasks), job ``networkConfiguration.skipWithdrawFromVNet`` and a job patch's
  ``networkConfiguration``: from 2024-07-01.20.0;
* ``authenticationTokenSettings`` (tasks, job manager tasks): until 2024-07-01.20.0 (gone in
  2025-06-01).

Everything else the client sends is the same in every version listed. Must not do I/O.
"""

from __future__ import annotations

import json
from typing import Any, Final

from batchtasks._private.constants import API_VERSION

#: Every api-version the client accepts, oldest first.
SUPPORTED_API_VERSIONS: Final = (
    "2022-10-01.16.0",
    "2023-05-01.17.0",
    "2023-11-01.18.0",
    "2024-02-01.19.0",
    "2024-07-01.20.0",
    "2025-06-01",
)
_INDEX: Final = {v: i for i, v in enumerate(SUPPORTED_API_VERSIONS)}
_FROM_20: Final = ("2024-07-01.20.0", None)
_UNTIL_2025: Final = (SUPPORTED_API_VERSIONS[0], "2025-06-01")

#: kind -> request property path -> (first version with it, first version without it again).
_PROPERTIES: Final[dict[str, dict[tuple[str, ...], tuple[str, str | None]]]] = {
    "task": {
        ("containerSettings", "containerHostBatchBindMounts"): _FROM_20,
        ("authenticationTokenSettings",): _UNTIL_2025,
    },
    "job": {
        ("jobManagerTask", "containerSettings", "containerHostBatchBindMounts"): _FROM_20,
        ("jobPreparationTask", "containerSettings", "containerHostBatchBindMounts"): _FROM_20,
        ("jobReleaseTask", "containerSettings", "containerHostBatchBindMounts"): _FROM_20,
        ("jobManagerTask", "authenticationTokenSettings"): _UNTIL_2025,
        ("networkConfiguration", "skipWithdrawFromVNet"): _FROM_20,
    },
}


def check_api_version(version: object) -> str:
    """`version` if the client can speak it.

    Raises:
        ValueError: not one of `SUPPORTED_API_VERSIONS`.
    """
    if not isinstance(version, str) or version not in _INDEX:
        raise ValueError(
            f"api_version {version!r} is not supported; use one of "
            f"{', '.join(SUPPORTED_API_VERSIONS)} (default {API_VERSION})"
        )
    return version


def _span_text(span: tuple[str, str | None]) -> str:
    first, gone = span
    if gone is None:
        return f"from {first} on"
    return f"before {gone}"


def _missing(kind: str, version: str) -> list[tuple[tuple[str, ...], tuple[str, str | None]]]:
    index = _INDEX[version]
    return [
        (path, span)
        for path, span in _PROPERTIES[kind].items()
        if not (_INDEX[span[0]] <= index and (span[1] is None or index < _INDEX[span[1]]))
    ]


#: version -> kind -> the paths that version lacks, with their spans (read per request).
_UNDEFINED: Final = {
    version: {kind: _missing(kind, version) for kind in _PROPERTIES}
    for version in SUPPORTED_API_VERSIONS
}


def undefined_property(kind: str, body: bytes, version: str) -> str | None:
    """Why `body` (a ``task`` or ``job`` JSON body) cannot be sent in `version`, or None.

    Only bodies that mention a property's name are decoded, so the common case costs a few
    substring searches.
    """
    rows = _UNDEFINED[version][kind]
    if not rows or not any(path[-1].encode() in body for path, _ in rows):
        return None
    data: Any = json.loads(body)
    for path, span in rows:
        node = data
        for key in path:
            if not isinstance(node, dict) or node.get(key) is None:
                break
            node = node[key]
        else:
            name = ".".join(path)
            return (
                f"{name} is not defined in api-version {version} (it exists "
                f"{_span_text(span)}); choose another api_version or leave it out"
            )
    return None
