"""OData ``$filter`` expressions compiled to parameterised SQL.

Grammar (OData v3 subset the Batch service documents for list tasks / list jobs)::

    expr    := and_expr ('or' and_expr)*
    and_expr:= unary ('and' unary)*
    unary   := 'not' unary | '(' expr ')' | startswith | compare
    startswith := 'startswith' '(' field ',' string ')' [('eq'|'ne') ('true'|'false')]
    compare := field op literal        op: eq ne gt ge lt le
    literal := 'string' | integer | datetime'...' | bare ISO date-time | true | false

Only the properties in a `FieldMap` are allowed, each with its own operators and literal type.
Anything else raises `FilterError` (answered as 400 InvalidQueryParameterValue) — a filter is
never silently ignored. Literal values only ever become SQL *parameters*; the SQL text is built
from fixed column names and operators, never from request text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .formats import iso7, parse_iso

_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<lparen>\()|(?P<rparen>\))|(?P<comma>,)
      | (?P<datetime>datetime'[^']*')
      | (?P<string>'(?:[^']|'')*')
      | (?P<date>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)
      | (?P<number>-?\d+)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)

_SQL_OPS = {"eq": "=", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
ALL_OPS = frozenset(_SQL_OPS)


class FilterError(ValueError):
    """The filter is not valid or uses something the emulator does not support."""


@dataclass(frozen=True)
class Field:
    """One filterable property.

    Attributes:
        column: SQL column name (a fixed identifier, never from the request).
        kind: ``string`` | ``istring`` (case-insensitive, column holds lower-case) | ``int`` |
            ``datetime`` | ``enum``.
        ops: allowed comparison operators.
        startswith: whether ``startswith(field, '...')`` is allowed.
        values: allowed values for ``enum`` fields.
    """

    column: str
    kind: str
    ops: frozenset[str] = ALL_OPS
    startswith: bool = False
    values: frozenset[str] = frozenset()


FieldMap = dict[str, Field]

_TASK_STATES = frozenset({"active", "preparing", "running", "completed"})
_JOB_STATES = frozenset(
    {"active", "disabling", "disabled", "enabling", "terminating", "completed", "deleting"}
)

TASK_FIELDS: FieldMap = {
    "id": Field("id_lower", "istring", startswith=True),
    "state": Field("state", "enum", frozenset({"eq", "ne"}), values=_TASK_STATES),
    "creationTime": Field("creation_time", "datetime"),
    "stateTransitionTime": Field("state_transition_time", "datetime"),
    "lastModified": Field("last_modified", "datetime"),
    "lastModifiedTime": Field("last_modified", "datetime"),
    "executionInfo/startTime": Field("start_time", "datetime"),
    "executionInfo/endTime": Field("end_time", "datetime"),
    "executionInfo/exitCode": Field("exit_code", "int"),
}

JOB_FIELDS: FieldMap = {
    "id": Field("id_lower", "istring", startswith=True),
    "state": Field("state", "enum", frozenset({"eq", "ne"}), values=_JOB_STATES),
    "creationTime": Field("creation_time", "datetime"),
    "lastModified": Field("last_modified", "datetime"),
}

#: Nesting/length bounds so a hostile filter cannot exhaust the parser or SQLite.
MAX_FILTER_LENGTH = 4096
MAX_DEPTH = 32
MAX_CLAUSES = 100


@dataclass
class _Tok:
    kind: str
    text: str


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN_RE.match(text, pos)
        if m is None or m.end() == pos:
            raise FilterError(f"unexpected character at position {pos}")
        kind = m.lastgroup
        assert kind is not None
        tokens.append(_Tok(kind, m.group(kind)))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Tok], fields: FieldMap) -> None:
        self.tokens = tokens
        self.pos = 0
        self.fields = fields
        self.params: list[object] = []
        self.clauses = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise FilterError("unexpected end of filter")
        self.pos += 1
        return tok

    def expect(self, kind: str) -> _Tok:
        tok = self.take()
        if tok.kind != kind:
            raise FilterError(f"expected {kind}, found {tok.text!r}")
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "name" and tok.text == word

    def expr(self, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise FilterError("filter nested too deeply")
        parts = [self.and_expr(depth)]
        while self.is_word("or"):
            self.take()
            parts.append(self.and_expr(depth))
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def and_expr(self, depth: int) -> str:
        parts = [self.unary(depth)]
        while self.is_word("and"):
            self.take()
            parts.append(self.unary(depth))
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def unary(self, depth: int) -> str:
        # 'not not not ...' recurses here without passing through expr(): bound it too.
        if depth > MAX_DEPTH:
            raise FilterError("filter nested too deeply")
        tok = self.peek()
        if tok is None:
            raise FilterError("unexpected end of filter")
        if tok.kind == "name" and tok.text == "not":
            self.take()
            return f"(NOT {self.unary(depth + 1)})"
        if tok.kind == "lparen":
            self.take()
            inner = self.expr(depth + 1)
            self.expect("rparen")
            return inner
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise FilterError("too many clauses in filter")
        if tok.kind == "name" and tok.text == "startswith":
            return self.startswith()
        return self.compare()

    def field(self) -> Field:
        tok = self.expect("name")
        fld = self.fields.get(tok.text)
        if fld is None:
            raise FilterError(f"property {tok.text!r} cannot be used in a filter")
        return fld

    def startswith(self) -> str:
        self.take()
        self.expect("lparen")
        fld = self.field()
        if not fld.startswith:
            raise FilterError("startswith is not supported for this property")
        self.expect("comma")
        prefix = _string_literal(self.expect("string").text)
        self.expect("rparen")
        if fld.kind == "istring":
            prefix = prefix.lower()
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        self.params.append(escaped + "%")
        sql = f"({fld.column} LIKE ? ESCAPE '\\')"
        if self.is_word("eq") or self.is_word("ne"):
            negate = self.take().text == "ne"
            value = self.expect("name").text
            if value not in ("true", "false"):
                raise FilterError("startswith(...) can only be compared with true or false")
            if negate == (value == "true"):
                sql = f"(NOT {sql})"
        return sql

    def compare(self) -> str:
        fld = self.field()
        op_tok = self.expect("name")
        op = op_tok.text
        if op not in _SQL_OPS:
            raise FilterError(f"unknown operator {op!r}")
        if op not in fld.ops:
            raise FilterError(f"operator {op!r} is not supported for this property")
        value = self.literal(fld, self.take())
        self.params.append(value)
        return f"({fld.column} {_SQL_OPS[op]} ?)"

    def literal(self, fld: Field, tok: _Tok) -> object:
        if fld.kind in ("string", "istring", "enum"):
            if tok.kind != "string":
                raise FilterError("a string literal in single quotes is required")
            text = _string_literal(tok.text)
            if fld.kind == "enum":
                lowered = text.lower()
                if lowered not in fld.values:
                    raise FilterError(f"{text!r} is not a valid value")
                return lowered
            return text.lower() if fld.kind == "istring" else text
        if fld.kind == "int":
            if tok.kind != "number":
                raise FilterError("an integer literal is required")
            value = int(tok.text)
            if not -(2**31) <= value < 2**31:
                raise FilterError("integer literal out of range")
            return value
        # datetime
        if tok.kind == "datetime":
            raw = tok.text[len("datetime'") : -1]
        elif tok.kind in ("date", "string"):
            raw = tok.text.strip("'")
        else:
            raise FilterError("a date-time literal is required")
        when = parse_iso(raw)
        if when is None:
            raise FilterError(f"{raw!r} is not a valid date-time")
        return iso7(when)


def _string_literal(text: str) -> str:
    return text[1:-1].replace("''", "'")


def compile_filter(text: str, fields: FieldMap) -> tuple[str, list[object]]:
    """Compile an OData filter into an SQL boolean expression and its parameters.

    Args:
        text: the ``$filter`` value.
        fields: the properties allowed and how they map to columns.

    Returns:
        ``(sql, params)`` where `sql` contains only fixed column names, operators and ``?``.

    Raises:
        FilterError: the filter is empty, malformed, too large or uses an unsupported property,
            operator or literal.
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError("filter is too long")
    tokens = _tokenize(text)
    if not tokens:
        raise FilterError("filter is empty")
    parser = _Parser(tokens, fields)
    sql = parser.expr(0)
    if parser.peek() is not None:
        raise FilterError(f"unexpected {parser.peek().text!r}")  # type: ignore[union-attr]
    return sql, parser.params
