"""``batchtasks task files list|get|show|delete``: a task's files (stdout.txt, stderr.txt, wd/...).

`add_file_commands` declares the verbs (argparse only); `run_files` runs one with the public
client: ``get`` streams the bytes to a file (written beside it and renamed when complete) or to
stdout, never holding the file in memory. Must not import rich or the client at module level.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from batchtasks.cli._errors import EXIT_OK
from batchtasks.cli._output import done as _done
from batchtasks.cli._output import print_list as _print_list
from batchtasks.cli._output import print_one as _print_one

if TYPE_CHECKING:
    from batchtasks import BatchClient

__all__ = ["FILE_COLUMNS", "add_file_commands", "run_files"]

FILE_COLUMNS = (
    "name",
    "isDirectory",
    "properties/contentLength",
    "properties/lastModified",
    "properties/fileMode",
)


def add_file_commands(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    add_ids: Any,
) -> None:
    """Add ``files`` and its verbs under ``task``.

    Args:
        verbs: the ``task`` sub-command table.
        common: the parent parser of the shared options (account, output, debug).
        add_ids: the parser module's ``--job-id``/``--task-id`` adder.
    """
    files = verbs.add_parser(
        "files",
        help="List, download, show or delete a task's files (stdout.txt, stderr.txt, wd/...).",
        description="A task's files on its compute node: stdout.txt, stderr.txt, wd/...",
    )
    file_verbs = files.add_subparsers(dest="file_verb", required=True, metavar="VERB")

    p = file_verbs.add_parser("list", parents=[common], help="List a task's files.")
    add_ids(p, task=True)
    p.add_argument("--recursive", action="store_true", help="Include sub-directories.")
    p.add_argument("--filter", metavar="ODATA", help="e.g. \"startswith(name,'wd/')\".")
    p.add_argument("--max-results", type=int, metavar="N", help="Page size (1..1000).")

    p = file_verbs.add_parser(
        "get", parents=[common], help="Download a file (streamed) to a file or stdout."
    )
    add_ids(p, task=True)
    p.add_argument("--file-path", required=True, help="Path in the task directory.")
    p.add_argument(
        "--destination", default="-", metavar="FILE", help="Where to write ('-': stdout)."
    )
    p.add_argument("--range", metavar="BYTES", help="Only these bytes, e.g. bytes=0-1023.")

    p = file_verbs.add_parser("show", parents=[common], help="Show a file's properties.")
    add_ids(p, task=True)
    p.add_argument("--file-path", required=True, help="Path in the task directory.")

    p = file_verbs.add_parser("delete", parents=[common], help="Delete a file or directory.")
    add_ids(p, task=True)
    p.add_argument("--file-path", required=True, help="Path in the task directory.")
    p.add_argument("--recursive", action="store_true", help="Delete a directory's contents.")


async def run_files(args: argparse.Namespace, client: BatchClient) -> int:
    """Run ``task files <verb>``."""

    files = client.files
    verb = args.file_verb
    if verb == "list":
        pager = files.list_from_task(
            args.job_id,
            args.task_id,
            recursive=args.recursive,
            filter=args.filter,
            max_results=args.max_results,
        )
        await _print_list(pager, args, FILE_COLUMNS, f"files of task {args.task_id!r}")
    elif verb == "show":
        properties = await files.get_properties_from_task(args.job_id, args.task_id, args.file_path)
        _print_one(properties, args, f"{args.file_path} of task {args.task_id}")
    elif verb == "delete":
        await files.delete_from_task(
            args.job_id, args.task_id, args.file_path, recursive=args.recursive
        )
        _done(f"deleted {args.file_path!r} of task {args.task_id!r}")
    else:
        async with files.get_from_task(
            args.job_id, args.task_id, args.file_path, ocp_range=args.range
        ) as download:
            if args.destination == "-":
                out = sys.stdout.buffer
                async for chunk in download:
                    await asyncio.to_thread(out.write, chunk)
                await asyncio.to_thread(out.flush)
            else:
                written = await download.to_file(args.destination)
                _done(f"wrote {written} bytes to {args.destination}")
    return EXIT_OK
