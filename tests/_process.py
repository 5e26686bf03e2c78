"""Run a client's command line (node, az) in a subprocess while the emulator serves in this loop.

The process is always reaped: killed if it outlives `timeout` or the awaiting test is cancelled.
"""

from __future__ import annotations

import asyncio


async def run(*args: str, env: dict[str, str], timeout: float = 120) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `args`."""
    process = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=timeout)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return int(process.returncode or 0), out.decode(errors="replace"), err.decode(errors="replace")
