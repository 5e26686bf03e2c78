"""The task-file code in README.md and docs/files.md runs as written against the emulator."""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from batchtasks import BatchClient, SharedKeyCredential
from batchtasks.emulator.pytest_plugin import EmulatorFactory

ROOT = Path(__file__).resolve().parents[2]


def _python_block_after(path: Path, heading: str) -> str:
    section = path.read_text(encoding="utf-8").split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block after {heading!r} in {path.name}"
    return match.group(1)


async def _run(source: str, namespace: dict[str, Any]) -> None:
    code = compile(source, "doc", "exec", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # top-level await makes this a coroutine
    if asyncio.iscoroutine(result):
        await result


@pytest.mark.parametrize(
    ("doc", "heading", "printed"),
    [
        ("README.md", "## Task files", "command line (not executed): render; exit 0"),
        ("docs/files.md", "# Task files", "6000 bytes"),
    ],
)
async def test_task_file_examples_run(
    batch_emulator_factory: EmulatorFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    doc: str,
    heading: str,
    printed: str,
) -> None:
    emu = await batch_emulator_factory(run_tasks=True)
    credential = SharedKeyCredential(emu.account, emu.key)
    monkeypatch.chdir(tmp_path)
    async with BatchClient(emu.url, credential) as client:
        await client.jobs.add({"id": "job-1", "poolInfo": {"poolId": "p"}})
        await client.tasks.add("job-1", {"id": "task-7", "commandLine": "render; exit 0"})
        while (task := await client.tasks.get("job-1", "task-7")).state != "completed":
            await emu.advance(5)
        assert task.node_info is not None
        assert task.node_info.node_id is not None
        directory = emu.nodes.task_dir(task.node_info.node_id, "job-1", "task-7")
        (directory / "wd" / "frames.tar").write_bytes(b"frames" * 1000)
        (directory / "wd" / "tmp").mkdir()
        namespace: dict[str, Any] = {
            "client": client,
            "job_id": "job-1",
            "task_id": "task-7",
            "BatchClient": BatchClient,
            "endpoint": emu.url,
            "account": emu.account,
            "key": emu.key,
        }
        await _run(_python_block_after(ROOT / doc, heading), namespace)
    assert (tmp_path / "frames.tar").read_bytes() == b"frames" * 1000
    assert printed in capsys.readouterr().out
