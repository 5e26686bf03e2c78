"""Output of the CLI: tables (rich) for people, JSON for programs.

JSON output is the service's own shape (camelCase keys, as the REST API and ``--json-file``
use), so what ``task list --output json`` prints can be fed back. Lists are written element by
element, never collected first. Tables need rich, which is imported only here and only when a
table or progress bar is actually drawn: the package must import without it.

This module must not talk to the service.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterable, Collection, Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any, TextIO

from batchtasks.cli._errors import UsageError

__all__ = [
    "INSTALL_HINT",
    "flatten",
    "require_rich",
    "rich_available",
    "to_jsonable",
    "write_json",
    "write_json_items",
    "write_record",
    "write_table",
]

INSTALL_HINT = "pip install 'batchtasks[cli]'"


def require_rich() -> ModuleType:
    """Import rich, or fail with the one-line install hint.

    Returns:
        The `rich` module (its submodules are imported by the callers that need them).

    Raises:
        UsageError: rich is not installed.
    """
    try:
        import rich
        import rich.console
        import rich.progress
        import rich.table
    except ImportError:
        raise UsageError(
            f"tables and progress bars need rich: {INSTALL_HINT} (or use --output json)"
        ) from None
    return rich


def rich_available() -> bool:
    """True when rich can be imported (progress bars are then drawn even with JSON output)."""
    try:
        require_rich()
    except UsageError:
        return False
    return True


def to_jsonable(obj: Any) -> Any:
    """Return plain JSON data for a model (its wire form: camelCase, no nulls) or a plain value."""
    to_wire = getattr(obj, "to_wire", None)
    if callable(to_wire):
        return to_wire()
    return obj


def write_json(obj: Any, out: TextIO | None = None) -> None:
    """Write one JSON document (indented, UTF-8 as is) and a newline."""
    out = out or sys.stdout
    out.write(json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False))
    out.write("\n")
    out.flush()


async def write_json_items(items: AsyncIterable[Any], out: TextIO | None = None) -> int:
    """Write a JSON array element by element as items arrive; return how many were written.

    Nothing is written until the first item (or the end) has arrived, so that an error on the
    first page (JobNotFound, ...) leaves stdout empty rather than holding a lone ``[``.
    """
    out = out or sys.stdout
    iterator = aiter(items)
    try:
        first = await anext(iterator)
    except StopAsyncIteration:
        out.write("[]\n")
        out.flush()
        return 0
    out.write("[\n  " + json.dumps(to_jsonable(first), ensure_ascii=False))
    count = 1
    async for item in iterator:
        out.write(",\n  " + json.dumps(to_jsonable(item), ensure_ascii=False))
        count += 1
    out.write("\n]\n")
    out.flush()
    return count


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested objects into OData-style paths (``executionInfo/exitCode``).

    Lists stay whole (shown as compact JSON by the table writers).
    """
    flat: dict[str, Any] = {}
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, path + "/"))
        else:
            flat[path] = value
    return flat


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _console(out: TextIO | None) -> Any:
    rich = require_rich()
    return rich.console.Console(file=out or sys.stdout, soft_wrap=False, highlight=False)


def write_table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    out: TextIO | None = None,
    show_header: bool = True,
    whole: Collection[str] = (),
) -> int:
    """Draw rows as a rich table with the given columns (flattened paths); return the row count.

    Columns named in `whole` (ids, codes) are never broken across lines; the others fold.
    """
    rich = require_rich()
    table = rich.table.Table(title=title, show_header=show_header)
    for column in columns:
        if column in whole:
            table.add_column(column, no_wrap=True)
        else:
            table.add_column(column, overflow="fold", ratio=1)
    count = 0
    for row in rows:
        flat = flatten(to_jsonable(row))
        table.add_row(*(_cell(flat.get(column)) for column in columns))
        count += 1
    _console(out).print(table)
    return count


def write_record(record: Any, *, title: str | None = None, out: TextIO | None = None) -> None:
    """Draw one resource as a two-column property/value table."""
    rich = require_rich()
    table = rich.table.Table(title=title, show_header=True)
    table.add_column("property", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in flatten(to_jsonable(record)).items():
        table.add_row(key, _cell(value))
    _console(out).print(table)
