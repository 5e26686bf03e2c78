"""Checks of single property values shared by task and job bodies: errors, ids, integers,
durations and constraints.

Integers follow the service's JSON reader (OData .NET, ``ODataJsonReaderUtils.ConvertStringValue``:
"for string types, we support conversion to all possible primitive types" via
``Convert.ChangeType(value, Int32, InvariantCulture)``): a JSON number or a string holding a
decimal integer (the Azure CLI sends ``"maxTaskRetryCount": "2"``), within Int32. Durations are
.NET TimeSpans, so at most ``TimeSpan.MaxValue``. Must not touch the store or HTTP.
"""

from __future__ import annotations

import re
from typing import Any

from .constants import DEFAULT_RETENTION, INFINITE_DURATION, MAX_ID_LENGTH
from .errors import ApiError
from .formats import parse_duration

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: What Int32.Parse(s, NumberStyles.Integer, InvariantCulture) reads: optional blanks and sign.
_INT_TEXT = re.compile(r"^[ \t\r\n]*[+-]?[0-9]+[ \t\r\n]*$")
_CONSTRAINT_KEYS = frozenset({"maxWallClockTime", "retentionTime", "maxTaskRetryCount"})


def invalid(name: str, value: object, reason: str | None = None) -> ApiError:
    """An InvalidPropertyValue error naming the property (and why)."""
    values = [("PropertyName", name), ("PropertyValue", short(value))]
    if reason:
        values.append(("Reason", reason))
    return ApiError("InvalidPropertyValue", values)


def missing(name: str) -> ApiError:
    """A MissingRequiredProperty error naming the property."""
    return ApiError("MissingRequiredProperty", [("PropertyName", name)])


def unsupported(name: str) -> ApiError:
    """An UnsupportedProperty error naming the property."""
    return ApiError("UnsupportedProperty", [("PropertyName", name)])


def short(value: object) -> str:
    """A value as text for an error detail, at most 128 characters."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**120:
        return f"{str(value)[:60]}... ({len(str(abs(value)))} digits)"
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 128 else text[:125] + "..."


def int32(value: object) -> int | None:
    """`value` as an Int32 the way the service reads it, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if len(value) > 64 or not _INT_TEXT.match(value):
            return None
        value = int(value)
    if not isinstance(value, int) or not INT32_MIN <= value <= INT32_MAX:
        return None
    return value


def integer(
    value: object, name: str, low: int = INT32_MIN, high: int = INT32_MAX, reason: str = ""
) -> int:
    """An Int32 property in ``low..high``.

    Raises:
        ApiError: InvalidPropertyValue.
    """
    number = int32(value)
    if number is None or not low <= number <= high:
        raise invalid(name, value, reason or f"Must be an integer in {low}..{high}.")
    return number


def check_id(value: object, name: str = "id") -> str:
    """Validate a task/job id: 1..64 characters of letters, digits, ``-`` and ``_``.

    Raises:
        ApiError: MissingRequiredProperty or InvalidPropertyValue.
    """
    if value is None:
        raise missing(name)
    if not isinstance(value, str) or not _ID_RE.match(value):
        reason = (
            f"The id exceeds {MAX_ID_LENGTH} characters."
            if isinstance(value, str) and len(value) > MAX_ID_LENGTH
            else "The id may contain only letters, digits, hyphens and underscores."
        )
        raise invalid(name, value, reason)
    return value


def duration(obj: dict[str, Any], key: str, prefix: str) -> str | None:
    """An optional ISO 8601 duration property (None when absent).

    Raises:
        ApiError: InvalidPropertyValue (not a duration, or beyond TimeSpan.MaxValue).
    """
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or parse_duration(value) is None:
        raise invalid(f"{prefix}.{key}", value, "Not a valid ISO 8601 duration.")
    return value


def constraints(raw: object, *, job_retry: int = 0, prefix: str = "constraints") -> dict[str, Any]:
    """Resolve task constraints, filling the service defaults for absent keys.

    Raises:
        ApiError: wrong type or invalid value.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise invalid(prefix, raw, "Expected an object.")
    unknown = set(raw) - _CONSTRAINT_KEYS
    if unknown:
        raise unsupported(f"{prefix}.{sorted(unknown)[0]}")
    retry = raw.get("maxTaskRetryCount")
    retry = job_retry if retry is None else retry
    return {
        "maxWallClockTime": duration(raw, "maxWallClockTime", prefix) or INFINITE_DURATION,
        "retentionTime": duration(raw, "retentionTime", prefix) or DEFAULT_RETENTION,
        "maxTaskRetryCount": integer(
            retry, f"{prefix}.maxTaskRetryCount", -1, reason="Must be an integer >= -1."
        ),
    }
