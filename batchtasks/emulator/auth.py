"""Shared Key (and optional dev-mode Bearer) verification of incoming requests.

Rebuilds the string-to-sign exactly as the service and the official SDKs do (fact sheet §9) from
the headers, path and query *as received*, and compares signatures in constant time. Must never
put the key, the expected signature or the received signature into an error message or a log.
Must not import the client's signing code: the two sides are checked against each other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs

from .constants import MAX_CLOCK_SKEW_SECONDS
from .errors import ApiError
from .formats import parse_rfc1123

#: The 11 standard headers signed by value, in this order (names compared case-insensitively).
SIGNED_HEADERS = (
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


def string_to_sign(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    account: str,
    *,
    overrides: Mapping[str, str] | None = None,
    ocp_case_sensitive: bool = False,
) -> str:
    """Build the Shared Key string-to-sign of a request.

    Args:
        method: HTTP verb as sent.
        raw_path: URL path exactly as sent (percent-encoded, no query).
        raw_query: raw query string (without ``?``).
        headers: received headers; a case-insensitive mapping or one with lower-case names.
        account: account name used in the canonical resource.
        overrides: values to sign in some of the 11 standard slots instead of the received
            header (lower-case names), e.g. ``{"content-length": "0"}`` for clients that sign
            ``0`` for a body-less request without sending the header.
        ocp_case_sensitive: select ``ocp-`` headers by a case-sensitive match on the header name
            as received, exactly like azure-batch 14.2/15.1 (an ``Ocp-Date`` header is then not
            signed); by default names are lower-cased first.

    Returns:
        The string the client must have signed.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    parts = [method.upper()]
    replaced = overrides or {}
    for name in SIGNED_HEADERS:
        parts.append(replaced.get(name, lowered.get(name, "")))
    if ocp_case_sensitive:
        ocp = sorted((k.lower(), v) for k, v in headers.items() if "ocp-" in k and v)
    else:
        ocp = sorted((k, v) for k, v in lowered.items() if "ocp-" in k and v)
    text = "\n".join(parts) + "\n"
    for name, value in ocp:
        text += f"{name}:{value}\n"
    text += f"/{account}{raw_path}"
    query = parse_qs(raw_query, keep_blank_values=False)
    for name in sorted(query):
        text += f"\n{name}:{query[name][0]}"
    return text


def sign(string: str, key: str) -> str:
    """Return base64(HMAC-SHA256(base64decode(key), UTF-8(string)))."""
    digest = hmac.new(base64.b64decode(key), string.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _auth_failed(detail: str) -> ApiError:
    return ApiError("AuthenticationFailed", [("AuthenticationErrorDetail", detail)])


@dataclass(frozen=True)
class AuthConfig:
    """What the emulator accepts.

    Attributes:
        account: the one account name served.
        key: its base64 key (never shown by repr).
        accept_bearer: also accept ``Authorization: Bearer <token>`` (dev mode).
        bearer_token: if set, the only accepted bearer token; otherwise any non-empty token.
        check_skew: reject requests whose ocp-date/Date is more than 15 minutes off.
    """

    account: str
    key: str = field(repr=False)
    accept_bearer: bool = False
    bearer_token: str | None = field(default=None, repr=False)
    check_skew: bool = True

    def __post_init__(self) -> None:
        # Checked once here: a key that is not base64 would otherwise answer every request 500.
        try:
            decoded = base64.b64decode(self.key, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the account key must be base64 (the value is not shown)") from None
        if not decoded:
            raise ValueError("the account key must not be empty")


def verify(
    config: AuthConfig,
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    now: datetime,
) -> None:
    """Check a request's Authorization header.

    Args:
        config: accepted account/key/bearer settings.
        method: HTTP verb.
        raw_path: path as sent.
        raw_query: query string as sent.
        headers: received headers (case-insensitive mapping).
        now: current wall-clock time for the skew check.

    Raises:
        ApiError: 401 AuthenticationFailed when Authorization is missing, 400
            InvalidAuthenticationInfo when it is malformed, 403 AuthenticationFailed when the
            credentials or the request date are wrong.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    auth = lowered.get("authorization")
    if not auth:
        raise ApiError(
            "AuthenticationFailed",
            [("AuthenticationErrorDetail", "The Authorization header is missing.")],
            status=401,
            headers={"WWW-Authenticate": "SharedKey"},
        )
    scheme, _, credentials = auth.partition(" ")
    if scheme == "Bearer":
        _verify_bearer(config, credentials.strip())
        return
    if scheme != "SharedKey":
        raise ApiError("InvalidAuthenticationInfo")
    account, sep, signature = credentials.strip().rpartition(":")
    if not sep or not account or not signature:
        raise ApiError("InvalidAuthenticationInfo")
    try:
        received = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("InvalidAuthenticationInfo") from None
    if len(received) != hashlib.sha256().digest_size:
        raise ApiError("InvalidAuthenticationInfo")
    _check_date(config, lowered, now)
    if account != config.account:
        raise _auth_failed("The account name in the Authorization header is not valid.")
    # Besides the plain reading of §9, accept the few variants real clients produce.
    lengths: list[dict[str, str]] = [{}]
    if method.upper() not in ("GET", "HEAD") and "content-length" not in lowered:
        # azure-batch 15.x signs "0" for body-less non-GET requests even when it sends no header.
        lengths.append({"content-length": "0"})
    dates: list[dict[str, str]] = [{}]
    if lowered.get("date") and lowered.get("ocp-date"):
        # The REST docs: with ocp-date present, the Date slot is signed empty.
        dates.append({"date": ""})
    modes = [False]
    if any("ocp-" in k.lower() and "ocp-" not in k for k in headers):
        # A capitalised `Ocp-Date` is left out of the signature by the official SDKs (quirk c).
        modes.append(True)
    ok = False
    for length, date, case_sensitive in itertools.product(lengths, dates, modes):
        expected = sign(
            string_to_sign(
                method,
                raw_path,
                raw_query,
                headers,
                config.account,
                overrides={**length, **date},
                ocp_case_sensitive=case_sensitive,
            ),
            config.key,
        )
        ok |= hmac.compare_digest(base64.b64decode(expected), received)
    if not ok:
        raise _auth_failed(
            "The MAC signature found in the HTTP request is not the same as any computed signature."
        )


def _verify_bearer(config: AuthConfig, token: str) -> None:
    if not config.accept_bearer:
        raise _auth_failed(
            "Bearer tokens are not accepted (start the emulator with --accept-bearer)."
        )
    if not token:
        raise ApiError("InvalidAuthenticationInfo")
    if config.bearer_token is not None and not hmac.compare_digest(
        token.encode("utf-8"), config.bearer_token.encode("utf-8")
    ):
        raise _auth_failed("The bearer token is not valid.")


def _check_date(config: AuthConfig, lowered: Mapping[str, str], now: datetime) -> None:
    text = lowered.get("ocp-date") or lowered.get("date")
    if not text:
        raise _auth_failed("The request has neither an ocp-date nor a Date header.")
    when = parse_rfc1123(text)
    if when is None:
        raise ApiError(
            "InvalidHeaderValue",
            [
                ("HeaderName", "ocp-date" if "ocp-date" in lowered else "Date"),
                ("HeaderValue", text),
            ],
        )
    if config.check_skew and abs((now - when).total_seconds()) > MAX_CLOCK_SKEW_SECONDS:
        raise _auth_failed("The request time is more than 15 minutes away from the server time.")
