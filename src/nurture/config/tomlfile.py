"""Read a TOML configuration file into a pydantic model, with errors a person can act on.

Every problem names the file, the line and the rule, for example
``config/scoring.toml:57: behaviour.2.points: Input should be a valid integer``: syntax
errors at the line ``tomllib`` stopped on, validation errors at the line that defines the
value (or, for a missing key, at its table's header).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from nurture.config.tomllines import Key, key_lines, line_of
from nurture.errors import ConfigError, ConfigProblem

__all__ = ["TomlFile", "load_toml_model", "read_toml_model"]

M = TypeVar("M", bound=BaseModel)
_AT = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")


class TomlFile(Generic[M]):
    """One configuration file as read: its model when it is valid, else the problems that
    stop it, and where each of its keys is, so later checks can name lines too."""

    def __init__(
        self, path: Path, text: str, model: M | None, problems: Sequence[ConfigProblem]
    ) -> None:
        self.path = path
        self.text = text
        self.model = model
        self.problems = tuple(problems)
        self._lines: dict[Key, int] | None = None

    def problem(
        self,
        loc: Sequence[str | int],
        message: str,
        severity: Literal["error", "warning"] = "error",
    ) -> ConfigProblem:
        """A problem with the value at ``loc`` (``("behaviour", 2, "points")``), at its line."""
        return ConfigProblem(
            file=self.path,
            line=line_of(self._key_lines(), loc),
            field=".".join(str(part) for part in loc) or None,
            message=message,
            severity=severity,
        )

    def _key_lines(self) -> dict[Key, int]:
        if self._lines is None:
            self._lines = key_lines(self.text)
        return self._lines


def read_toml_model(path: Path, model: type[M], what: str) -> TomlFile[M]:
    """``path`` read and validated as ``model``; every problem is kept, none raised.

    Args:
        path: the file to read.
        model: the pydantic model it must satisfy.
        what: what the file is, for the "not found" message ("scoring model").
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _unread(path, f"{what} file not found")
    except (OSError, UnicodeDecodeError) as exc:
        return _unread(path, f"cannot read the {what} file: {exc}")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return TomlFile(path, text, None, [_syntax_problem(path, text, exc)])
    return _validated(TomlFile(path, text, None, ()), model, raw)


def load_toml_model(path: Path, model: type[M], what: str) -> M:
    """``path`` validated as ``model``, or :class:`ConfigError` naming the file, the line and
    the field of every problem (see :func:`read_toml_model`)."""
    read = read_toml_model(path, model, what)
    if read.model is None:
        raise ConfigError.of(read.problems)
    return read.model


def _validated(read: TomlFile[M], model: type[M], raw: dict[str, Any]) -> TomlFile[M]:
    try:
        read.model = model.model_validate(raw)
    except ValidationError as exc:
        read.problems = tuple(
            read.problem(loc, message) for loc, message in _merge_alternatives(exc, raw).items()
        )
    return read


def _merge_alternatives(exc: ValidationError, raw: dict[str, Any]) -> dict[Key, str]:
    """Path → message, one per wrong value.

    A value that may be of several types (a property: text, number or boolean) fails once
    per type, each at the value's path plus the type's name (``content.int``); those become
    one message at the value's own path: "Input should be a valid boolean or integer".
    """
    merged: dict[Key, list[str]] = {}
    for err in exc.errors():
        loc = tuple(err["loc"])
        if err["type"] != "missing" and loc[-1:] != ("[key]",) and not _in_document(raw, loc):
            loc = loc[:-1]  # the name of a union member, not a key of the file
        merged.setdefault(loc, []).append(err["msg"])
    return {loc: _either(messages) for loc, messages in merged.items()}


def _in_document(raw: Any, loc: Key) -> bool:
    """Whether ``loc`` names a key or index that the parsed document really has."""
    for part in loc:
        keyed = isinstance(raw, dict) and part in raw
        indexed = isinstance(raw, list) and isinstance(part, int) and 0 <= part < len(raw)
        if not (keyed or indexed):
            return False
        raw = raw[part]
    return True


def _either(messages: list[str]) -> str:
    if len(messages) == 1:
        return messages[0]
    prefix = "Input should be a valid "
    if all(m.startswith(prefix) for m in messages):
        kinds = [m.removeprefix(prefix).split(",")[0] for m in messages]
        return f"{prefix}{', '.join(kinds[:-1])} or {kinds[-1]}"
    return "; or ".join(messages)


def _unread(path: Path, message: str) -> TomlFile[Any]:
    return TomlFile(path, "", None, [ConfigProblem(file=path, message=message)])


def _syntax_problem(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> ConfigProblem:
    """tomllib says where it stopped at the end of its message; make that the line."""
    message = str(exc)
    at = _AT.search(message)
    if at is None:
        return ConfigProblem(file=path, message=f"not valid TOML: {message}")
    line, column = at.groups()
    where = f" (column {column})" if column else " (at the end of the file)"
    return ConfigProblem(
        file=path,
        line=int(line) if line else text.count("\n") + 1,
        message=f"not valid TOML: {message[: at.start()]}{where}",
    )
