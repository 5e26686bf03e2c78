"""How the CLI fails: its own exception types, exit codes, and one-line messages for any error.

Exit codes: 0 success, 1 task failures or a service/connection error, 2 usage or input errors,
130 interrupted. A message is one line on stderr; the traceback only with ``--debug``.

This module must not import rich or aiohttp, and must never put a credential into a message:
it only formats what the exception carries (the library's errors keep no request headers).
"""

from __future__ import annotations

import batchtasks

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "InputError",
    "UsageError",
    "describe_error",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """An error the CLI reports as one line with a given exit code."""

    exit_code = EXIT_FAILURE


class UsageError(CliError):
    """Bad arguments or configuration (exit code 2)."""

    exit_code = EXIT_USAGE


class InputError(CliError):
    """Bad input data: malformed JSON, an invalid task (exit code 2). The message names where."""

    exit_code = EXIT_USAGE


def _one_line(text: str) -> str:
    return " ".join(text.split())


def describe_error(exc: BaseException) -> tuple[str, int]:
    """Return the one-line message and the exit code for an exception that ended a command.

    Args:
        exc: the exception.

    Returns:
        ``(message, exit_code)``; the message has no trailing newline and no "error:" prefix.
    """
    if isinstance(exc, CliError):
        return _one_line(str(exc)), exc.exit_code
    if isinstance(exc, batchtasks.TaskValidationError):
        return _one_line(str(exc)), EXIT_USAGE
    if isinstance(exc, batchtasks.AuthenticationError):
        return (
            f"authentication failed ({_one_line(str(exc))}); check the account name and key "
            "(--account-name/--account-key or AZURE_BATCH_ACCOUNT/AZURE_BATCH_ACCESS_KEY)",
            EXIT_FAILURE,
        )
    if isinstance(exc, batchtasks.BatchServiceError):
        return _one_line(str(exc)), EXIT_FAILURE
    if isinstance(exc, batchtasks.BatchTimeoutError):
        return f"timed out talking to the Batch service: {_one_line(str(exc))}", EXIT_FAILURE
    if isinstance(exc, batchtasks.BatchConnectionError):
        return f"could not reach the Batch service: {_one_line(str(exc))}", EXIT_FAILURE
    if isinstance(exc, batchtasks.BatchTasksError):
        return _one_line(str(exc)), EXIT_FAILURE
    if isinstance(exc, ValueError):
        # The library's own argument checks (max_results range, concurrency vs pool, ...).
        return f"invalid argument: {_one_line(str(exc))}", EXIT_USAGE
    if isinstance(exc, OSError):
        return _one_line(str(exc)), EXIT_USAGE if isinstance(exc, FileNotFoundError) else 1
    return f"unexpected {type(exc).__name__}: {_one_line(str(exc))}", EXIT_FAILURE
