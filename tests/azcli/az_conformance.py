"""The Azure CLI (``az batch task ...``) against the emulator, with its default settings.

Optional and not in the default nox sessions (``pip install azure-cli`` takes minutes): run it
with ``python -m nox -s azcli``. The file name does not match ``test_*.py``, so the ``tests``
session never collects it; the session names it. Each ``az`` runs in a subprocess with its own
config directory and talks only to the loopback emulator started here.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from batchtasks.emulator import Emulator
from tests._process import run

pytestmark = pytest.mark.conformance


async def _az(emu: Emulator, home: Path, *args: str) -> tuple[int, Any, str]:
    az = shutil.which("az")
    assert az is not None, "az is not on PATH"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AZURE_CONFIG_DIR": str(home / ".azure"),
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
        "AZURE_CORE_NO_COLOR": "true",
        "AZURE_BATCH_ACCOUNT": emu.account,
        "AZURE_BATCH_ACCESS_KEY": emu.key,
        "AZURE_BATCH_ENDPOINT": emu.url,
    }
    code, out, err = await run(az, "batch", *args, "--output", "json", env=env)
    text = out.strip()
    return code, json.loads(text) if text else None, err


async def test_az_batch_task_commands(batch_emulator: Emulator, tmp_path: Path) -> None:
    emu, home = batch_emulator, tmp_path

    async def ok(*args: str) -> Any:
        code, data, err = await _az(emu, home, *args)
        assert code == 0, err
        return data

    await ok("job", "create", "--id", "j", "--pool-id", "p")
    await ok(
        "task", "create", "--job-id", "j", "--task-id", "t", "--command-line", "echo hi",
        "--max-task-retry-count", "2",
    )  # fmt: skip
    shown = await ok("task", "show", "--job-id", "j", "--task-id", "t")
    assert (shown["id"], shown["constraints"]["maxTaskRetryCount"]) == ("t", 2)
    await ok("task", "reset", "--job-id", "j", "--task-id", "t", "--max-task-retry-count", "5")
    shown = await ok("task", "show", "--job-id", "j", "--task-id", "t")
    assert shown["constraints"]["maxTaskRetryCount"] == 5
    tasks_file = home / "tasks.json"
    tasks_file.write_text(
        json.dumps([{"id": f"f{i}", "commandLine": "echo"} for i in range(3)]), encoding="utf-8"
    )
    await ok("task", "create", "--job-id", "j", "--json-file", str(tasks_file))
    listed = await ok("task", "list", "--job-id", "j")
    assert sorted(t["id"] for t in listed) == ["f0", "f1", "f2", "t"]
    await ok("task", "stop", "--job-id", "j", "--task-id", "t")
    assert (await ok("task", "show", "--job-id", "j", "--task-id", "t"))["state"] == "completed"
    await ok("task", "reactivate", "--job-id", "j", "--task-id", "t")
    assert (await ok("task", "show", "--job-id", "j", "--task-id", "t"))["state"] == "active"
    await ok("task", "delete", "--job-id", "j", "--task-id", "t", "--yes")
    code, _, err = await _az(emu, home, "task", "show", "--job-id", "j", "--task-id", "t")
    assert code != 0
    assert "TaskNotFound" in err or "does not exist" in err, err
