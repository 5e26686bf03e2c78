"""Shared configuration and wire-format scalar types for every ``batchtasks.models`` model.

What lives here:

* :class:`BatchModel` - the one base class (snake_case attributes, the service's camelCase keys as
  aliases, unknown keys kept and round-tripped, ``to_wire`` / ``to_json_bytes`` / ``from_wire``).
* :class:`CaseInsensitiveEnum` and :data:`Tolerant` - enum values compared case-insensitively;
  values a newer service sends that we do not know are kept as plain ``str`` instead of rejected.
* :data:`Duration` - ISO 8601 durations parsed to ``timedelta`` and written back exactly as msrest
  (``isodate.duration_isoformat``) writes them, except the .NET ``TimeSpan.MaxValue`` "infinite"
  value, which is written back verbatim.
* :data:`UtcDateTime` - date-times (up to 7 fractional digits and ``Z``) normalised to aware UTC and
  written as ISO 8601 with ``Z``.

This module must not know about any particular model, and must not do I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Annotated, Any, TypeVar, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel
from typing_extensions import Self

__all__ = [
    "INFINITE_DURATION",
    "INFINITE_DURATION_WIRE",
    "BatchModel",
    "CaseInsensitiveEnum",
    "Duration",
    "Tolerant",
    "UtcDateTime",
    "format_duration",
]

# .NET TimeSpan.MaxValue: the service's value for "no limit" (maxWallClockTime, retentionTime).
INFINITE_DURATION_WIRE = "P10675199DT2H48M5.4775807S"
# The same value as Python sees it: timedelta keeps microseconds, so .4775807 rounds up to .477581.
INFINITE_DURATION = timedelta(days=10675199, seconds=10085, microseconds=477581)


class CaseInsensitiveEnum(str, Enum):
    """A ``str`` enum whose lookup by value ignores case (``"Success"`` -> ``SUCCESS``).

    pydantic-core calls ``_missing_`` only when the exact value is not found, so the common,
    correctly-cased path stays entirely in Rust.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            folded = value.casefold()
            for member in cls:
                if member.value.casefold() == folded:
                    return member
        return None

    def __str__(self) -> str:
        return str(self.value)


_E = TypeVar("_E", bound=Enum)

# An enum-typed field that also accepts values we do not know yet (kept as the raw string), so a
# newer service version never makes a response unparseable. left_to_right: try the enum first
# (exact, then case-insensitive via _missing_), fall back to str.
Tolerant = Annotated[Union[_E, str], Field(union_mode="left_to_right")]  # noqa: UP007


def format_duration(value: timedelta) -> str:
    """Format a ``timedelta`` as an ISO 8601 duration, the way msrest does.

    msrest uses ``isodate.duration_isoformat``: days, then ``T`` with hours/minutes/seconds, zero
    components left out, fractional seconds without trailing zeros, ``P0D`` for zero, a leading
    ``-`` for negative values. One deliberate difference: any value at or above the service's
    "infinite" ``TimeSpan.MaxValue`` is written as that exact string, because the rounded
    microsecond form (``...5.477581S``) is larger than ``TimeSpan.MaxValue`` and would overflow.

    Args:
        value: the duration.

    Returns:
        The ISO 8601 duration string.
    """
    if value >= INFINITE_DURATION:
        return INFINITE_DURATION_WIRE
    usecs = abs((value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds)
    seconds, usecs = divmod(usecs, 1_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = []
    if days:
        parts.append(f"{days}D")
    if hours or minutes or seconds or usecs:
        parts.append("T")
        if hours:
            parts.append(f"{hours}H")
        if minutes:
            parts.append(f"{minutes}M")
        if seconds or usecs:
            if usecs:
                parts.append(f"{seconds}.{usecs:06d}".rstrip("0"))
            else:
                parts.append(f"{seconds}")
            parts.append("S")
    body = "".join(parts) or "0D"
    return ("-P" if value < timedelta(0) else "P") + body


# Bulk adds serialize the same few durations (e.g. one maxWallClockTime) for every task: a lookup
# is several times cheaper than formatting. Bounded, so arbitrary values cannot grow it forever.
_DURATION_CACHE_SIZE = 256


class _DurationCache(dict[timedelta, str]):
    """`format_duration` per value. A hit is `dict.__getitem__` itself, so pydantic-core's call
    runs no Python frame; only a miss runs `__missing__`."""

    def __missing__(self, value: timedelta) -> str:
        text = format_duration(value)
        if len(self) >= _DURATION_CACHE_SIZE:
            self.clear()
        self[value] = text
        return text


_DURATION_CACHE = _DurationCache()
_format_duration_cached = _DURATION_CACHE.__getitem__


# pydantic-core parses ISO 8601 durations (incl. 7 fractional digits) itself; only the output needs
# a Python function, and only in JSON mode.
Duration = Annotated[
    timedelta, PlainSerializer(_format_duration_cached, return_type=str, when_used="json")
]


def _to_utc(value: datetime) -> datetime:
    # msrest treats naive datetimes as UTC; do the same so the wire always carries an explicit Z.
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    if value.tzinfo is timezone.utc:
        return value
    if value.utcoffset() == timedelta(0):
        # pydantic-core parses "Z" to its own TzInfo(0); use the stdlib object so callers can
        # rely on ``dt.tzinfo is timezone.utc``.
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _format_datetime(value: datetime) -> str:
    return _to_utc(value).isoformat().replace("+00:00", "Z")


# pydantic-core's own parser (not datetime.fromisoformat) accepts 7 fractional digits and Z on
# every Python version; the 7th digit is dropped (microsecond precision).
UtcDateTime = Annotated[
    datetime,
    AfterValidator(_to_utc),
    PlainSerializer(_format_datetime, return_type=str, when_used="json"),
]


class BatchModel(BaseModel):
    """Base of every wire model: camelCase aliases, unknown keys kept, no nulls on the wire.

    Attributes are snake_case; construction accepts either the attribute names or the wire keys.
    Keys the service sends that a model does not declare (``odata.metadata``, fields of newer
    api-versions) are kept in ``model_extra`` and written back by :meth:`to_wire`.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="allow",
    )

    def to_wire(self) -> dict[str, Any]:
        """Return the JSON-compatible body: wire keys, only fields that are set, no nulls.

        Returns:
            A dict of JSON types (str, int, float, bool, list, dict).
        """
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_json_bytes(self) -> bytes:
        """Return the compact UTF-8 JSON body exactly as it is sent (and measured).

        Non-ASCII characters are written as UTF-8, not ``\\uXXXX`` escapes.

        Returns:
            The encoded JSON document.
        """
        return self.__pydantic_serializer__.to_json(self, by_alias=True, exclude_none=True)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any] | bytes | str) -> Self:
        """Parse a service JSON body (raw bytes/str or an already-decoded mapping).

        Args:
            data: the JSON document or the decoded object.

        Returns:
            The model instance.

        Raises:
            pydantic.ValidationError: the body does not fit the model.
        """
        if isinstance(data, (bytes, bytearray, str)):
            return cls.model_validate_json(data)
        if not isinstance(data, dict):
            data = dict(data)
        return cls.model_validate(data)
