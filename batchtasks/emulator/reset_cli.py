"""``batchtasks emulator reset``: delete the jobs and tasks kept in an emulator data folder.

Without ``--location`` it wipes the default folder, the one the ``batchtasks`` command line uses
when no account is configured. Only the emulator's own database rows and virtual nodes' files
are removed; a folder holding no emulator database is left alone (and said so).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from .datadir import LOCATION_ENV, default_location, reset_location

__all__ = ["main"]


def main(argv: Sequence[str], *, prog: str) -> int:
    """Parse `argv` and wipe the chosen folder; return the exit code (0, or 2 on bad usage)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Delete every job and task the emulator keeps in a data folder (default: "
        f"the per-user folder the batchtasks command line uses, or ${LOCATION_ENV}).",
    )
    parser.add_argument(
        "--location", metavar="DIR", default=None, help=f"data folder (now {default_location()})"
    )
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    location = Path(args.location).expanduser() if args.location else default_location()
    try:
        deleted = asyncio.run(reset_location(location))
    except Exception as exc:  # an unreadable folder or database: one line, not a traceback
        print(f"{prog}: error: cannot reset {location}: {exc}", file=sys.stderr)
        return 1
    if deleted is None:
        print(f"nothing to reset: no emulator data in {location}", file=sys.stderr)
    else:
        jobs, tasks = deleted
        print(f"deleted {jobs:,} jobs and {tasks:,} tasks from {location}", file=sys.stderr)
    return 0
