"""A 200 MB task file through a proxy that drops the connection twice: the download resumes,
the copy is byte-identical, and the process's memory stays flat (the bytes are streamed)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import psutil

from batchtasks.emulator.pytest_plugin import EmulatorFactory

from ._dropping_proxy import DroppingProxy
from .test_files_client import make_client, ran

SIZE = 200 * 1024 * 1024
BLOCK = 4 * 1024 * 1024
#: Generous: the point is O(chunk), not O(file) (200 MB would be far above it).
RSS_GROWTH_LIMIT = 60 * 1024 * 1024


def _write_random(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(size // BLOCK):
            block = os.urandom(BLOCK)
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


async def test_200_mb_download_resumes_is_identical_and_keeps_memory_flat(
    batch_emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emu = await batch_emulator_factory(run_tasks=True)
    async with make_client(emu) as client:
        job, task, directory = await ran(emu, client)
    expected = await asyncio.to_thread(_write_random, directory / "wd" / "big.bin", SIZE)

    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    target = tmp_path / "big.bin"
    try:
        async with (
            DroppingProxy(emu.port, cut_after=[70 * 1024 * 1024, 50 * 1024 * 1024]) as proxy,
            make_client(emu, proxy.url) as through,
        ):
            download = through.files.get_from_task(job, task, "wd/big.bin")
            written = await download.to_file(target)
    finally:
        done.set()
        await sampler
    assert written == SIZE
    assert proxy.cuts == 2
    assert await asyncio.to_thread(_sha256, target) == expected
    assert peak - baseline < RSS_GROWTH_LIMIT, f"RSS grew by {(peak - baseline) >> 20} MiB"
