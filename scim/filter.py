"""SCIM filter and attribute-path grammar (RFC 7644 §3.4.2.2, §3.5.2). Pure Python."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Union

from scim.errors import ScimError

MAX_LENGTH = 10_000
MAX_DEPTH = 50
COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
ORDER_OPS = frozenset({"gt", "ge", "lt", "le"})
# Lone surrogates cannot be encoded and PostgreSQL text cannot hold NUL: no stored value has them.
_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")


class FilterError(ScimError, ValueError):
    """A malformed filter (400 invalidFilter)."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, detail, "invalidFilter")


class PathError(ScimError, ValueError):
    """A malformed attribute or PATCH path (400 invalidPath)."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, detail, "invalidPath")


@dataclass(frozen=True)
class AttrPath:
    urn: str | None
    attr: str
    sub_attr: str | None = None

    @property
    def attr_key(self) -> str:
        return self.attr.lower()

    @property
    def sub_key(self) -> str | None:
        return self.sub_attr.lower() if self.sub_attr else None

    @property
    def urn_key(self) -> str | None:
        return self.urn.lower() if self.urn else None

    def __str__(self) -> str:
        text = f"{self.urn}:{self.attr}" if self.urn else self.attr
        return f"{text}.{self.sub_attr}" if self.sub_attr else text


@dataclass(frozen=True)
class Comparison:
    path: AttrPath
    op: str
    value: str | int | float | bool | None


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    expr: Filter


@dataclass(frozen=True)
class ValueFilter:
    path: AttrPath
    filter: Filter


Filter = Union[Comparison, Present, And, Or, Not, ValueFilter]  # noqa: UP007


@dataclass(frozen=True)
class PatchPath:
    attr: AttrPath
    value_filter: Filter | None
    sub_attr: str | None


_NAME = r"(?:\$ref|[A-Za-z][A-Za-z0-9_-]*)"
_ATTR_PATH_RE = re.compile(rf"^(?:(?P<urn>urn:[^\s\[\]()\"]+):)?(?P<attr>{_NAME})(?:\.(?P<sub>{_NAME}))?$", re.IGNORECASE)
_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<lparen>\() | (?P<rparen>\)) | (?P<lbrack>\[) | (?P<rbrack>\]) |
        (?P<string>"(?:[^"\\]|\\.)*") |
        (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z0-9_:.$-])) |
        (?P<word>\.?[A-Za-z$][A-Za-z0-9_:.$\-]*)
    )""",
    re.VERBOSE,
)


def parse_attr_path(text: str) -> AttrPath:
    match = _ATTR_PATH_RE.match(text.strip())
    if not match:
        raise PathError(f"{text!r} is not a valid attribute path")
    return AttrPath(match.group("urn"), match.group("attr"), match.group("sub"))


def parse_attr_list(text: str) -> list[AttrPath]:
    return [parse_attr_path(part) for part in text.split(",") if part.strip()]


@dataclass
class _Token:
    kind: str
    text: str
    pos: int


# Integers compare as numeric(40, 10) in SQL; longer literals cannot match anything stored.
MAX_INTEGER_DIGITS = 30


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN_RE.match(text, pos)
        if not match or match.end() == pos:
            raise FilterError(f"unexpected character at position {pos}: {text[pos:pos + 10]!r}")
        kind = match.lastgroup or ""
        start = match.start(kind)
        tokens.append(_Token(kind, match.group(kind), start))
        pos = match.end()
    return tokens


def _balanced(node: type[And] | type[Or], terms: list[Filter]) -> Filter:
    """Join a chain `a and b and c ...` as a balanced tree.

    and/or are associative, and a left-deep tree of the ~1000 terms that fit in MAX_LENGTH
    would exhaust the recursion limit of every tree walker (to_text, evaluate, the Q compiler).
    """
    if len(terms) == 1:
        return terms[0]
    mid = len(terms) // 2
    return node(_balanced(node, terms[:mid]), _balanced(node, terms[mid:]))


class _Parser:
    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        tok = self.peek()
        if tok is None:
            raise FilterError("unexpected end of filter")
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text.lower() == word

    def parse(self) -> Filter:
        expr = self.or_expr(in_brackets=False)
        tok = self.peek()
        if tok is not None:
            raise FilterError(f"unexpected {tok.text!r} at position {tok.pos}")
        return expr

    def or_expr(self, in_brackets: bool) -> Filter:
        terms = [self.and_expr(in_brackets)]
        while self.keyword("or"):
            self.take()
            terms.append(self.and_expr(in_brackets))
        return _balanced(Or, terms)

    def and_expr(self, in_brackets: bool) -> Filter:
        terms = [self.unary(in_brackets)]
        while self.keyword("and"):
            self.take()
            terms.append(self.unary(in_brackets))
        return _balanced(And, terms)

    def unary(self, in_brackets: bool) -> Filter:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterError(f"filter nests deeper than {MAX_DEPTH} levels")
        try:
            if self.keyword("not"):
                self.take()
                tok = self.peek()
                if tok is None or tok.kind != "lparen":
                    raise FilterError("'not' must be followed by a parenthesised expression")
                return Not(self.group(in_brackets))
            tok = self.peek()
            if tok is not None and tok.kind == "lparen":
                return self.group(in_brackets)
            return self.attr_expr(in_brackets)
        finally:
            self.depth -= 1

    def group(self, in_brackets: bool) -> Filter:
        self.take()
        expr = self.or_expr(in_brackets)
        tok = self.take()
        if tok.kind != "rparen":
            raise FilterError(f"expected ')' at position {tok.pos}")
        return expr

    def attr_expr(self, in_brackets: bool) -> Filter:
        tok = self.take()
        if tok.kind != "word":
            raise FilterError(f"expected an attribute name at position {tok.pos}, found {tok.text!r}")
        try:
            path = parse_attr_path(tok.text)
        except PathError:
            raise FilterError(f"{tok.text!r} at position {tok.pos} is not a valid attribute path") from None
        nxt = self.peek()
        if nxt is not None and nxt.kind == "lbrack":
            if in_brackets:
                raise FilterError("value filters cannot be nested")
            if path.sub_attr:
                raise FilterError(f"{tok.text!r}: a value filter applies to a multi-valued attribute")
            self.take()
            inner = self.or_expr(in_brackets=True)
            close = self.take()
            if close.kind != "rbrack":
                raise FilterError(f"expected ']' at position {close.pos}")
            after = self.peek()
            # Lenient (Microsoft Entra): emails[type eq "work"].value eq "x"
            if after is not None and after.kind == "word" and after.text.startswith("."):
                self.take()
                sub = after.text[1:]
                if not re.fullmatch(_NAME, sub):
                    raise FilterError(f"invalid sub-attribute {after.text!r}")
                inner = And(inner, self.comparison(AttrPath(None, sub)))
            return ValueFilter(path, inner)
        return self.comparison(path)

    def comparison(self, path: AttrPath) -> Filter:
        op_tok = self.take()
        op = op_tok.text.lower()
        if op_tok.kind != "word" or (op not in COMPARE_OPS and op != "pr"):
            raise FilterError(f"expected an operator at position {op_tok.pos}, found {op_tok.text!r}")
        if op == "pr":
            return Present(path)
        value_tok = self.take()
        value = self.literal(value_tok)
        if op in ORDER_OPS and (value is None or isinstance(value, bool)):
            raise FilterError(f"{op} cannot compare with {value_tok.text}")
        return Comparison(path, op, value)

    def literal(self, tok: _Token) -> str | int | float | bool | None:
        if tok.kind == "string":
            try:
                text = str(json.loads(tok.text))
            except ValueError:
                raise FilterError(f"invalid string literal at position {tok.pos}") from None
            if _UNSTORABLE_RE.search(text):
                raise FilterError(f"string literal at position {tok.pos} holds NUL or a lone surrogate")
            return text
        if tok.kind == "number":
            if not any(c in tok.text for c in ".eE"):
                if len(tok.text.lstrip("-")) > MAX_INTEGER_DIGITS:
                    raise FilterError(f"number at position {tok.pos} has more than {MAX_INTEGER_DIGITS} digits")
                return int(tok.text)
            number = float(tok.text)
            if not math.isfinite(number):
                raise FilterError(f"number at position {tok.pos} is out of range")
            return number
        if tok.kind == "word" and tok.text.lower() in {"true", "false", "null"}:
            return {"true": True, "false": False, "null": None}[tok.text.lower()]
        raise FilterError(f"expected a value at position {tok.pos}, found {tok.text!r} (strings need double quotes)")


def parse_filter(text: str) -> Filter:
    if not isinstance(text, str) or not text.strip():
        raise FilterError("filter is empty")
    if len(text) > MAX_LENGTH:
        raise FilterError(f"filter is longer than {MAX_LENGTH} characters")
    return _Parser(text, _tokenize(text)).parse()


def parse_patch_path(text: str) -> PatchPath:
    if not isinstance(text, str) or not text.strip():
        raise PathError("path is empty")
    text = text.strip()
    bracket = text.find("[")
    if bracket == -1:
        return PatchPath(parse_attr_path(text), None, None)
    close = text.rfind("]")
    if close < bracket:
        raise PathError(f"{text!r}: unbalanced '['")
    attr = parse_attr_path(text[:bracket])
    if attr.sub_attr:
        raise PathError(f"{text!r}: a value filter applies to a multi-valued attribute")
    inner_text = text[bracket + 1 : close]
    rest = text[close + 1 :]
    sub = None
    if rest:
        if not rest.startswith(".") or not re.fullmatch(_NAME, rest[1:]):
            raise PathError(f"{text!r}: unexpected {rest!r} after ']'")
        sub = rest[1:]
    tokens = _tokenize(inner_text)
    parser = _Parser(inner_text, tokens)
    inner = parser.or_expr(in_brackets=True)
    if parser.peek() is not None:
        raise FilterError(f"unexpected {parser.peek().text!r} in value filter")  # type: ignore[union-attr]
    return PatchPath(attr, inner, sub)


def _quote(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value)


def to_text(expr: Filter) -> str:
    if isinstance(expr, Comparison):
        return f"{expr.path} {expr.op} {_quote(expr.value)}"
    if isinstance(expr, Present):
        return f"{expr.path} pr"
    if isinstance(expr, And):
        return f"({to_text(expr.left)} and {to_text(expr.right)})"
    if isinstance(expr, Or):
        return f"({to_text(expr.left)} or {to_text(expr.right)})"
    if isinstance(expr, Not):
        return f"not ({to_text(expr.expr)})"
    return f"{expr.path}[{to_text(expr.filter)}]"


# -- in-memory evaluation (PATCH value filters, and the reference semantics of directory.filtering) --


def _get(obj: Mapping[str, Any], key: str) -> Any:
    if key in obj:
        return obj[key]
    lowered = key.lower()
    for k, v in obj.items():
        if isinstance(k, str) and k.lower() == lowered:
            return v
    return None


def _container(element: Mapping[str, Any], path: AttrPath) -> Mapping[str, Any]:
    """Extension attributes live under their schema URN; core ones (even URN-qualified) at the top."""
    if path.urn:
        nested = _get(element, path.urn)
        if isinstance(nested, Mapping):
            return nested
    return element


def _values(element: Mapping[str, Any], path: AttrPath) -> list[Any]:
    value = _get(_container(element, path), path.attr)
    values = value if isinstance(value, list) else [value]
    if path.sub_attr:
        values = [_get(v, path.sub_attr) if isinstance(v, Mapping) else None for v in values]
    return [v for v in values if v is not None]


def _compared_values(element: Mapping[str, Any], path: AttrPath) -> list[Any]:
    # `emails co "x"` compares the value sub-attribute of each email (RFC 7644 §3.4.2.2).
    values = _values(element, path)
    if path.sub_attr is None:
        values = [_get(v, "value") if isinstance(v, Mapping) else v for v in values]
    return [v for v in values if v is not None]


def as_datetime(value: Any) -> datetime | None:
    """An xsd:dateTime string as an aware datetime (no offset: UTC); None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def as_bool(value: Any) -> bool | None:
    """A boolean, or "true"/"false" in any case, as a bool; None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return None


def _compare_one(actual: Any, op: str, expected: Any, case_exact: bool) -> bool:
    if isinstance(actual, bool):
        if op in ORDER_OPS:
            raise FilterError(f"{op} cannot compare booleans")
        if op not in {"eq", "ne"}:
            return False
        # Only a boolean (or "true"/"false") equals a boolean: true is not 1.
        wanted = as_bool(expected)
        return (actual == wanted) == (op == "eq")
    if isinstance(expected, bool):
        expected = "true" if expected else "false"
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        if op in {"co", "sw", "ew"}:
            return False
        return _ordered(actual, op, expected)
    if op not in {"co", "sw", "ew"}:
        da, db = as_datetime(actual), as_datetime(expected)
        if da is not None and db is not None:
            return _ordered(da, op, db)
    a, b = str(actual), str(expected)
    if not case_exact:
        a, b = a.lower(), b.lower()
    if op == "co":
        return b in a
    if op == "sw":
        return a.startswith(b)
    if op == "ew":
        return a.endswith(b)
    return _ordered(a, op, b)


def _ordered(a: Any, op: str, b: Any) -> bool:
    return {
        "eq": lambda: a == b,
        "ne": lambda: a != b,
        "gt": lambda: a > b,
        "ge": lambda: a >= b,
        "lt": lambda: a < b,
        "le": lambda: a <= b,
    }[op]()


def _present(value: Any) -> bool:
    """RFC 7644 pr: non-null and non-empty; a complex value needs a present sub-attribute."""
    if isinstance(value, Mapping):
        return any(_present(v) for v in value.values())
    if isinstance(value, list):
        return any(_present(v) for v in value)
    return value is not None and value != ""


def evaluate(
    expr: Filter, element: Mapping[str, Any], *, case_exact: Callable[[AttrPath], bool] = lambda p: False
) -> bool:
    """Whether a resource (or one element of a multi-valued attribute) matches a filter.

    `ne` is the negation of `eq`: it also matches when the attribute is unassigned, and on a
    multi-valued attribute it matches when no value equals the operand (RFC 7644 §3.4.2.2
    leaves both open). directory.filtering compiles the same semantics to SQL.
    """
    if isinstance(expr, And):
        return evaluate(expr.left, element, case_exact=case_exact) and evaluate(expr.right, element, case_exact=case_exact)
    if isinstance(expr, Or):
        return evaluate(expr.left, element, case_exact=case_exact) or evaluate(expr.right, element, case_exact=case_exact)
    if isinstance(expr, Not):
        return not evaluate(expr.expr, element, case_exact=case_exact)
    if isinstance(expr, Present):
        return any(_present(v) for v in _values(element, expr.path))
    if isinstance(expr, ValueFilter):
        parent = expr.path
        items = _get(_container(element, parent), parent.attr)
        items = items if isinstance(items, list) else [items]

        def element_case_exact(p: AttrPath) -> bool:
            return case_exact(AttrPath(parent.urn, parent.attr, p.attr))

        return any(isinstance(i, Mapping) and evaluate(expr.filter, i, case_exact=element_case_exact) for i in items)
    if expr.value is None:  # "eq null" means unassigned, "ne null" assigned
        assigned = any(_present(v) for v in _compared_values(element, expr.path))
        return assigned if expr.op == "ne" else not assigned if expr.op == "eq" else False
    if expr.op == "ne":
        return not evaluate(Comparison(expr.path, "eq", expr.value), element, case_exact=case_exact)
    exact = case_exact(expr.path)
    return any(_compare_one(v, expr.op, expr.value, exact) for v in _compared_values(element, expr.path))
