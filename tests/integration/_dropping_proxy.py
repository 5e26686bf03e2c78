"""A loopback TCP proxy that drops connections, two ways (fault injection for tests):

* ``drop_rate``: with this probability per chunk of a request, the request is read and the
  connection closed without an answer (a dropped connection, for reads as well as writes);
  `drops` counts them.
* ``cut_after=[n1, n2, ...]``: the k-th connection is cut after ``n_k`` bytes of the server's
  answer, mid-response (what a download sees when a connection dies); later connections pass
  everything. `cuts` counts them, `connections` counts every connection.

`DroppingProxy(target_port, drop_rate=..., seed=..., cut_after=...)` listens on 127.0.0.1:0.
"""

from __future__ import annotations

import asyncio
import contextlib
import random


class DroppingProxy:
    def __init__(
        self,
        target_port: int,
        *,
        drop_rate: float = 0.0,
        seed: int = 0,
        cut_after: list[int] | None = None,
    ) -> None:
        self.target_port = target_port
        self.drop_rate = drop_rate
        self.cut_after = list(cut_after or [])
        self.drops = 0
        self.cuts = 0
        self.connections = 0
        self._random = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> DroppingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        budget = self.cut_after.pop(0) if self.cut_after else None
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        back = asyncio.create_task(self._pipe(up_reader, writer, budget))
        forward = asyncio.create_task(self._forward(reader, up_writer))
        try:
            await asyncio.wait([back, forward], return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            pass
        finally:
            for pump in (back, forward):
                pump.cancel()
                with contextlib.suppress(BaseException):
                    await pump
            for w in (writer, up_writer):
                w.close()
                with contextlib.suppress(Exception):
                    await w.wait_closed()
            self._tasks.discard(task)

    async def _forward(self, reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                if self._random.random() < self.drop_rate:
                    self.drops += 1
                    return
                up_writer.write(chunk)
                await up_writer.drain()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, budget: int | None
    ) -> None:
        sent = 0
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(256 * 1024):
                if budget is not None and sent + len(chunk) > budget:
                    writer.write(chunk[: budget - sent])
                    with contextlib.suppress(ConnectionError):
                        await writer.drain()
                    self.cuts += 1
                    writer.transport.abort()
                    return
                sent += len(chunk)
                writer.write(chunk)
                await writer.drain()
