"""Checks of the header values a caller can set, before anything is signed or sent.

A header value with CR, LF or NUL would split or end the request on the wire (aiohttp refuses it
only after a connection was opened, with an error that names no option), and a lone surrogate
cannot be encoded for the signature. `check_headers` refuses both with a `ValueError` naming the
option the value came from. Pure; must not import aiohttp.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

__all__ = ["check_headers", "check_link_text"]

# Control characters other than horizontal tab (RFC 9110 §5.5 field values), and DEL.
_FORBIDDEN: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# A header name is an RFC 9110 token.
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

#: The option each header a caller can set comes from (others come from `custom_headers`).
_OPTION_OF: Final = {
    "client-request-id": "client_request_id",
    "ocp-date": "ocp_date",
    "if-match": "if_match",
    "if-none-match": "if_none_match",
    "if-modified-since": "if_modified_since",
    "if-unmodified-since": "if_unmodified_since",
}


def _problem(value: object) -> str | None:
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    found = _FORBIDDEN.search(value)
    if found is not None:
        return f"contains the control character {found.group()!r}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"is not valid Unicode ({exc.reason})"
    return None


def check_headers(headers: Mapping[str, str]) -> None:
    """Refuse header names or values that cannot be sent as they are.

    Raises:
        ValueError: names the option (`client_request_id`, `if_match`, `ocp_date`,
            `custom_headers['X']`, ...) and what is wrong with its value.
    """
    for name, value in headers.items():
        option = _OPTION_OF.get(name, f"custom_headers[{name!r}]")
        if not isinstance(name, str) or _TOKEN.fullmatch(name) is None:
            raise ValueError(f"custom_headers: {name!r} is not a valid header name")
        problem = _problem(value)
        if problem is not None:
            raise ValueError(f"{option} {problem}; header values must be printable text")


def check_link_text(link: str) -> str | None:
    """What makes `link` (a continuation token) unusable, or None if it can be sent."""
    return _problem(link)
