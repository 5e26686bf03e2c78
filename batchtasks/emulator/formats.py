"""Wire formats of dates and durations as the Batch service writes them.

Pure functions only (no I/O). Body dates are ISO 8601 UTC with 7 fractional digits and ``Z``
(``2016-09-06T07:02:44.7589958Z``); header dates are RFC 1123 (``Tue, 01 Oct 2024 12:00:00 GMT``).
Stored dates use the body format, which sorts lexicographically in time order — the SQL filters
rely on that.
"""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timedelta, timezone

_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})?$"
)
#: .NET TimeSpan.MaxValue in seconds: the service reads durations into TimeSpans.
TIMESPAN_MAX_SECONDS = 922_337_203_685.4775807
#: DateTimeOffset allows offsets of at most 14 hours.
_MAX_OFFSET_MINUTES = 14 * 60
_DURATION_RE = re.compile(r"^P(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def utcnow() -> datetime:
    """Return the current wall-clock time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def iso7(when: datetime) -> str:
    """Format an aware datetime as the service's body date (7 fractional digits, ``Z``)."""
    utc = when.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}0Z"


def parse_iso(text: str) -> datetime | None:
    """Parse an ISO 8601 date-time (up to 7 fractional digits, ``Z`` or offset); None if invalid.

    A value without a zone is taken as UTC, as OData filters on the service do.
    """
    m = _ISO_RE.match(text.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    micro = int((frac or "0").ljust(7, "0")[:6])
    try:
        value = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=timezone.utc,
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if minutes > 59 or hours * 60 + minutes > _MAX_OFFSET_MINUTES:
            return None  # e.g. +99:99: no such offset (DateTimeOffset allows -14:00..+14:00)
        try:
            value -= sign * timedelta(hours=hours, minutes=minutes)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before datetime.min
            return None
    return value


def rfc1123(when: datetime) -> str:
    """Format an aware datetime as an RFC 1123 header date (second precision, GMT)."""
    return email.utils.format_datetime(when.astimezone(timezone.utc).replace(microsecond=0), True)


def parse_rfc1123(text: str) -> datetime | None:
    """Parse an RFC 1123 header date; None when it is not one."""
    try:
        value = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if value is None:  # pragma: no cover - older Pythons returned None
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


def parse_duration(text: str) -> float | None:
    """Parse an ISO 8601 duration of days/hours/minutes/seconds into seconds; None if invalid.

    A duration beyond .NET ``TimeSpan.MaxValue`` (``P10675199DT2H48M5.4775807S``) is invalid: the
    service cannot hold it.
    """
    if len(text) > 64:  # TimeSpan.MaxValue needs 26 characters; no need to read 400 digits
        return None
    m = _DURATION_RE.match(text)
    if m is None or text == "P":
        return None
    days, hours, minutes, seconds = m.groups()
    total = (int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60) + float(
        seconds or 0
    )
    # The float rounding of MaxValue itself must still pass.
    return total if total <= TIMESPAN_MAX_SECONDS + 1e-3 else None


def seconds_to_duration(seconds: float) -> str:
    """Format seconds as an ISO 8601 duration (``PT1H2M3.5S``) for statistics fields."""
    whole = int(seconds)
    frac = seconds - whole
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT"
    if hours:
        out += f"{hours}H"
    if minutes:
        out += f"{minutes}M"
    if secs or frac or out == "PT":
        out += f"{secs + frac:.7f}".rstrip("0").rstrip(".") + "S"
    return out
