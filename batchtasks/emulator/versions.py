"""The api-versions the emulator serves and what differs between them, as data (one table).

Source of every row: the Batch REST specification, ``Azure/azure-rest-api-specs``
``specification/batch/data-plane/Microsoft.Batch/stable/<version>/BatchService.json`` up to
2024-07-01.20.0 and ``specification/batch/data-plane/Batch/stable/2025-06-01/BatchService.json``
(generated from the TypeSpec in ``specification/batch/Azure.Batch/``), cross-checked against the
models generated from them: azure-batch 13.0.0 / 14.0.0 / 14.1.0 / 14.2.0 (one per version
2022-10-01.16.0 … 2024-02-01.19.0, identical Task, Job, task-count and file definitions), the
15.0.0b2 changelog (2024-07-01.20.0) and azure-batch 15.1.0 (2025-06-01). The full diff and
how each row is handled is in ``batchtasks/emulator/README.md``.

A row names a property by its path in the request/response JSON of one kind of body and the
versions that define it. A request carrying a property its version does not define gets 400
``UnsupportedProperty`` (as for any property the service does not know); a response leaves it
out. Values only, plus the small functions that apply them; no HTTP, no store.
"""

from __future__ import annotations

import re
from typing import Any, Final

#: Every api-version served, oldest first (what the official clients send: @azure/batch 10.x
#: 2022-10-01.16.0, azure-batch 14.2.0 2024-02-01.19.0, azure-batch 15.1.0 2025-06-01).
SUPPORTED: Final = (
    "2022-10-01.16.0",
    "2023-05-01.17.0",
    "2023-11-01.18.0",
    "2024-02-01.19.0",
    "2024-07-01.20.0",
    "2025-06-01",
)
_INDEX: Final = {version: index for index, version in enumerate(SUPPORTED)}

#: ``YYYY-MM-DD`` with an optional ``.major.minor`` suffix (dropped from 2025-06-01 on).
_WELL_FORMED: Final = re.compile(r"^\d{4}-\d{2}-\d{2}(?:\.\d+\.\d+)?$")

_BIND_MOUNTS: Final = ("2024-07-01.20.0", None)
_AUTH_TOKEN: Final = (SUPPORTED[0], "2025-06-01")

#: kind -> property path -> (first version defining it, first version no longer defining it).
#: Kinds: ``task`` (TaskAddParameter / CloudTask), ``job`` (JobAddParameter / CloudJob /
#: JobUpdateParameter), ``jobPatch`` (JobPatchParameter).
PROPERTIES: Final[dict[str, dict[tuple[str, ...], tuple[str, str | None]]]] = {
    "task": {
        ("containerSettings", "containerHostBatchBindMounts"): _BIND_MOUNTS,
        ("authenticationTokenSettings",): _AUTH_TOKEN,
    },
    "job": {
        ("jobManagerTask", "containerSettings", "containerHostBatchBindMounts"): _BIND_MOUNTS,
        ("jobPreparationTask", "containerSettings", "containerHostBatchBindMounts"): _BIND_MOUNTS,
        ("jobReleaseTask", "containerSettings", "containerHostBatchBindMounts"): _BIND_MOUNTS,
        ("jobManagerTask", "authenticationTokenSettings"): _AUTH_TOKEN,
        ("networkConfiguration", "skipWithdrawFromVNet"): ("2024-07-01.20.0", None),
    },
    "jobPatch": {
        ("networkConfiguration",): ("2024-07-01.20.0", None),
    },
}


def _defined(span: tuple[str, str | None], version: str) -> bool:
    first, gone = span
    index = _INDEX[version]
    return _INDEX[first] <= index and (gone is None or index < _INDEX[gone])


#: version -> kind -> the paths that version does not define (precomputed: read per request).
UNDEFINED: Final[dict[str, dict[str, tuple[tuple[str, ...], ...]]]] = {
    version: {
        kind: tuple(path for path, span in rows.items() if not _defined(span, version))
        for kind, rows in PROPERTIES.items()
    }
    for version in SUPPORTED
}


def classify(version: str | None) -> str:
    """``missing``, ``malformed``, ``unsupported`` or ``ok`` for an ``api-version`` value."""
    if not version:
        return "missing"
    if version in _INDEX:
        return "ok"
    return "unsupported" if _WELL_FORMED.match(version) else "malformed"


def undefined_top_level(kind: str, version: str) -> frozenset[str]:
    """Top-level property names of `kind` that `version` does not define (for ``$select``)."""
    return frozenset(path[0] for path in UNDEFINED[version][kind] if len(path) == 1)


def unsupported_property(kind: str, body: object, version: str) -> str | None:
    """The dotted path of the first property in `body` that `version` does not define, or None."""
    for path in UNDEFINED[version][kind]:
        node = body
        for key in path:
            if not isinstance(node, dict) or node.get(key) is None:
                break
            node = node[key]
        else:
            return ".".join(path)
    return None


def prune(kind: str, body: dict[str, Any], version: str) -> dict[str, Any]:
    """`body` without the properties `version` does not define (copies only what it changes)."""
    paths = UNDEFINED[version][kind]
    if not paths:
        return body
    for path in paths:
        body = _without(body, path)
    return body


def _without(node: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    head = path[0]
    if head not in node:
        return node
    if len(path) == 1:
        return {k: v for k, v in node.items() if k != head}
    child = node[head]
    if not isinstance(child, dict):
        return node
    new_child = _without(child, path[1:])
    if new_child is child:
        return node
    return {**node, head: new_child}
