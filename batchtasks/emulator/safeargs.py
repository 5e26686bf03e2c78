"""An `argparse.ArgumentParser` whose usage errors never echo a secret.

argparse repeats what it could not use: ``--acount-key KEY`` (a typo) gives "unrecognized
arguments: --acount-key KEY", and an invalid value is quoted back. `SecretSafeArgumentParser`
masks, in every error it prints, the values given to options whose names speak of a secret
(key, token, secret, password, signature, credential, sas — typos included, since they keep the
word) and the user-info part of any URL (``ftp://acct:KEY@host`` -> ``ftp://***@host``).

It lives in the emulator package, which needs only the standard library, so that both command
lines use it (the ``batchtasks`` CLI may import the emulator; the emulator must not import the
client side). Must not import `batchtasks._private` or `batchtasks.models`.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Sequence
from typing import Any, Final, NoReturn

__all__ = ["SecretSafeArgumentParser", "redact"]

_SECRET_WORDS: Final = (
    "key",
    "token",
    "bearer",
    "secret",
    "password",
    "passwd",
    "signature",
    "sas",
    "cred",
)
# Up to the last "@" of the URL: a key may hold "/" (base64), which ends no user-info here.
_URL_USERINFO: Final = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s'\"]*@")
#: How close a mistyped option must be to a secret option to be treated as one (difflib ratio).
_TYPO_CUTOFF: Final = 0.6
#: Values shorter than this are not masked (they protect nothing, and masking them mangles text).
_MIN_SECRET: Final = 4
MASK: Final = "***"


def _speaks_of_a_secret(option: str, secret_options: Sequence[str] = ()) -> bool:
    name = option.lstrip("-").split("=", 1)[0].lower()
    if any(word in name for word in _SECRET_WORDS):
        return True
    # A typo that lost the word (--kye, --acount-ky): close to one of the parser's own.
    return bool(difflib.get_close_matches(name, secret_options, n=1, cutoff=_TYPO_CUTOFF))


def _secret_values(argv: Sequence[str], secret_options: Sequence[str] = ()) -> list[str]:
    values: list[str] = []
    for i, arg in enumerate(argv):
        if not arg.startswith("-") or not _speaks_of_a_secret(arg, secret_options):
            continue
        if "=" in arg:
            values.append(arg.split("=", 1)[1])
        elif i + 1 < len(argv):
            values.append(argv[i + 1])
    return [v for v in values if len(v) >= _MIN_SECRET]


def redact(text: str, argv: Sequence[str] = (), secret_options: Sequence[str] = ()) -> str:
    """`text` with URL user-info and the values of secret options in `argv` masked.

    Args:
        text: what is about to be printed.
        argv: the command line's arguments.
        secret_options: option names (without dashes) a typo in `argv` may stand for.
    """
    for value in sorted(_secret_values(argv, secret_options), key=len, reverse=True):
        text = text.replace(value, MASK)
        text = text.replace(repr(value)[1:-1], MASK)  # as argparse quotes it
    return _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)


class SecretSafeArgumentParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` that masks secrets in its usage errors (subparsers too)."""

    _argv: Sequence[str] = ()

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._argv = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def secret_options(self) -> list[str]:
        """This parser's option names (without dashes) that speak of a secret."""
        names = (s.lstrip("-").lower() for a in self._actions for s in a.option_strings)
        return [n for n in names if _speaks_of_a_secret(n)]

    def error(self, message: str) -> NoReturn:
        """Print the usage and the masked `message`, exit with status 2."""
        super().error(redact(message, self._argv, self.secret_options()))
