"""How a command prints what it got: a list, one record, or a closing line on stderr.

Shared by every command module (`_commands`, `_files`, ...), so none imports another. Must use
only the public API.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

from batchtasks.cli._render import write_json, write_json_items, write_record, write_table

__all__ = ["done", "print_list", "print_one"]


async def print_list(
    items: AsyncIterator[Any], args: argparse.Namespace, columns: Sequence[str], what: str
) -> None:
    """Items as JSON lines (``-o json``) or a table of `columns` (``--select`` overrides).

    An empty table is one line that says so (``no tasks``), not an empty frame.
    """
    if args.output == "json":
        await write_json_items(items)
        return
    select = getattr(args, "select", None)
    if select:
        columns = [name.strip() for name in select.split(",") if name.strip()]
    rows = [item async for item in items]
    if not rows:
        matching = f" matching {args.filter!r}" if getattr(args, "filter", None) else ""
        print(f"no {what}{matching}", flush=True)
        return
    write_table(rows, columns)


def print_one(obj: Any, args: argparse.Namespace, title: str) -> None:
    """One record as JSON or as a titled table."""
    if args.output == "json":
        write_json(obj)
    else:
        write_record(obj, title=title)


def done(message: str) -> None:
    """A closing line for the user, on stderr."""
    print(message, file=sys.stderr, flush=True)
