"""Where each key of a TOML document is defined, so an error can name the line to look at.

``tomllib`` returns values without positions, and pydantic says where a value is wrong as a
path such as ``("behaviour", 2, "points")``. :func:`key_lines` walks a document that
``tomllib`` has already accepted and records the line of every table header, array-of-tables
entry (counted as pydantic counts them), key (dotted keys included), array element and
inline-table key. It reads the structure only, never the values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = ["Key", "key_lines", "line_of"]

Key = tuple[str | int, ...]
"""A path into the document, as pydantic reports it: table and key names, array indexes."""

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_BLANK = " \t\r"
_QUOTES = ('"', "'")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def key_lines(text: str) -> dict[Key, int]:
    """Every path defined in ``text`` → the 1-based line that defines it."""
    scanner = _Scanner(text)
    scanner.document()
    return scanner.lines


def line_of(lines: Mapping[Key, int], loc: Sequence[str | int]) -> int | None:
    """The line of ``loc``, else of its nearest enclosing key or table that the document
    defines (a missing key points at its table's header); None if nothing encloses it."""
    for end in range(len(loc), 0, -1):
        line = lines.get(tuple(loc[:end]))
        if line is not None:
            return line
    return None


class _Scanner:
    """A single pass over a valid TOML document, keeping the line of each definition."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[Key, int] = {}
        self.explicit: set[Key] = set()
        """Paths defined by their own header or key, not only as a prefix of a longer one."""
        self.arrays: dict[Key, int] = {}
        """Each array of tables → how many ``[[...]]`` entries it has so far."""
        self.table: Key = ()

    def document(self) -> None:
        while self._skip_blank(newlines=True):
            start = self.pos
            if self.text.startswith("[[", self.pos):
                self._array_table()
            elif self._peek() == "[":
                self._table()
            else:
                self._key_value(self.table)
            if self.pos == start:  # never loop on text tomllib would have refused
                self._advance(1)

    # --- statements -----------------------------------------------------------------------

    def _table(self) -> None:
        line = self.line
        self._advance(1)
        self.table = self._resolve(self._key())
        self._define(self.table, line)
        self._skip_to("]")

    def _array_table(self) -> None:
        line = self.line
        self._advance(2)
        *parent, name = self._key()
        array = (*self._resolve(parent), name)
        count = self.arrays.get(array, 0)
        self.arrays[array] = count + 1
        self.table = (*array, count)
        self._define(self.table, line)
        self._skip_to("]]")

    def _key_value(self, base: Key) -> None:
        line = self.line
        path = (*base, *self._key())
        self._define(path, line)
        self._skip_to("=")
        self._skip_blank(newlines=False)
        self._value(path)

    def _resolve(self, parts: Sequence[str]) -> Key:
        """A header's dotted name as a path: a name that is an array of tables means its
        latest entry, as in TOML."""
        path: Key = ()
        for part in parts:
            path = (*path, part)
            if path in self.arrays:
                path = (*path, self.arrays[path] - 1)
        return path

    def _define(self, path: Key, line: int) -> None:
        """``path`` is defined at ``line``; its prefixes too, unless defined on their own."""
        for end in range(1, len(path)):
            self.lines.setdefault(path[:end], line)
        if path not in self.explicit:
            self.explicit.add(path)
            self.lines[path] = line

    # --- values ---------------------------------------------------------------------------

    def _value(self, path: Key) -> None:
        first = self._peek()
        if first == "[":
            self._array(path)
        elif first == "{":
            self._inline_table(path)
        elif first in _QUOTES:
            self._string()
        else:  # number, boolean, date or time: up to the next delimiter
            while self._peek() not in ("", ",", "]", "}", "\n", "#"):
                self._advance(1)

    def _array(self, path: Key) -> None:
        self._advance(1)
        index = 0
        while self._skip_blank(newlines=True) and self._peek() != "]":
            self._define((*path, index), self.line)
            self._value((*path, index))
            index += 1
            self._skip_blank(newlines=True)
            if self._peek() == ",":
                self._advance(1)
        self._advance(1)

    def _inline_table(self, path: Key) -> None:
        self._advance(1)
        while self._skip_blank(newlines=True) and self._peek() != "}":
            self._key_value(path)
            self._skip_blank(newlines=True)
            if self._peek() == ",":
                self._advance(1)
        self._advance(1)

    def _string(self) -> str:
        """Consume a string of any of TOML's four kinds; return its text (escapes undone
        roughly: enough for a quoted key)."""
        quote = self._peek()
        fence = quote * 3
        multiline = self.text.startswith(fence, self.pos)
        self._advance(3 if multiline else 1)
        start = self.pos
        closing = fence if multiline else quote
        while self.pos < len(self.text) and not self.text.startswith(closing, self.pos):
            self._advance(2 if quote == '"' and self._peek() == "\\" else 1)
        if multiline:  # up to two quotes may end the content: """a"""" is 'a"'
            while self.text.startswith(closing + quote, self.pos):
                self._advance(1)
        raw = self.text[start : self.pos]
        self._advance(len(closing))
        return _ESCAPE.sub(r"\1", raw) if quote == '"' else raw

    # --- keys and blanks ------------------------------------------------------------------

    def _key(self) -> list[str]:
        """A dotted key (``when.job_title``, ``"a.b".c``), as its parts."""
        parts: list[str] = []
        while True:
            self._skip_blank(newlines=False)
            if self._peek() in _QUOTES:
                parts.append(self._string())
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                bare = match.group() if match else ""
                self._advance(len(bare))
                parts.append(bare)
            self._skip_blank(newlines=False)
            if self._peek() != ".":
                return parts
            self._advance(1)

    def _skip_blank(self, *, newlines: bool) -> bool:
        """Skip spaces, comments and (if allowed) line breaks; False at the end of the text."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "#":
                end = self.text.find("\n", self.pos)
                self._advance((len(self.text) if end < 0 else end) - self.pos)
            elif char in _BLANK or (newlines and char == "\n"):
                self._advance(1)
            else:
                return True
        return False

    def _skip_to(self, token: str) -> None:
        """Move past the next ``token`` (the ``]`` of a header, the ``=`` of a key)."""
        found = self.text.find(token, self.pos)
        self._advance((len(self.text) if found < 0 else found + len(token)) - self.pos)

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _advance(self, count: int) -> None:
        end = min(self.pos + count, len(self.text))
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end
