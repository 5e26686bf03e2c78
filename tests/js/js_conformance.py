"""The official JavaScript SDK, ``@azure/batch`` 10.2.0 from npm (sends api-version
2022-10-01.16.0), with its default settings, against the emulator: ``batch_conformance.js``.

Runs only in ``nox -s js``, which installs the package (pinned in ``tests/js/package.json``)
into nox's cache and passes its ``node_modules`` as ``BATCHTASKS_JS_MODULES``. The file name does
not match ``test_*.py``: the ``tests`` session never collects it (it needs node and that install).
The script talks only to the loopback emulator started here.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from batchtasks.emulator import Emulator
from batchtasks.emulator.pytest_plugin import EmulatorFactory
from tests._process import run

pytestmark = pytest.mark.conformance
SCRIPT = Path(__file__).with_name("batch_conformance.js")


async def _run(emulator: Emulator, *args: str) -> list[str]:
    """Run the script against `emulator`; the list of what it checked."""
    modules = os.environ["BATCHTASKS_JS_MODULES"]
    node = shutil.which("node")
    assert node is not None, "node is not on PATH"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "NODE_PATH": modules,
        "BATCH_URL": emulator.url,
        "BATCH_ACCOUNT": emulator.account,
        "BATCH_KEY": emulator.key,
    }
    code, out, err = await run(node, str(SCRIPT), *args, env=env)
    assert code == 0, err
    checked: list[str] = json.loads(out.strip().splitlines()[-1])["checked"]
    return checked


async def test_azure_batch_js_sdk(batch_emulator: Emulator) -> None:
    assert len(await _run(batch_emulator)) == 4


async def test_azure_batch_js_sdk_task_files(batch_emulator_factory: EmulatorFactory) -> None:
    emulator = await batch_emulator_factory(run_tasks=True)
    assert len(await _run(emulator, "files")) == 1
