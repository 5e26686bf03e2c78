"""``--debug`` for the CLI: the `batchtasks` logger at DEBUG on stderr, with secrets masked.

The library never logs keys or Authorization headers; the mask here is a second line of defence
so that not even a mistake elsewhere can print a key the CLI was given. Must not import rich.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["SecretMask", "enable_debug_logging", "mask_secret"]

_MASK = "***"


class SecretMask(logging.Filter):
    """Replace every registered secret in a record's final message with ``***``."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            masked = message
            for secret in self.secrets:
                masked = masked.replace(secret, _MASK)
            if masked != message:
                record.msg = masked
                record.args = None
        return True


_mask = SecretMask()


def mask_secret(secret: str | None) -> None:
    """Register a secret (an account key) that must never appear in log output."""
    if secret:
        _mask.secrets.add(secret)


def enable_debug_logging() -> logging.Handler:
    """Send the `batchtasks` logger's records at DEBUG and above to stderr.

    Returns:
        The handler added (so callers, e.g. tests, can remove it).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_mask)
    logger = logging.getLogger("batchtasks")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return handler
