"""FileOperations: a task's files on its compute node, as `client.files` (the official
`client.file`, task half): list, properties, streamed download, delete.

Thin like `TaskOperations`: build (fileprotocol.py) -> send -> decode, with the shared keyword
options (options.py). The download is a `FileDownload` (download.py), which streams and resumes.
This module must not import aiohttp, build URLs or headers by hand, or sign anything.
"""

from __future__ import annotations

import functools

from typing_extensions import Unpack

from batchtasks._private import fileprotocol
from batchtasks._private.download import FileDownload
from batchtasks._private.operations import OperationsBase
from batchtasks._private.options import FileConditionalOptions, RequestOptions, send_settings
from batchtasks._private.paging import AsyncPager
from batchtasks._private.raw import raw_response_wrapper
from batchtasks.models import FileProperties, NodeFile

__all__ = ["FileOperations", "FileOperationsWithRawResponse"]


class FileOperations(OperationsBase):
    """The files of a task (`client.files`): ``stdout.txt``, ``stderr.txt``, ``wd/...``.

    A task has files once it has run on a node; before that the service answers
    `ConflictError` (409 ``OperationInvalidForCurrentState``). Keyword options are
    `RequestOptions` (see `TaskOperations`); `get_properties_from_task` and `get_from_task`
    also take ``if_modified_since`` / ``if_unmodified_since``.
    `files.with_raw_response.get_properties_from_task/delete_from_task(...)` return a
    `RawResponse[T]`.
    """

    @functools.cached_property
    def with_raw_response(self) -> FileOperationsWithRawResponse:
        """The same operations, returning `RawResponse[T]` instead of `T`."""
        return FileOperationsWithRawResponse(self)

    def list_from_task(
        self,
        job_id: str,
        task_id: str,
        *,
        recursive: bool = False,
        filter: str | None = None,
        max_results: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPager[NodeFile]:
        """List a task's files (GET .../tasks/{task_id}/files, 200), following `odata.nextLink`.

        Args:
            job_id: the job.
            task_id: the task.
            recursive: also list the contents of sub-directories (names like ``wd/out.txt``).
            filter: OData `$filter`; the service accepts ``startswith(name,'prefix')``.
            max_results: page size, 1-1000.
            **options: `RequestOptions`.

        Returns:
            An `AsyncPager[NodeFile]` (nothing is sent until iteration starts).

        Raises:
            ValueError: `max_results` out of range (nothing sent).
            NotFoundError: no such job or task. ConflictError: the task has not run yet.
        """
        request = fileprotocol.file_list_from_task(
            job_id,
            task_id,
            options,
            recursive=True if recursive else None,
            filter=filter,
            max_results=max_results,
        )
        return self._pager(request, NodeFile, options)

    async def get_properties_from_task(
        self,
        job_id: str,
        task_id: str,
        file_path: str,
        **options: Unpack[FileConditionalOptions],
    ) -> FileProperties:
        """A file's properties (HEAD .../tasks/{task_id}/files/{file_path}, 200).

        Args:
            job_id: the job.
            task_id: the task.
            file_path: the path in the task directory, e.g. ``stdout.txt`` or ``wd/out.csv``.
            **options: `FileConditionalOptions`.

        Returns:
            `FileProperties` from the response headers: `content_length`, `content_type`,
            `creation_time`, `last_modified`, `is_directory`, `url`, `file_mode`.

        Raises:
            NotFoundError: no such job, task or file (HEAD answers carry no error code).
            ConditionNotMetError: the condition failed (304 or 412).
        """
        request = fileprotocol.file_get_properties_from_task(job_id, task_id, file_path, options)
        response = await self._send(request, options)
        return FileProperties.from_headers(response.headers)

    def get_from_task(
        self,
        job_id: str,
        task_id: str,
        file_path: str,
        *,
        ocp_range: str | None = None,
        **options: Unpack[FileConditionalOptions],
    ) -> FileDownload:
        """Download a file (GET .../tasks/{task_id}/files/{file_path}, 200), streamed.

        Nothing is sent until the download is awaited, entered or read::

            async with client.files.get_from_task("job", "task", "stdout.txt") as download:
                print(download.size)
                async for chunk in download:
                    ...
            await client.files.get_from_task("job", "task", "wd/big.bin").to_file("big.bin")

        A dropped connection is resumed from the next byte (``ocp-range``), up to the retry
        policy's `max_attempts` failures in a row; the bytes are checked against the length
        the service announced (`DownloadError` otherwise).

        Args:
            job_id: the job.
            task_id: the task.
            file_path: the path in the task directory.
            ocp_range: only these bytes, ``bytes=first-last`` or ``bytes=first-``.
            **options: `FileConditionalOptions` (``if_modified_since`` answers
                `ConditionNotMetError` 304 for an unchanged file).

        Returns:
            A `FileDownload`.

        Raises:
            ValueError: a malformed `ocp_range` (at once, nothing sent).
        """
        request = fileprotocol.file_get_from_task(
            job_id, task_id, file_path, options, ocp_range=ocp_range
        )
        retry_policy, client_timeout = send_settings(options)
        return FileDownload(
            self._pipeline, request, retry_policy=retry_policy, client_timeout=client_timeout
        )

    async def delete_from_task(
        self,
        job_id: str,
        task_id: str,
        file_path: str,
        *,
        recursive: bool = False,
        **options: Unpack[RequestOptions],
    ) -> None:
        """Delete a file or directory (DELETE .../tasks/{task_id}/files/{file_path}, 200).

        Args:
            job_id: the job.
            task_id: the task.
            file_path: the path in the task directory.
            recursive: delete a directory with everything in it (else it must be empty).
            **options: `RequestOptions`.

        Raises:
            NotFoundError: no such job, task or file. ConflictError: a non-empty directory
                without `recursive`, or a task that has not run.
        """
        request = fileprotocol.file_delete_from_task(
            job_id, task_id, file_path, options, recursive=True if recursive else None
        )
        await self._send(request, options)


class FileOperationsWithRawResponse:
    """`client.files.with_raw_response`: each operation returns a `RawResponse[T]`."""

    def __init__(self, files: FileOperations) -> None:
        self.get_properties_from_task = raw_response_wrapper(files.get_properties_from_task)
        self.delete_from_task = raw_response_wrapper(files.delete_from_task)
