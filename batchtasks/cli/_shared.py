"""Helpers that several CLI command modules use (`_commands`, `_bulk`): account from flags,
one-line validation messages.

Kept apart so that the command modules import it and never each other (no import circle).
Must use only the public API and never print the account key.
"""

from __future__ import annotations

import argparse
from typing import Any

from pydantic import ValidationError

from batchtasks.cli._account import AccountSettings, resolve_account
from batchtasks.cli._debug import mask_secret
from batchtasks.cli._durations import DURATION_HINT

__all__ = ["describe_validation_error", "settings_from_args"]


def settings_from_args(args: argparse.Namespace) -> AccountSettings:
    """Resolve the account from the parsed flags and the environment (and mask the key)."""
    settings = resolve_account(
        endpoint=getattr(args, "account_endpoint", None),
        account_name=getattr(args, "account_name", None),
        key=getattr(args, "account_key", None),
        allow_insecure_http=bool(getattr(args, "allow_insecure_http", False)),
    )
    mask_secret(settings.key)
    return settings


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each invalid field by its wire path (``constraints.maxTaskRetryCount``)."""
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "task"
        parts.append(f"{where}: {_error_message(error)}")
    more = len(exc.errors()) - 3
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def _error_message(error: Any) -> str:
    """pydantic's message for one error, in words for people: durations show the ISO form, and
    a validator's own message loses pydantic's ``Value error,`` prefix."""
    kind = str(error.get("type", ""))
    if kind.startswith(("time_delta", "duration")):
        return f"expected {DURATION_HINT}"
    message = str(error.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message
