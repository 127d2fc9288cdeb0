"""JQL, the part a Jira client sends, parsed the way Data Center parses it.

Grammar: clauses `field op value`, `field [NOT] IN (v, ...)`, `field IS [NOT] EMPTY`, joined by
AND / OR / NOT and parentheses, then `ORDER BY field [ASC|DESC], ...`. Keywords are
case-insensitive. Values are quoted strings, unquoted words or functions; Jira's reserved
characters (`/`, `.`, `*`, ...) must be quoted, so `updated >= 2026/11/01` is a syntax error while
`updated >= "2026/11/01 23:30"` is fine.

Syntax errors come back in Jira's words with the position (`Error in the JQL Query: Expecting ...
(line 1, character 9)`); what the emulator does with a parsed query is in `query.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

RESERVED = frozenset("+.,;?|*/%^$#@[]")
OPERATORS = ("!=", ">=", "<=", "!~", "=", ">", "<", "~")
VALID_OPERATORS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."
)
KEYWORDS = frozenset({"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"})


class JqlError(ValueError):
    """A query Jira rejects with 400 and this message in `errorMessages`."""


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "string", "op", "(", ")", ",", "end"
    text: str
    position: int  # 0-based offset in the query

    def keyword(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words

    def shown(self) -> str:
        return "EOF" if self.kind == "end" else self.text


@dataclass(frozen=True)
class Value:
    """A value as written: `quoted` tells `"1700000000000"` (text) from `1700000000000` (a number)."""

    text: str
    quoted: bool
    function: bool = False
    position: int = 0


@dataclass(frozen=True)
class Clause:
    field: str
    field_position: int
    operator: str  # "=", "!=", ">", ">=", "<", "<=", "~", "!~", "in", "not in", "is", "is not"
    values: tuple[Value, ...]  # one, or the list of IN; EMPTY for IS / IS NOT


@dataclass(frozen=True)
class Junction:
    kind: str  # "and", "or"
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Negation:
    part: Node


Node = Clause | Junction | Negation


@dataclass(frozen=True)
class Parsed:
    where: Node | None
    order: tuple[tuple[str, int, bool], ...]  # (field, position, descending)


def _error(message: str, position: int | None = None) -> JqlError:
    where = f" (line 1, character {position + 1})" if position is not None else ""
    return JqlError(f"Error in the JQL Query: {message}{where}")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "(),":
            tokens.append(Token(char, char, i))
            i += 1
        elif char in "\"'":
            start, i, chars = i, i + 1, []
            while i < len(text) and text[i] != char:
                if text[i] == "\\" and i + 1 < len(text):
                    i += 1
                chars.append(text[i])
                i += 1
            if i >= len(text):
                raise _error(f"The quoted string {text[start:]} has not been completed.", start)
            tokens.append(Token("string", "".join(chars), start))
            i += 1
        elif any(text.startswith(op, i) for op in OPERATORS):
            op = next(op for op in OPERATORS if text.startswith(op, i))
            tokens.append(Token("op", op, i))
            i += len(op)
        elif char == "!":
            raise _error("The character '!' must be followed by '=' or '~'.", i)
        else:
            start = i
            if text.lower().startswith("cf[", i):  # custom field reference, e.g. cf[10010]
                end = text.find("]", i)
                if end < 0:
                    raise _error("Expecting ']' to close the custom field reference.", i)
                tokens.append(Token("word", text[i : end + 1], start))
                i = end + 1
                continue
            while i < len(text) and not text[i].isspace() and text[i] not in "()=,!<>~\"'":
                if text[i] in RESERVED:
                    raise _error(
                        f"The character '{text[i]}' is a reserved JQL character. You must enclose it in a "
                        f"string or use the escape '\\u{ord(text[i]):04x}' instead.",
                        i,
                    )
                i += 1
            tokens.append(Token("word", text[start:i], start))
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Parsed:
        where = None
        if not self.token.keyword("order") and self.token.kind != "end":
            where = self.disjunction()
        order: list[tuple[str, int, bool]] = []
        if self.token.keyword("order"):
            self.take()
            if not self.token.keyword("by"):
                raise _error(f"Expecting 'by' but got '{self.token.shown()}'.", self.token.position)
            self.take()
            while True:
                field = self.take()
                if field.kind not in ("word", "string") or (
                    field.kind == "word" and field.text.lower() in KEYWORDS
                ):
                    raise _error(f"Expecting a field name but got '{field.shown()}'.", field.position)
                descending = False
                if self.token.keyword("asc", "desc"):
                    descending = self.take().text.lower() == "desc"
                order.append((field.text, field.position, descending))
                if self.token.kind != ",":
                    break
                self.take()
        if self.token.kind != "end":
            if where is not None and not order:
                raise _error(
                    f"Expecting either 'OR' or 'AND' but got '{self.token.text}'.", self.token.position
                )
            raise _error(f"Expecting ',' but got '{self.token.text}'.", self.token.position)
        return Parsed(where, tuple(order))

    def disjunction(self) -> Node:
        parts = [self.conjunction()]
        while self.token.keyword("or"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Junction("or", tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.negation()]
        while self.token.keyword("and"):
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else Junction("and", tuple(parts))

    def negation(self) -> Node:
        if self.token.keyword("not"):
            self.take()
            return Negation(self.negation())
        if self.token.kind == "(":
            self.take()
            inner = self.disjunction()
            if self.token.kind != ")":
                if self.token.kind == "end":
                    raise _error("Expecting ')' before the end of the query.")
                raise _error(f"Expecting ')' but got '{self.token.text}'.", self.token.position)
            self.take()
            return inner
        return self.clause()

    def clause(self) -> Clause:
        field = self.take()
        if field.kind == "end":
            raise _error("Expecting a field name before the end of the query.")
        if field.kind not in ("word", "string") or (field.kind == "word" and field.text.lower() in KEYWORDS):
            raise _error(f"Expecting a field name but got '{field.shown()}'.", field.position)
        token = self.token
        if token.kind == "op":
            self.take()
            return Clause(field.text, field.position, token.text, (self.value(),))
        if token.keyword("in"):
            self.take()
            return Clause(field.text, field.position, "in", self.values())
        if token.keyword("not"):
            self.take()
            if not self.token.keyword("in"):
                raise _error(f"Expecting 'IN' but got '{self.token.shown()}'.", self.token.position)
            self.take()
            return Clause(field.text, field.position, "not in", self.values())
        if token.keyword("is"):
            self.take()
            operator = "is"
            if self.token.keyword("not"):
                self.take()
                operator = "is not"
            if not self.token.keyword("empty", "null"):
                raise _error(f"Expecting 'EMPTY' but got '{self.token.shown()}'.", self.token.position)
            self.take()
            return Clause(field.text, field.position, operator, ())
        if token.kind == "end":
            raise _error(f"Expecting operator before the end of the query. {VALID_OPERATORS}")
        raise _error(f"Expecting operator but got '{token.text}'. {VALID_OPERATORS}", token.position)

    def values(self) -> tuple[Value, ...]:
        if self.token.kind != "(":
            return (self.value(),)  # `IN membersOf(...)`, a function giving a list
        self.take()
        values = [self.value()]
        while self.token.kind == ",":
            self.take()
            values.append(self.value())
        if self.token.kind != ")":
            raise _error(f"Expecting ')' but got '{self.token.shown()}'.", self.token.position)
        self.take()
        return tuple(values)

    def value(self) -> Value:
        token = self.take()
        if token.kind == "string":
            return Value(token.text, quoted=True, position=token.position)
        if token.kind == "word" and token.text.lower() not in KEYWORDS:
            if self.token.kind == "(":  # a function call; arguments are not used by any we know
                depth = 0
                while True:
                    inner = self.take()
                    depth += {"(": 1, ")": -1}.get(inner.kind, 0)
                    if inner.kind == "end":
                        raise _error("Expecting ')' before the end of the query.")
                    if depth == 0:
                        break
                return Value(token.text, quoted=False, function=True, position=token.position)
            return Value(token.text, quoted=False, position=token.position)
        if token.kind == "end":
            raise _error("Expecting either a value, list or function before the end of the query.")
        raise _error(
            f"Expecting either a value, list or function but got '{token.text}'. You must surround "
            f"'{token.text}' in quotation marks to use it as a value.",
            token.position,
        )


def parse(text: str) -> Parsed:
    """The query's where-tree and ORDER BY, or a `JqlError` with Jira's message."""
    return _Parser(text or "").parse()
