"""SQLite persistence across restarts, the --location rules, and the command line."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from batchtasks.emulator import Emulator
from batchtasks.emulator.cli import build_parser, emulator_from_args

from ._signing_helper import RawClient


async def test_restart_keeps_jobs_and_tasks(tmp_path: Path) -> None:
    emu = Emulator(location=tmp_path / "data")
    async with aiohttp.ClientSession() as session:
        await emu.start()
        try:
            raw = RawClient(session, emu.url, emu.account, emu.key)
            await raw.create_job("keep")
            body = {"value": [{"id": f"t{i}", "commandLine": "x"} for i in range(50)]}
            assert (await raw.send("POST", "/jobs/keep/addtaskcollection", body=body)).status == 200
            etag = (await raw.get_task("keep", "t7")).headers["ETag"]
            await raw.create_job("gone")
            assert (await raw.send("DELETE", "/jobs/gone")).status == 202
        finally:
            await emu.stop()
        port = emu.port
        await emu.start()
        try:
            assert emu.port == port
            raw = RawClient(session, emu.url, emu.account, emu.key)
            assert (await raw.get_task("keep", "t7")).headers["ETag"] == etag
            listed = (await raw.send("GET", "/jobs/keep/tasks")).json()["value"]
            assert len(listed) == 50
            assert (await raw.send("GET", "/jobs/gone")).code == "JobNotFound"
            # ETags stay unique after a restart.
            await raw.add_task("keep", {"id": "new", "commandLine": "x"})
            assert (await raw.get_task("keep", "new")).headers["ETag"] != etag
        finally:
            await emu.stop()
    assert (tmp_path / "data" / "batchtasks-emulator.sqlite3").is_file()


def test_location_must_be_a_directory(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        Emulator(location=afile)
    with pytest.raises(ValueError):
        Emulator(location=tmp_path, in_memory=True)


def test_location_is_resolved_and_file_name_fixed(tmp_path: Path) -> None:
    emu = Emulator(location=tmp_path / "a" / ".." / "b")
    assert emu.location == (tmp_path / "b" / "batchtasks-emulator.sqlite3").resolve()


def test_parser_builds_emulator_with_faults(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        [
            "--location",
            str(tmp_path),
            "--throttle-rate",
            "0.25",
            "--fault-seed",
            "9",
            "--run-tasks",
            "--accept-bearer",
        ]
    )
    emu = emulator_from_args(args)
    assert emu.faults.throttle_rate == 0.25
    assert emu.faults.seed == 9
    assert emu.location is not None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--location", "x", "--in-memory"])


async def test_cli_prints_url_and_stops_on_sigterm() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "batchtasks.emulator",
        "--in-memory",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        m = re.match(
            r"batchtasks emulator listening on (http://127\.0\.0\.1:\d+) "
            r"\(account batchdev, data in memory\)$",
            line,
        )
        assert m, line
        async with aiohttp.ClientSession() as s, s.get(f"{m.group(1)}/_emulator/stats") as r:
            assert r.status == 200
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
