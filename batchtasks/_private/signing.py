"""Shared Key request signing for the Batch service (fact sheet §9), as pure functions.

This module computes the StringToSign and its HMAC exactly as `azure.batch.batch_auth.SharedKeyAuth`
(azure-batch 14.2.0) does, from the method, path, query and headers that will actually be sent.
It must not import aiohttp, read clocks (except `format_ocp_date()` without an argument, which
means "now") or hold keys beyond one call: callers pass the exact
bytes-on-the-wire view of a request and get a header value back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from email.utils import format_datetime
from urllib.parse import parse_qs

__all__ = [
    "SIGNED_HEADERS",
    "OcpDateClock",
    "canonical_query_from_url_query",
    "decode_key",
    "format_ocp_date",
    "shared_key_authorization",
    "sign_string",
    "string_to_sign",
]

#: The 11 standard headers whose values (not names) are signed, in this fixed order (§9.1 step 2).
SIGNED_HEADERS: tuple[str, ...] = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)


class OcpDateClock:
    """The `ocp-date` value for the current time, formatted at most once per second.

    The header has whole-second resolution, so every request within one second carries the same
    string, and formatting it (`email.utils.format_datetime`) costs more than the rest of a
    request's header work. The value equals `format_ocp_date(now)` for the clock's `now`.

    Args:
        clock: wall-clock nanoseconds since the epoch (`time.time_ns`: the clock `datetime.now`
            reads, as an int, so the second is floored exactly as `datetime.now` floors it).
    """

    __slots__ = ("_clock", "_second", "_text")

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._second: int | None = None
        self._text = ""

    def __call__(self) -> str:
        """The header value for now."""
        second = self._clock() // 1_000_000_000
        if second != self._second:
            self._text = format_ocp_date(datetime.fromtimestamp(second, timezone.utc))
            self._second = second
        return self._text


def format_ocp_date(when: datetime | None = None) -> str:
    """Format a time as the RFC 1123 `ocp-date` value (`Tue, 01 Oct 2024 12:00:00 GMT`).

    Args:
        when: an aware or naive-UTC datetime; the current time when omitted.

    Returns:
        The header value, always in GMT.
    """
    if when is None:
        return _now_ocp_date()
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return format_datetime(when.astimezone(timezone.utc), usegmt=True)


# The one clock-reading instance (the current time's value is the same for everybody).
_now_ocp_date = OcpDateClock()


def decode_key(key: str) -> bytes:
    """Decode a base64 account key, strictly: whitespace (a key pasted across lines) is ignored,
    any other character outside the base64 alphabet is refused.

    The official SDK drops such characters silently, so ``"nope!"`` would be accepted and fail
    only at the first request, as an authentication error. Refused here, at construction.

    Raises:
        ValueError: the key is not base64 (or empty). The message never contains the key.
    """
    compact = "".join(key.split()) if isinstance(key, str) else key
    try:
        raw = base64.b64decode(compact.encode("utf-8"), validate=True)
    except (binascii.Error, ValueError, AttributeError):
        raise ValueError(
            "the account key is not valid base64 (an Azure Batch key is 88 characters of "
            "A-Z, a-z, 0-9, '+' and '/', ending in '=='; copy it from the portal's Keys page)"
        ) from None
    if not raw:
        raise ValueError("the account key is empty")
    return raw


def canonical_query_from_url_query(raw_query: str) -> list[tuple[str, str]]:
    """Decode a URL query string into the (name, value) pairs the signature covers.

    Mirrors the SDK: `parse_qs` decoding (`%20` and `+` both become a space), names sorted by
    code point, only the first value of a repeated name, empty values skipped.
    """
    return list(_canonical_query(raw_query))


# Every request of an operation has the same query string (e.g. just the api-version): decoding
# it once per distinct string is enough. Bounded, so arbitrary queries cannot grow it forever.
_QUERY_CACHE: dict[str, tuple[tuple[str, str], ...]] = {}
_QUERY_CACHE_SIZE = 128


def _canonical_query(raw_query: str) -> tuple[tuple[str, str], ...]:
    try:
        return _QUERY_CACHE[raw_query]
    except KeyError:
        pass
    parsed = parse_qs(raw_query)
    pairs = tuple((name, parsed[name][0]) for name in sorted(parsed) if parsed[name][0])
    if len(_QUERY_CACHE) >= _QUERY_CACHE_SIZE:
        _QUERY_CACHE.clear()
    _QUERY_CACHE[raw_query] = pairs
    return pairs


def string_to_sign(
    *,
    method: str,
    account_name: str,
    path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
) -> str:
    """Build the Shared Key StringToSign (§9.1).

    Args:
        method: the HTTP verb as sent (upper case).
        account_name: the Batch account name, used as configured.
        path: the URL path exactly as sent (percent-encoded, no query).
        raw_query: the URL query string exactly as sent (without `?`).
        headers: the headers exactly as sent, names in the spelling sent. The `ocp-` match is
            case-sensitive on that spelling, like the SDK (quirk §9.2 c).

    Returns:
        The string to sign; no trailing newline.
    """
    header_list = list(headers)
    # Later duplicates win, as in the dict comprehension of the SDK.
    by_lower_name: dict[str, str] = {name.lower(): value for name, value in header_list if value}
    parts = [method, "\n"]
    for name in SIGNED_HEADERS:
        parts.append(by_lower_name.get(name, ""))
        parts.append("\n")
    ocp = sorted((name.lower(), value) for name, value in header_list if "ocp-" in name and value)
    for name, value in ocp:
        parts.append(f"{name}:{value}\n")
    parts.append(f"/{account_name}{path}")
    for name, value in _canonical_query(raw_query):
        parts.append(f"\n{name}:{value}")
    return "".join(parts)


def sign_string(key: bytes, text: str) -> str:
    """Return base64(HMAC-SHA256(key, UTF-8(text)))."""
    # hmac.digest: the one-shot C implementation of hmac.new(...).digest(), same bytes.
    digest = hmac.digest(key, text.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(digest).decode("ascii")


def shared_key_authorization(
    *,
    account_name: str,
    key: bytes,
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> str:
    """Return the full `Authorization` header value `SharedKey {account}:{signature}`."""
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    text = string_to_sign(
        method=method, account_name=account_name, path=path, raw_query=raw_query, headers=items
    )
    return f"SharedKey {account_name}:{sign_string(key, text)}"
