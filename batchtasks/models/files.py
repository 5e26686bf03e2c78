"""Task-file models: `NodeFile` (an entry of a file list) and `FileProperties`.

Names and fields are the official SDK 14.x's (``azure.batch.models.NodeFile`` /
``FileProperties``). `FileProperties` is also what ``get_properties_from_task`` returns, built
from the response headers by :meth:`FileProperties.from_headers`; there it carries the two values
the service sends only as headers (``is_directory``, ``url``), which a list entry keeps on the
`NodeFile` instead. No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

from batchtasks.models._base import BatchModel, UtcDateTime

__all__ = ["FileProperties", "NodeFile"]


def _header_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


class FileProperties(BatchModel):
    """Properties of a file or directory on a compute node.

    Attributes:
        creation_time: when it was created.
        last_modified: when it was last modified.
        content_length: size in bytes (0 for a directory).
        content_type: the content type (``application/octet-stream``).
        file_mode: the Linux file mode in octal (absent for Windows nodes).
        is_directory: a directory (set by ``get_properties_from_task`` only).
        url: the file's URL (set by ``get_properties_from_task`` only).
    """

    creation_time: UtcDateTime | None = None
    last_modified: UtcDateTime | None = None
    content_length: int | None = None
    content_type: str | None = None
    file_mode: str | None = None
    is_directory: bool | None = None
    url: str | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> FileProperties:
        """The properties the service sends as headers of a file GET or HEAD.

        Headers it leaves out (or that do not parse) give None; an unknown file mode is kept.
        """
        length = headers.get("Content-Length")
        directory = headers.get("ocp-batch-file-isdirectory")
        return cls(
            creation_time=_header_time(headers.get("ocp-creation-time")),
            last_modified=_header_time(headers.get("Last-Modified")),
            content_length=int(length) if length is not None and length.isdigit() else None,
            content_type=headers.get("Content-Type"),
            file_mode=headers.get("ocp-batch-file-mode"),
            is_directory=None if directory is None else directory.strip().lower() == "true",
            url=headers.get("ocp-batch-file-url"),
        )


class NodeFile(BatchModel):
    """One entry of ``list_from_task``: a file or a directory of a task directory.

    Attributes:
        name: the path relative to the task directory (``wd/out.txt`` in a recursive list).
        url: the file's URL.
        is_directory: a directory.
        properties: its properties.
    """

    name: str | None = None
    url: str | None = None
    is_directory: bool | None = None
    properties: FileProperties | None = None
