"""`FileDownload`: a task file streamed from the service, resumed after a dropped connection.

Modelled on azure-storage-blob's `StorageStreamDownloader` (``chunks()``, ``readall()``,
``readinto()``): the body is read chunk by chunk, so memory stays O(chunk) for any file size. When
the connection drops (or a retryable error status answers), the download asks again for the
bytes it has not received yet (``ocp-range: bytes={next}-{last}``), up to the retry policy's
``max_attempts`` consecutive failures without progress, with its backoff. Every byte is counted
against the length the service announced first; a resumed answer for another length, a file
whose ``Last-Modified`` changed between two answers, or a body that ends early for good raise
`DownloadError`. Must not import aiohttp (the transport reads the bytes).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Generator
from pathlib import Path
from types import TracebackType
from typing import Any

from batchtasks._private.errors import BatchConnectionError, BatchServiceError, BatchTasksError
from batchtasks._private.fileprotocol import parse_range, with_range
from batchtasks._private.pipeline import Pipeline
from batchtasks._private.protocol import Request
from batchtasks._private.retry import RetryPolicy
from batchtasks._private.transport import ResponseStream, Timeout
from batchtasks.models import FileProperties

__all__ = ["DownloadError", "FileDownload"]

#: Bytes asked of the transport per read (it returns what has arrived, up to this).
CHUNK_SIZE = 1024 * 1024
#: `to_file` writes in blocks of about this size (fewer hops to the writer thread).
WRITE_BLOCK = 4 * 1024 * 1024


class DownloadError(BatchTasksError):
    """A download could not deliver exactly the bytes the service announced.

    Raised when the body stays shorter than its ``Content-Length`` after every resumption the
    retry policy allows, when a resumed answer announces another length, or when the file changed
    (another ``Last-Modified``) while it was being downloaded.

    Attributes:
        expected: the bytes announced (None before any answer).
        received: the bytes delivered before the error.
    """

    def __init__(self, message: str, *, expected: int | None, received: int) -> None:
        super().__init__(message)
        self.expected = expected
        self.received = received


class FileDownload:
    """A streamed download of one task file (what ``client.files.get_from_task`` returns).

    Use it one of three ways, once: ``async for chunk in download``, ``await download.read()``,
    or ``await download.to_file(path)``. ``await download`` (or ``async with download``) opens
    it first, so `properties` and `size` are known and errors such as ``NotFoundError`` surface
    before any byte is read. Leaving an ``async with`` block, or `aclose()`, releases the
    connection of a download that was not read to the end.

    Attributes:
        properties: the file's properties from the first answer's headers (None until open).
        size: the number of bytes this download delivers (the announced ``Content-Length``).
        received: bytes delivered so far.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        request: Request,
        *,
        retry_policy: RetryPolicy | None,
        client_timeout: Timeout | None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self._pipeline = pipeline
        self._request = request
        self._policy = retry_policy or pipeline.retry_policy
        self._timeout = client_timeout
        self._chunk_size = chunk_size
        self._client_request_id = request.headers.get("client-request-id") or str(uuid.uuid4())
        asked = request.headers.get("ocp-range")
        self._first = parse_range(asked)[0] if asked is not None else 0
        self._stream: ResponseStream | None = None
        self._attempts = 0
        self._consumed = False
        self._closed = False
        self.properties: FileProperties | None = None
        self.size: int | None = None
        self.received = 0

    def __repr__(self) -> str:
        return f"<FileDownload {self._request.path} {self.received}/{self.size} bytes>"

    # -- opening -------------------------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, FileDownload]:
        return self._open_first().__await__()

    async def __aenter__(self) -> FileDownload:
        return await self._open_first()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _open_first(self) -> FileDownload:
        if self.size is None:
            self._stream = await self._open()
        return self

    async def _open(self) -> ResponseStream:
        """Open the next answer (the first, or a resumption), retrying what the policy allows."""
        while True:
            request = self._request
            if self.size is not None:
                # Resume: the bytes not yet received, of the range announced first.
                start = self._first + self.received
                request = with_range(self._request, start, self._first + self.size - 1)
            try:
                self._attempts += 1
                stream = await self._pipeline.open_stream(
                    request,
                    client_request_id=self._client_request_id,
                    attempt=self._attempts,
                    timeout=self._timeout,
                )
            except BatchTasksError as exc:
                resumed = self.size is not None
                await self._backoff_or_raise(exc, final=self._short_body() if resumed else None)
                continue
            try:
                self._accept(stream)
            except BaseException:
                stream.close()
                raise
            return stream

    def _accept(self, stream: ResponseStream) -> None:
        properties = FileProperties.from_headers(stream.headers)
        length = properties.content_length
        if self.size is None:
            if length is None:
                raise DownloadError(
                    f"GET {self._request.path}: the answer has no Content-Length",
                    expected=None,
                    received=0,
                )
            self.properties = properties
            self.size = length
            return
        left = self.size - self.received
        if length != left:
            raise DownloadError(
                f"GET {self._request.path}: resumed at byte {self.received} of {self.size}, the "
                f"service announced {length} bytes instead of {left}",
                expected=self.size,
                received=self.received,
            )
        assert self.properties is not None
        if properties.last_modified != self.properties.last_modified:
            raise DownloadError(
                f"GET {self._request.path}: the file changed during the download "
                f"(Last-Modified {self.properties.last_modified} -> {properties.last_modified})",
                expected=self.size,
                received=self.received,
            )

    async def _backoff_or_raise(
        self, exc: BatchTasksError, *, final: BatchTasksError | None = None
    ) -> None:
        """Sleep before the next attempt, or raise `final` (default `exc`) when none is left."""
        if not self._policy.is_retryable(exc) or self._attempts >= self._policy.max_attempts:
            if final is None:
                raise exc
            raise final from exc
        retry_after = exc.retry_after if isinstance(exc, BatchServiceError) else None
        await self._policy.sleep(self._policy.delay(self._attempts, retry_after))

    # -- reading -------------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.chunks()

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """The bytes of the file, chunk by chunk (each at most about 1 MiB).

        Raises:
            DownloadError: the bytes announced could not be delivered.
            BatchServiceError, BatchConnectionError: the download failed for good.
            RuntimeError: the download was already read or closed.
        """
        if self._consumed or self._closed:
            raise RuntimeError("a FileDownload can be read only once")
        self._consumed = True
        try:
            await self._open_first()
            assert self.size is not None
            while self.received < self.size:
                if self._stream is None:
                    self._stream = await self._open()
                try:
                    chunk = await self._stream.read_chunk(
                        min(self._chunk_size, self.size - self.received)
                    )
                except BatchConnectionError as exc:  # dropped mid-body: resume
                    self._drop_stream()
                    await self._backoff_or_raise(exc, final=self._short_body())
                    continue
                if not chunk:  # ended early without an error: resume like a drop
                    self._drop_stream()
                    dropped = BatchConnectionError(f"GET {self._request.path}: body ended early")
                    await self._backoff_or_raise(dropped, final=self._short_body())
                    continue
                self.received += len(chunk)
                self._attempts = 0  # progress: the next failure starts a fresh budget
                yield chunk
            await self._check_end()
        finally:
            self._drop_stream()

    async def _check_end(self) -> None:
        # The announced length is delivered; the body must end here.
        assert self._stream is not None
        try:
            extra = await self._stream.read_chunk(1)
        except BatchTasksError:
            extra = b""
        if extra:
            raise DownloadError(
                f"GET {self._request.path}: the body is longer than its Content-Length "
                f"({self.size})",
                expected=self.size,
                received=self.received,
            )

    def _short_body(self) -> DownloadError:
        return DownloadError(
            f"GET {self._request.path}: the body ended after {self.received} of {self.size} bytes",
            expected=self.size,
            received=self.received,
        )

    async def read(self) -> bytes:
        """All the bytes (held in memory: prefer `to_file` or iteration for large files)."""
        data = bytearray()
        async with contextlib.aclosing(self.chunks()) as chunks:
            async for chunk in chunks:
                data += chunk
        return bytes(data)

    async def to_file(self, path: str | os.PathLike[str]) -> int:
        """Write the file to `path` without blocking the event loop; return the bytes written.

        The bytes go to ``{path}.partial`` first, which is renamed to `path` only once every
        byte arrived: a failed download leaves an existing `path` untouched.

        Raises:
            DownloadError, BatchServiceError, BatchConnectionError: as `chunks`.
            OSError: the file cannot be written.
        """
        target = Path(path)
        partial = target.with_name(target.name + ".partial")
        # Shielded: a cancellation while the worker thread opens the file must not lose the
        # handle (the cleanup below waits for it, closes it and removes the partial file).
        opening = asyncio.ensure_future(asyncio.to_thread(partial.open, "wb"))
        # One block is written in a worker thread while the next one arrives (2 blocks at most).
        writing: asyncio.Future[None] | None = None
        try:
            handle = await asyncio.shield(opening)
            block: list[bytes] = []
            size = 0
            # aclosing: an error or cancellation while a block is written must still close the
            # generator, and so the connection (a bare `async for` leaves it to the GC).
            async with contextlib.aclosing(self.chunks()) as chunks:
                async for chunk in chunks:
                    block.append(chunk)
                    size += len(chunk)
                    if size >= WRITE_BLOCK:
                        if writing is not None:
                            await writing
                        writing = asyncio.ensure_future(asyncio.to_thread(handle.writelines, block))
                        block, size = [], 0
            if writing is not None:
                await writing
            await asyncio.to_thread(handle.writelines, block)
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(os.replace, partial, target)
        except BaseException:
            self._drop_stream()  # opened by an earlier `await download`, perhaps never read
            await asyncio.shield(_abandon(opening, partial, writing))
            raise
        return self.received

    # -- closing -------------------------------------------------------------------------------

    def _drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    async def aclose(self) -> None:
        """Release the connection (dropped when the body was not read to its end)."""
        self._closed = True
        self._drop_stream()


async def _abandon(
    opening: asyncio.Future[Any], partial: Path, writing: asyncio.Future[None] | None
) -> None:
    """Remove the partial file of a failed `to_file`, after any write still running in a thread."""
    handle = None
    with contextlib.suppress(Exception):  # a failed open has nothing to close
        handle = await opening
    if writing is not None:
        with contextlib.suppress(Exception):  # its error, if any, is the one being raised
            await writing
    await asyncio.to_thread(_discard, handle, partial)


def _discard(handle: Any, partial: Path) -> None:
    if handle is not None:
        handle.close()
    partial.unlink(missing_ok=True)
