"""A loopback TCP proxy that cuts connections after a number of response bytes (fault injection).

`DropProxy(target_port, drops=[n1, n2, ...])`: the k-th connection that carries more than ``n_k``
bytes from the server to the client is closed right there, mid-response; later connections pass
everything. The client sees exactly what a dropped connection looks like (a short body).
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType


class DropProxy:
    """Forward 127.0.0.1:{port} to 127.0.0.1:{target_port}, dropping as configured."""

    def __init__(self, target_port: int, drops: list[int]) -> None:
        self.target_port = target_port
        self.drops = list(drops)
        self.dropped = 0
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> DropProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        budget = self.drops.pop(0) if self.drops else None
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer, None)),
            asyncio.create_task(self._pump(up_reader, writer, budget)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self._tasks.difference_update(pumps)
            for w in (writer, up_writer):
                w.close()
                with contextlib.suppress(Exception):
                    await w.wait_closed()

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, budget: int | None
    ) -> None:
        sent = 0
        while True:
            data = await source.read(256 * 1024)
            if not data:
                return
            if budget is not None and sent + len(data) > budget:
                sink.write(data[: budget - sent])
                with contextlib.suppress(ConnectionError):
                    await sink.drain()
                self.dropped += 1
                sink.transport.abort()
                return
            sent += len(data)
            sink.write(data)
            try:
                await sink.drain()
            except ConnectionError:
                return
