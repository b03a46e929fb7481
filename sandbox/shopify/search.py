"""Shopify search syntax (the ``query:`` argument), parsed and evaluated.

Supports ``field:value``, ``field:>value`` / ``>=`` / ``<`` / ``<=``,
``field:prefix*``, quoted values ('...' or "..."), implicit AND, ``AND``,
``OR``, ``NOT`` / ``-term`` and parentheses. Unknown fields are ignored with
a warning (as Shopify does); bare words search a default text.
"""

from datetime import datetime

from ..core.util import parse_datetime


class SearchSyntaxError(ValueError):
    pass


def _tokenize(text):
    tokens = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            tokens.append(ch)
            i += 1
            continue
        # a word, possibly containing quoted parts (field:'a b')
        start = i
        buf = []
        while i < n and not text[i].isspace() and text[i] not in "()":
            if text[i] in "'\"":
                quote = text[i]
                end = text.find(quote, i + 1)
                if end < 0:
                    raise SearchSyntaxError(f"unterminated quote at {i}")
                buf.append(("q", text[i + 1 : end]))
                i = end + 1
            else:
                buf.append(("c", text[i]))
                i += 1
        tokens.append(_Word(buf, text[start:i]))
    return tokens


class _Word:
    def __init__(self, parts, raw):
        self.parts = parts
        self.raw = raw

    def plain(self):
        return "".join(p[1] for p in self.parts)

    def is_keyword(self, word):
        return all(kind == "c" for kind, _ in self.parts) and self.raw == word

    def split_term(self):
        """(field, op, value) or (None, None, value) for a bare word."""
        chars = []
        for kind, value in self.parts:
            if kind == "q":
                chars.append(("q", value))
            else:
                chars.append(("c", value))
        # field is everything before the first unquoted ':'
        field = []
        idx = 0
        while idx < len(chars):
            kind, value = chars[idx]
            if kind == "c" and value == ":":
                break
            if kind == "q":
                return None, None, self.plain()
            field.append(value)
            idx += 1
        if idx == len(chars) or not field:
            return None, None, self.plain()
        rest = chars[idx + 1 :]
        op = "="
        text = "".join(v for k, v in rest if k == "c")
        for candidate in (">=", "<=", "!=", ">", "<"):
            if text.startswith(candidate) and rest and rest[0][0] == "c":
                op = candidate
                rest = _drop_chars(rest, len(candidate))
                break
        value = "".join(v for _k, v in rest)
        return "".join(field).lower(), op, value


def _drop_chars(parts, count):
    out = list(parts)
    while count and out and out[0][0] == "c":
        out.pop(0)
        count -= 1
    return out


class SearchQuery:
    """A parsed query; ``matches(record)`` with field getters."""

    def __init__(self, text, fields, default=None):
        self.text = text or ""
        self.fields = fields  # name -> callable(record) -> value
        self.default = default  # callable(record) -> str for bare words
        self.warnings = []
        self._tokens = _tokenize(self.text)
        self._pos = 0
        self.tree = self._parse_or() if self._tokens else None
        if self._pos < len(self._tokens):
            raise SearchSyntaxError(f"unexpected {self._tokens[self._pos]!r}")

    # -- parser ------------------------------------------------------------
    def _peek(self):
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def _parse_or(self):
        parts = [self._parse_and()]
        while isinstance(self._peek(), _Word) and self._peek().is_keyword("OR"):
            self._pos += 1
            parts.append(self._parse_and())
        return ("or", parts) if len(parts) > 1 else parts[0]

    def _parse_and(self):
        parts = [self._parse_unary()]
        while True:
            tok = self._peek()
            if tok is None or tok == ")":
                break
            if isinstance(tok, _Word) and tok.is_keyword("OR"):
                break
            if isinstance(tok, _Word) and tok.is_keyword("AND"):
                self._pos += 1
            parts.append(self._parse_unary())
        return ("and", parts) if len(parts) > 1 else parts[0]

    def _parse_unary(self):
        tok = self._peek()
        if tok is None:
            raise SearchSyntaxError("unexpected end of query")
        if isinstance(tok, _Word) and tok.is_keyword("NOT"):
            self._pos += 1
            return ("not", self._parse_unary())
        if tok == "(":
            self._pos += 1
            node = self._parse_or()
            if self._peek() != ")":
                raise SearchSyntaxError("missing )")
            self._pos += 1
            return node
        if tok == ")":
            raise SearchSyntaxError("unexpected )")
        self._pos += 1
        negate = False
        if tok.parts and tok.parts[0] == ("c", "-") and len(tok.raw) > 1:
            negate = True
            tok = _Word(tok.parts[1:], tok.raw[1:])
        field, op, value = tok.split_term()
        if field is not None and field not in self.fields:
            self.warnings.append(
                {"field": field, "message": "Invalid search field for this query."}
            )
            node = ("true",)
        else:
            node = ("term", field, op, value)
        return ("not", node) if negate else node

    # -- evaluation ----------------------------------------------------------
    def matches(self, record):
        if self.tree is None:
            return True
        return self._eval(self.tree, record)

    def _eval(self, node, record):
        kind = node[0]
        if kind == "true":
            return True
        if kind == "or":
            return any(self._eval(n, record) for n in node[1])
        if kind == "and":
            return all(self._eval(n, record) for n in node[1])
        if kind == "not":
            return not self._eval(node[1], record)
        _kind, field, op, value = node
        if field is None:
            if self.default is None:
                return True
            return value.lower() in (self.default(record) or "").lower()
        actual = self.fields[field](record)
        values = actual if isinstance(actual, (list, tuple, set)) else [actual]
        return any(compare(v, op, value) for v in values)


def compare(actual, op, expected):
    """Compare a record value with a query value, typed by the record value."""
    if actual is None:
        return op == "!=" and expected.lower() not in ("", "null")
    try:
        if isinstance(actual, datetime):
            other = parse_datetime(expected)
        elif isinstance(actual, bool):
            other = expected.lower() in ("true", "1", "yes")
        elif isinstance(actual, (int, float)):
            other = type(actual)(expected)
        else:
            left = str(actual).lower()
            right = expected.lower()
            if op in ("=", "!="):
                if right.endswith("*"):
                    equal = left.startswith(right[:-1])
                else:
                    equal = left == right
                return equal if op == "=" else not equal
            actual, other = left, right
    except ValueError:
        return False
    if op == "=":
        return actual == other
    if op == "!=":
        return actual != other
    if op == ">":
        return actual > other
    if op == ">=":
        return actual >= other
    if op == "<":
        return actual < other
    return actual <= other
