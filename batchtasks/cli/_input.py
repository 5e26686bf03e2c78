"""Streamed reading of task files for the CLI: a JSON array or JSON Lines, with line numbers.

A task file may be far larger than memory is willing to hold, so nothing here loads it whole:
JSON Lines is read line by line, and a JSON array is decoded element by element with
`json.JSONDecoder.raw_decode` over a sliding text buffer. Every item comes out with the line it
starts on, so that errors can point at it (``tasks.jsonl:17: ...``).

This module only reads and checks JSON shape. It must not talk to the service, import rich, or
know about task fields beyond what it needs to name a task in an error (its ``id``).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from batchtasks.cli._errors import InputError

__all__ = ["SourceItem", "iter_json_items"]

_CHUNK_CHARS = 64 * 1024
#: A single array element may not need more buffered text than this to decode (a task must fit
#: in one add_collection request, which is below 1 MiB); beyond it a decode error is final instead
#: of a reason to read more, which keeps memory bounded on a malformed huge file.
_MAX_ELEMENT_CHARS = 4 * 1024 * 1024
_WHITESPACE = " \t\n\r"


@dataclass(frozen=True, slots=True)
class SourceItem:
    """One JSON value read from a task file.

    Attributes:
        line: 1-based line number where the value starts.
        index: 0-based position of the value in the file.
        value: the decoded JSON value (a dict for a well-formed task).
    """

    line: int
    index: int
    value: Any


def iter_json_items(stream: IO[bytes], *, name: str) -> Iterator[SourceItem]:
    """Yield the values of a JSON array or of JSON Lines, streamed from a binary stream.

    The format is chosen by the first non-blank character: ``[`` means one JSON array, anything
    else JSON Lines (one value per line, blank lines ignored). Input is UTF-8 (a BOM is allowed).

    Args:
        stream: the open binary stream (a file or stdin's buffer); it is not closed.
        name: how to call the source in error messages (a path, or ``<stdin>``).

    Yields:
        One `SourceItem` per value, in file order.

    Raises:
        InputError: malformed JSON or invalid UTF-8, naming the source and the line.
    """
    reader = _TextReader(stream, name)
    first = reader.peek_non_blank()
    if first is None:
        return
    if first == "[":
        yield from _iter_array(reader, name)
    else:
        yield from _iter_lines(reader, name)


class _TextReader:
    """UTF-8 text chunks from a binary stream, with a one-time peek at the first content."""

    def __init__(self, stream: IO[bytes], name: str) -> None:
        self._stream = stream
        self._name = name
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
        self._pending = ""
        self._bytes_read = 0
        self.eof = False

    def read(self) -> str:
        """Return the next chunk of text ("" only at end of input)."""
        if self._pending:
            text, self._pending = self._pending, ""
            return text
        while not self.eof:
            raw = self._stream.read(_CHUNK_CHARS)
            final = not raw
            try:
                text = self._decoder.decode(raw, final=final)
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{self._name}: not valid UTF-8 at byte {self._bytes_read + exc.start}"
                ) from None
            self._bytes_read += len(raw)
            if final:
                self.eof = True
            if text:
                return text
        return ""

    def peek_non_blank(self) -> str | None:
        """Return the first non-whitespace character without consuming anything."""
        buffered = ""
        while True:
            chunk = self.read()
            if not chunk:
                self._pending = buffered
                return None
            buffered += chunk
            stripped = buffered.lstrip(_WHITESPACE)
            if stripped:
                self._pending = buffered
                return stripped[0]

    def lines(self) -> Iterator[str]:
        """Yield lines (with their ending) from the remaining text."""
        carry = ""
        while True:
            chunk = self.read()
            if not chunk:
                if carry:
                    yield carry
                return
            carry += chunk
            start = 0
            while True:
                end = carry.find("\n", start)
                if end < 0:
                    break
                yield carry[start : end + 1]
                start = end + 1
            carry = carry[start:]


def _iter_lines(reader: _TextReader, name: str) -> Iterator[SourceItem]:
    index = 0
    for lineno, line in enumerate(reader.lines(), start=1):
        if not line.strip(_WHITESPACE):
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{name}:{lineno}: malformed JSON: {exc.msg} (column {exc.colno})"
            ) from None
        yield SourceItem(line=lineno, index=index, value=value)
        index += 1


class _ArrayScanner:
    """A sliding text window over the input, with the line number of any position in it."""

    def __init__(self, reader: _TextReader, name: str) -> None:
        self.reader = reader
        self.name = name
        self.buf = ""
        self.pos = 0
        # Newlines before buf[0], and how far into buf they have been counted.
        self._lines_before = 0
        self._counted_to = 0
        self._counted_lines = 0

    def line_of(self, index: int) -> int:
        if index < self._counted_to:  # callers only move forward; keep it simple if not
            return self._lines_before + self.buf.count("\n", 0, index) + 1
        self._counted_lines += self.buf.count("\n", self._counted_to, index)
        self._counted_to = index
        return self._lines_before + self._counted_lines + 1

    def column_of(self, index: int) -> int:
        return index - (self.buf.rfind("\n", 0, index) + 1) + 1

    def fill(self) -> bool:
        """Read more text, dropping what has been consumed; False at end of input."""
        chunk = self.reader.read()
        if not chunk:
            return False
        if self.pos:
            self.line_of(self.pos)
            self._lines_before += self._counted_lines
            self._counted_lines = 0
            self._counted_to = 0
            self.buf = self.buf[self.pos :]
            self.pos = 0
        self.buf += chunk
        return True

    def skip_blank(self) -> str | None:
        """Advance past whitespace; return the next character (not consumed) or None at EOF."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return None

    def error(self, index: int, message: str) -> InputError:
        line = self.line_of(index)
        return InputError(
            f"{self.name}:{line}: malformed JSON: {message} (column {self.column_of(index)})"
        )


def _iter_array(reader: _TextReader, name: str) -> Iterator[SourceItem]:
    scan = _ArrayScanner(reader, name)
    decoder = json.JSONDecoder()
    scan.skip_blank()
    scan.pos += 1  # the "[" that chose this format
    index = 0
    if scan.skip_blank() == "]":
        scan.pos += 1
        _expect_end(scan)
        return
    while True:
        char = scan.skip_blank()
        if char is None:
            raise scan.error(len(scan.buf), "unexpected end of input: the array is not closed")
        start = scan.pos
        while True:
            try:
                value, end = decoder.raw_decode(scan.buf, start)
            except json.JSONDecodeError as exc:
                if len(scan.buf) - start < _MAX_ELEMENT_CHARS and scan.fill():
                    start = scan.pos
                    continue
                raise scan.error(exc.pos, exc.msg) from None
            # A number or literal ending exactly at the buffer's end may continue in the next
            # chunk; containers and strings end with their own closing character.
            if end == len(scan.buf) and not isinstance(value, (dict, list, str)) and scan.fill():
                start = scan.pos
                continue
            break
        yield SourceItem(line=scan.line_of(start), index=index, value=value)
        index += 1
        scan.pos = end
        sep = scan.skip_blank()
        if sep == ",":
            scan.pos += 1
            continue
        if sep == "]":
            scan.pos += 1
            _expect_end(scan)
            return
        if sep is None:
            raise scan.error(len(scan.buf), "unexpected end of input: the array is not closed")
        raise scan.error(scan.pos, "expected ',' or ']' after an array element")


def _expect_end(scan: _ArrayScanner) -> None:
    if scan.skip_blank() is not None:
        raise scan.error(scan.pos, "extra data after the closing ']'")
