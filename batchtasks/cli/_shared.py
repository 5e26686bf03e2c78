"""Helpers that several CLI command modules use (`_commands`, `_bulk`, `_files`, `_wait`):
account from flags, one-line validation messages, printing results.

Kept apart so that the command modules import it and never each other (no import circle).
Must use only the public API and never print the account key.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pydantic import ValidationError

from batchtasks.cli._account import AccountSettings, resolve_account
from batchtasks.cli._debug import mask_secret
from batchtasks.cli._render import write_json, write_json_items, write_record, write_table

__all__ = [
    "describe_validation_error",
    "print_done",
    "print_list",
    "print_one",
    "settings_from_args",
]


def settings_from_args(args: argparse.Namespace) -> AccountSettings:
    """Resolve the account from the parsed flags and the environment (and mask the key)."""
    settings = resolve_account(
        endpoint=getattr(args, "account_endpoint", None),
        account_name=getattr(args, "account_name", None),
        key=getattr(args, "account_key", None),
    )
    mask_secret(settings.key)
    return settings


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each invalid field by its wire path (``constraints.maxTaskRetryCount``)."""
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "task"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    more = len(exc.errors()) - 3
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


async def print_list(
    items: AsyncIterator[Any], args: argparse.Namespace, columns: Sequence[str]
) -> None:
    """Print `items` as JSON lines (``--output json``) or a table of `columns` (``--select``)."""
    if args.output == "json":
        await write_json_items(items)
        return
    select = getattr(args, "select", None)
    if select:
        columns = [name.strip() for name in select.split(",") if name.strip()]
    rows = [item async for item in items]
    write_table(rows, columns)


def print_one(obj: Any, args: argparse.Namespace, title: str) -> None:
    """Print one object as JSON or as a titled record."""
    if args.output == "json":
        write_json(obj)
    else:
        write_record(obj, title=title)


def print_done(message: str) -> None:
    """Say on stderr that a command did what it was asked."""
    print(message, file=sys.stderr, flush=True)
