"""The ``batchtasks`` command line (console script and ``python -m batchtasks``).

``main(argv)`` parses the arguments, runs one command and returns its exit code: 0 success,
1 task failures or a service error, 2 usage or input errors, 130 interrupted. Errors are one line
on stderr (``batchtasks: error: ...``); ``--debug`` adds the traceback and the library's DEBUG log.

The CLI uses only the public API (`batchtasks`, `batchtasks.models`, `batchtasks.emulator`).
Importing this package must stay cheap and must not import rich: rich is loaded only when a
table or progress bar is drawn, with an install hint when it is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from batchtasks.cli._errors import EXIT_INTERRUPTED, describe_error

__all__ = ["main"]


def _emulator_argv(argv: Sequence[str]) -> list[str] | None:
    """The arguments after ``emulator`` when that is the command, else None."""
    index = 0
    while index < len(argv) and argv[index] == "--debug":
        index += 1
    if index < len(argv) and argv[index] == "emulator":
        return list(argv[index + 1 :])
    return None


def _run_emulator(argv: list[str]) -> int:
    from batchtasks.emulator.cli import main as emulator_main

    return emulator_main(argv, prog="batchtasks emulator")


def _parse(argv: Sequence[str]) -> argparse.Namespace | int:
    from batchtasks.cli._parser import build_parser

    try:
        return build_parser().parse_args(list(argv))
    except SystemExit as exc:  # --help, --version, or argparse's own usage error (exit 2)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``batchtasks`` command line.

    Args:
        argv: the arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The process exit code.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    emulator_args = _emulator_argv(argv)
    if emulator_args is not None:
        return _run_emulator(emulator_args)
    parsed = _parse(argv)
    if isinstance(parsed, int):
        return parsed
    args = parsed
    debug = bool(getattr(args, "debug", False))
    if debug:
        from batchtasks.cli._debug import enable_debug_logging

        enable_debug_logging()
    try:
        from batchtasks.cli._commands import run_command

        return run_command(args)
    except KeyboardInterrupt:
        print("batchtasks: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`batchtasks task list | head`): stop quietly, and keep Python's
        # own flush at exit from raising again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:
        if debug:
            traceback.print_exc(file=sys.stderr)
        from batchtasks.emulator.safeargs import redact

        message, code = describe_error(exc)
        message = redact(message, argv)  # e.g. an endpoint URL with a key in its user-info
        print(f"batchtasks: error: {message}", file=sys.stderr)
        return code
