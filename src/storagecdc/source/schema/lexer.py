"""Tokens of one SQL statement, for the hand parser and for recognising statement kinds.

Lexing is sqlglot's MySQL tokenizer (quotes, doubled back-quotes, escapes, ``--``/``#``/``/* */``
comments); before it, MySQL versioned comments (``/*!40101 ... */``, MariaDB's ``/*M!100100 ... */``) are
opened so that their body is read as SQL, exactly as the server executes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import TokenType

from storagecdc.errors import SchemaError


class _Tokenizer(MySQL.Tokenizer):
    COMMANDS = set()  # noqa: RUF012 -- keep RENAME/REPLACE/SHOW... as tokens, not one string


_TOKENIZER = _Tokenizer()

WORD = "word"
IDENT = "ident"
STRING = "string"
NUMBER = "number"
PUNCT = "punct"

_STRINGS = {TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.HEX_STRING, TokenType.BIT_STRING,
            TokenType.BYTE_STRING}


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``kind`` is WORD (keyword or bare name), IDENT (back-quoted name), STRING, NUMBER or PUNCT;
    ``text`` is the name/value as written (quotes removed), ``upper`` its upper-case form for keywords."""

    kind: str
    text: str
    upper: str
    raw_type: str

    def is_word(self, *words: str) -> bool:
        return self.kind == WORD and self.upper in words

    def is_punct(self, text: str) -> bool:
        return self.kind == PUNCT and self.text == text


def open_versioned_comments(sql: str) -> str:
    """Open ``/*!NNNNN`` / ``/*M!NNNNNN`` comments (their body is SQL) and drop all other comments."""
    out: list[str] = []
    i = 0
    n = len(sql)
    depth = 0
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            j = i + 1
            while j < n:
                if sql[j] == "\\" and ch != "`":
                    j += 2
                    continue
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            out.append(sql[i : j + 1])
            i = j + 1
            continue
        if sql.startswith("/*!", i) or sql.startswith("/*M!", i):
            i += 3 if sql[i + 2] == "!" else 4
            while i < n and sql[i].isdigit():
                i += 1
            out.append(" ")
            depth += 1
            continue
        if depth and sql.startswith("*/", i):
            out.append(" ")
            depth -= 1
            i += 2
            continue
        if ch == "#" or (sql.startswith("--", i) and (i + 2 == n or sql[i + 2] in " \t\r\n")):
            end = sql.find("\n", i)
            i = n if end < 0 else end
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(" ")
            i = end
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def tokenize(sql: str) -> list[Token]:
    """The statement's tokens, comments dropped. Raises SchemaError on unterminated quotes."""
    try:
        raw = _TOKENIZER.tokenize(open_versioned_comments(sql))
    except TokenError as exc:
        raise SchemaError(f"cannot tokenize SQL: {exc}") from exc
    tokens: list[Token] = []
    for t in raw:
        tt = t.token_type
        if tt == TokenType.SEMICOLON:
            kind = PUNCT
        elif tt == TokenType.IDENTIFIER:
            kind = IDENT
        elif tt in _STRINGS:
            kind = STRING
        elif tt == TokenType.NUMBER:
            kind = NUMBER
        elif t.text and (t.text[0].isalpha() or t.text[0] in "_$@"):
            kind = WORD
        else:
            kind = PUNCT
        if kind == WORD and " " in t.text.strip():  # sqlglot joins "PRIMARY KEY", "DOUBLE PRECISION"...
            tokens.extend(Token(WORD, w, w.upper(), "VAR") for w in t.text.split())
        else:
            tokens.append(Token(kind, t.text, t.text.upper(), tt.name))
    while tokens and tokens[-1].is_punct(";"):
        tokens.pop()
    return tokens


class TokenStream:
    """A cursor over tokens with the small set of moves a recursive-descent parser needs."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self, ahead: int = 0) -> Token | None:
        i = self.pos + ahead
        return self.tokens[i] if i < len(self.tokens) else None

    def at_end(self) -> bool:
        return self.pos >= len(self.tokens)

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise SchemaError("unexpected end of statement")
        self.pos += 1
        return tok

    def accept_word(self, *words: str) -> str | None:
        tok = self.peek()
        if tok is not None and tok.is_word(*words):
            self.pos += 1
            return tok.upper
        return None

    def accept_words(self, *words: str) -> bool:
        """Consume the exact word sequence if it is next."""
        for k, w in enumerate(words):
            tok = self.peek(k)
            if tok is None or not tok.is_word(w):
                return False
        self.pos += len(words)
        return True

    def accept_punct(self, text: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.is_punct(text):
            self.pos += 1
            return True
        return False

    def expect_word(self, *words: str) -> str:
        got = self.accept_word(*words)
        if got is None:
            raise SchemaError(f"expected {'/'.join(words)}, found {self._found()}")
        return got

    def expect_punct(self, text: str) -> None:
        if not self.accept_punct(text):
            raise SchemaError(f"expected {text!r}, found {self._found()}")

    def name(self) -> str:
        """An identifier: back-quoted, or a bare word (keywords allowed, as MySQL allows most)."""
        tok = self.next()
        if tok.kind in (IDENT, WORD) or (tok.kind == STRING and tok.raw_type == "STRING"):
            return tok.text
        raise SchemaError(f"expected a name, found {tok.text!r}")

    def qualified(self) -> tuple[str | None, str]:
        """``name`` or ``schema.name``."""
        first = self.name()
        if self.accept_punct("."):
            return first, self.name()
        return None, first

    def skip_parens(self) -> list[Token]:
        """Consume a balanced ``( ... )`` group and return the tokens inside it."""
        self.expect_punct("(")
        start = self.pos
        depth = 1
        while depth:
            tok = self.next()
            if tok.is_punct("("):
                depth += 1
            elif tok.is_punct(")"):
                depth -= 1
        return self.tokens[start : self.pos - 1]

    def skip_until_comma(self) -> None:
        """Skip tokens up to (not including) a top-level comma or the end."""
        depth = 0
        while not self.at_end():
            tok = self.peek()
            assert tok is not None
            if depth == 0 and (tok.is_punct(",") or tok.is_punct(")")):
                return
            if tok.is_punct("("):
                depth += 1
            elif tok.is_punct(")"):
                depth -= 1
            self.pos += 1

    def _found(self) -> str:
        tok = self.peek()
        return "end of statement" if tok is None else repr(tok.text)


def join_tokens(tokens: list[Token]) -> str:
    """SQL text of a token run (used for expressions kept as text: defaults, generated columns)."""
    parts: list[str] = []
    for t in tokens:
        if t.kind == STRING:
            parts.append("'" + t.text.replace("'", "''") + "'")
        elif t.kind == IDENT:
            parts.append("`" + t.text.replace("`", "``") + "`")
        else:
            parts.append(t.text)
    out = ""
    for p in parts:
        if out and not (p in (")", ",", ".") or out.endswith(("(", ".")) or (p == "(" and out[-1].isalnum())):
            out += " "
        out += p
    return out
