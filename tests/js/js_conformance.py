"""The official JavaScript SDK, ``@azure/batch`` 10.2.0 from npm (sends api-version
2022-10-01.16.0), with its default settings, against the emulator: ``batch_conformance.js``.

Runs only in ``nox -s js``, which installs the package (pinned in ``tests/js/package.json``)
into nox's cache and passes its ``node_modules`` as ``BATCHTASKS_JS_MODULES``. The file name does
not match ``test_*.py``: the ``tests`` session never collects it (it needs node and that install).
The script talks only to the loopback emulator started here.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from batchtasks.emulator import Emulator

pytestmark = pytest.mark.conformance
SCRIPT = Path(__file__).with_name("batch_conformance.js")


async def test_azure_batch_js_sdk(batch_emulator: Emulator) -> None:
    modules = os.environ["BATCHTASKS_JS_MODULES"]
    node = shutil.which("node")
    assert node is not None, "node is not on PATH"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "NODE_PATH": modules,
        "BATCH_URL": batch_emulator.url,
        "BATCH_ACCOUNT": batch_emulator.account,
        "BATCH_KEY": batch_emulator.key,
    }
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode(errors="replace")
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert len(report["checked"]) == 4, report
