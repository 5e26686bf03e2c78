"""ISO 8601 durations on the command line (``PT1H``), with a suggestion for the usual slips.

The service takes durations in ISO 8601 form only (``maxWallClockTime: "PT1H"``); people type
``1h`` or ``90m``. `iso_duration` is an argparse type that accepts the ISO form and, for a short
form it recognises, names the ISO spelling in its error. Must not import rich.
"""

from __future__ import annotations

import argparse
import re

__all__ = ["DURATION_HINT", "iso_duration"]

#: Shown wherever a duration is refused.
DURATION_HINT = "an ISO 8601 duration such as PT1H (1 hour), PT30M, PT45S, P1D or P1DT12H"

_NUMBER = r"\d+(?:\.\d+)?"
_ISO = re.compile(
    rf"P(?=\d|T\d)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?",
    re.IGNORECASE,
)
_SHORT = re.compile(r"(\d+)\s*(d|days?|h|hours?|hrs?|m|mins?|minutes?|s|secs?|seconds?)", re.I)


def _suggestion(text: str) -> str | None:
    """The ISO spelling of a short form such as ``1h`` or ``2 days``, if it is one."""
    match = _SHORT.fullmatch(text.strip())
    if match is None:
        return None
    number, unit = match.group(1), match.group(2)[0].lower()
    return f"P{number}D" if unit == "d" else f"PT{number}{unit.upper()}"


def iso_duration(text: str) -> str:
    """argparse type: `text` if it is an ISO 8601 duration, else an error that shows the form.

    Raises:
        argparse.ArgumentTypeError: not an ISO 8601 duration.
    """
    if _ISO.fullmatch(text.strip()):
        return text.strip().upper()
    suggestion = _suggestion(text)
    hint = f" (did you mean {suggestion}?)" if suggestion else ""
    raise argparse.ArgumentTypeError(f"{text!r} is not {DURATION_HINT}{hint}")
