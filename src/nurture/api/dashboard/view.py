"""What the dashboard's template draws: sections, each a chart beside its tables, with
every figure already written in the reader's language.

Each figure cell keeps where it comes from: the report, the grouping it was run with and
the JSON pointer of its value in that report's API answer (``GET /v1/reports/{name}``), so
a check can read the page and find every figure it shows in the API's JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from nurture.api.dashboard.charts import NO_VALUE
from nurture.api.dashboard.i18n import Language

__all__ = ["Cell", "Column", "Section", "Table", "format_value", "pairs", "table"]


@dataclass(frozen=True)
class Column:
    """A column: the key of its value in each row, and what kind of value it holds
    (``text``, ``count``, ``rate``, ``hours``, ``money``, ``number``)."""

    key: str
    kind: str = "count"
    label: str | None = None
    """The text key of its heading, when not ``col.<key>``."""
    default: Any = None
    """Written when a row has no value (the API leaves such a key out)."""


@dataclass(frozen=True)
class Cell:
    """One written cell; ``path`` is the JSON pointer of a figure, ``None`` for text."""

    text: str
    path: str | None = None
    header: bool = False


@dataclass(frozen=True)
class Table:
    """A table of one report, run with one grouping."""

    name: str
    report: str
    by: str
    caption: str
    headers: tuple[str, ...]
    numeric: tuple[bool, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True)
class Section:
    """A chart (inline SVG) and the tables that hold its figures."""

    id: str
    title: str
    intro: str
    chart: Markup | None
    tables: tuple[Table, ...]
    details: tuple[Table, ...] = ()
    """Tables too wide to sit beside the chart: under it, the whole width."""
    note: str | None = None


def format_value(value: Any, kind: str, lang: Language, currency: str = "EUR") -> str:
    """``value`` written for a person: a dash when there is none."""
    if value is None:
        return NO_VALUE
    if kind == "text":
        return lang.value(str(value))
    number = float(value)
    writers: dict[str, Callable[[float], str]] = {
        "count": lang.count,
        "rate": lang.rate,
        "hours": lang.hours,
        "number": lang.p_value,
        "decimal": lambda v: lang.number(v, 2),
        "money": lambda v: lang.money(v, currency),
    }
    return writers[kind](number)


def table(
    name: str,
    report: str,
    columns: Sequence[Column],
    rows: Iterable[tuple[str, Mapping[str, Any]]],
    lang: Language,
    *,
    by: str | None = None,
    currency: str = "EUR",
    caption: str | None = None,
) -> Table:
    """A table of ``rows`` (the JSON pointer of a row's object in the report's answer, and
    that object), the first column a row header."""
    written = tuple(
        tuple(
            Cell(
                format_value(values.get(c.key, c.default), c.kind, lang, currency),
                None if c.kind == "text" or c.key not in values else f"{path}/{c.key}",
                header=index == 0,
            )
            for index, c in enumerate(columns)
        )
        for path, values in rows
    )
    return Table(
        name=name,
        report=report,
        by=by or "",
        caption=caption or lang.t(f"table.{name}"),
        headers=tuple(lang.t(c.label or f"col.{c.key}") for c in columns),
        numeric=tuple(c.kind != "text" for c in columns),
        rows=written,
    )


def pairs(
    name: str,
    report: str,
    path: str,
    values: Mapping[str, Any],
    columns: Sequence[Column],
    lang: Language,
) -> Table:
    """A one-row result (at JSON pointer ``path``) as two columns: each field's label
    beside its value."""
    rows = tuple(
        (
            Cell(lang.t(c.label or f"col.{c.key}"), header=True),
            Cell(
                format_value(values.get(c.key, c.default), c.kind, lang),
                f"{path}/{c.key}" if c.key in values else None,
            ),
        )
        for c in columns
    )
    return Table(
        name=name,
        report=report,
        by="",
        caption=lang.t(f"table.{name}"),
        headers=(lang.t("col.measure"), lang.t("col.value")),
        numeric=(False, True),
        rows=rows,
    )
