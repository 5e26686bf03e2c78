"""The README's code works as written: a newcomer copies it first.

The "A first example" block runs unchanged (it starts its own emulator); the client tour block
runs against the emulator fixture with its free names bound.
"""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from batchtasks import BatchClient, SharedKeyCredential
from batchtasks.emulator import Emulator

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_block_after(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block after {heading!r}"
    return match.group(1)


def test_first_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    source = _python_block_after("## A first example")
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(source, "README.md", "exec"), namespace)  # it ends with asyncio.run(main())
    out = capsys.readouterr().out
    assert "'added': 10000" in out
    assert re.search(r"^t42 (active|running|completed) \d{4}-", out, re.M)
    completed = re.search(r"^(\d+) tasks completed so far$", out, re.M)
    assert completed
    assert 0 <= int(completed.group(1)) <= 10_000


async def test_client_tour_runs_against_the_emulator() -> None:
    source = _python_block_after("## The client")
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    source = source.replace("    ...\n", "    seen.append(sub)\n")
    code = compile(source, "README.md", "exec", flags)
    async with Emulator(in_memory=True) as emu:
        credential = SharedKeyCredential(emu.account, emu.key)
        async with BatchClient(emu.url, credential) as setup:
            await setup.jobs.add({"id": "readme", "poolInfo": {"poolId": "p"}})
        namespace: dict[str, Any] = {
            "BatchClient": BatchClient,
            "endpoint": emu.url,
            "credential": credential,
            "job_id": "readme",
            "seen": [],
        }
        coroutine = eval(code, namespace)  # top-level await makes this a coroutine
        assert asyncio.iscoroutine(coroutine)
        await coroutine
        async with BatchClient(emu.url, credential) as check:
            remaining = [t.id async for t in check.tasks.list("readme")]
    assert remaining == []  # the tour ends by deleting its task
    assert namespace["task"].id == "t1"
