"""Helpers for tests of the executing emulator: a signed raw client bound to it, waiting for a
task to reach a state (a bounded poll, not a timed assertion), finding task files, and finding
any process the emulator started that is still alive (psutil: every such process, and whatever it
forked, carries the emulator's AZ_BATCH_NODE_ROOT_DIR in its environment)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from batchtasks.emulator import Emulator

from ._signing_helper import RawClient

#: When the latest executing emulator started: only processes created since then are examined
#: (their environment is read from /proc, which can be slow for busy processes of others).
_since = 0.0


@contextlib.asynccontextmanager
async def executing(**kwargs: Any) -> AsyncIterator[tuple[Emulator, RawClient]]:
    """An executing emulator (in memory unless `location` is given) and a raw client."""
    options: dict[str, Any] = {
        "execute": True,
        "nodes": 2,
        "task_slots_per_node": 2,
        "kill_grace": 0.3,
    }
    options.update(kwargs)
    if "location" not in options:
        options["in_memory"] = True
    global _since
    _since = time.time() - 1.0
    async with Emulator(**options) as emu, aiohttp.ClientSession() as session:
        yield emu, RawClient(session, emu.url, emu.account, emu.key)


async def wait_state(
    raw: RawClient, job: str, task: str, states: tuple[str, ...] = ("completed",), tries: int = 400
) -> dict[str, Any]:
    """Poll a task until its state is one of `states` (at most `tries` x 50 ms)."""
    body: dict[str, Any] = {}
    for _ in range(tries):
        reply = await raw.get_task(job, task)
        body = reply.json()
        if body.get("state") in states:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{task} never reached {states}: {body}")


def nodes_root(emu: Emulator) -> Path:
    """The directory of the emulator's virtual nodes."""
    root = emu._require_context().nodes.root
    return Path(root)


def task_dir(emu: Emulator, body: dict[str, Any], job: str) -> Path:
    """The task directory of a task (on its primary node)."""
    ctx = emu._require_context()
    return Path(ctx.nodes.task_dir(body["nodeInfo"]["nodeId"], job, body["id"]))


def survivors(root: Path) -> list[psutil.Process]:
    """Live processes started by the emulator whose node directories are under `root`."""
    marker = str(root)
    found = []
    for proc in psutil.process_iter(["create_time"]):
        if (proc.info.get("create_time") or 0.0) < _since:
            continue
        with contextlib.suppress(psutil.Error):
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("AZ_BATCH_NODE_ROOT_DIR", "").startswith(marker):
                found.append(proc)
    return found


async def wait_no_survivors(root: Path, tries: int = 100) -> None:
    """Wait until no process of the emulator is left (at most `tries` x 50 ms)."""
    for _ in range(tries):
        if not survivors(root):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"processes left running: {survivors(root)}")


async def run_one(raw: RawClient, task: dict[str, Any]) -> dict[str, Any]:
    """Create job ``j``, add `task` to it, and return the task once completed."""
    await raw.create_job("j")
    reply = await raw.add_task("j", task)
    assert reply.status == 201, reply.body
    return await wait_state(raw, "j", str(task["id"]))
