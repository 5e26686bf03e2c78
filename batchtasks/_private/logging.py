"""Logger selection for the client (the `logging=` option of `BatchClient`).

Only decides *which* logger receives the client's records. What is logged, and the rule that
no header (Authorization above all), key or token is ever logged, lives with the code that logs
(the transport). Must not configure handlers or levels: that is the application's job.
"""

from __future__ import annotations

import logging
from typing import Final

__all__ = ["LOGGER_NAME", "LoggingOption", "resolve_logger"]

#: Name of the library's logger; per-request lines go to its child `batchtasks.http`.
LOGGER_NAME: Final = "batchtasks"

LoggingOption = bool | logging.Logger | None


def resolve_logger(option: LoggingOption) -> logging.Logger | None:
    """Map the `logging=` option to a logger.

    Args:
        option: True (default) for `logging.getLogger("batchtasks.http")`, a `Logger` to use it,
            False/None for no request logging at all.

    Returns:
        The logger, or None when request logging is off.
    """
    if option is True:
        return logging.getLogger(f"{LOGGER_NAME}.http")
    if isinstance(option, logging.Logger):
        return option
    if option is False or option is None:
        return None
    raise TypeError("logging must be True, False or a logging.Logger")
