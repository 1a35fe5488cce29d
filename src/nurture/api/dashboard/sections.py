"""The dashboard's sections about leads moving: the funnel, conversion by a grouping (and
by cohort), velocity and sales. Each reads a report's result as the API answers it (its
JSON), so the page shows the API's figures and can say where each comes from."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from nurture.api.dashboard.charts import Bar, Series, bar_chart, funnel_chart, stacked_chart
from nurture.api.dashboard.i18n import Language
from nurture.api.dashboard.view import Column, Section, pairs, table

__all__ = ["conversion_section", "funnel_section", "sales_section", "svg", "velocity_section"]

Result = dict[str, Any]

_FUNNEL: tuple[Column, ...] = (Column("stage", "text"), Column("reached"), Column("rate", "rate"))
_FUNNEL += (Column("of_new", "rate"), Column("entered", label="col.entered_in_period"))
_RATES = (("mql", 1), ("sql", 2), ("customer", 5))
"""The steps whose share of the leads conversion shows, with their index in the funnel."""


def svg(markup: str) -> Markup:
    """A chart as markup: ``nurture.api.dashboard.charts`` escapes every text it writes."""
    return Markup(markup)


def funnel_section(result: Result, by: str, lang: Language) -> Section:
    stages = result["stages"]
    steps = [(lang.value(s["stage"]), s["reached"], _funnel_label(s, lang)) for s in stages]
    chart = funnel_chart("chart-funnel", lang.t("chart.funnel"), lang.t("chart.desc"), steps)
    rows = [(f"/stages/{i}", s) for i, s in enumerate(stages)]
    return Section(
        id="funnel",
        title=lang.t("section.funnel"),
        intro=lang.t("section.funnel.intro"),
        chart=svg(chart),
        tables=(table("funnel", "funnel", _FUNNEL, rows, lang, by=by),),
    )


def _funnel_label(stage: Result, lang: Language) -> str:
    count = lang.count(stage["reached"])
    return count if stage["rate"] is None else f"{count} · {lang.rate(stage['rate'])}"


def conversion_section(result: Result, by: str, lang: Language) -> Section:
    """Per group of ``by``: its leads and the share of them that became MQL, SQL and
    customer."""
    groups = result["groups"]
    names = [lang.value("(none)") if g["group"] is None else g["group"] for g in groups]
    series = [
        Series(lang.t(f"series.{stage}"), [Bar(g["stages"][i]["of_new"]) for g in groups])
        for stage, i in _RATES
    ]
    grouping = lang.t(f"phrase.{by}")
    title = lang.t("chart.conversion", by=grouping)
    chart = bar_chart(f"chart-by-{by}", title, lang.t("chart.desc"), names, series, lang.rate)
    columns = [Column("group", "text", label=f"by.{by}"), Column("0/reached", label="col.leads")]
    columns += [Column(f"{i}/of_new", "rate", label=f"series.{stage}") for stage, i in _RATES]
    rows = [
        (f"/groups/{n}/stages", {"group": name, **_by_step(g["stages"])})
        for n, (name, g) in enumerate(zip(names, groups, strict=True))
    ]
    return Section(
        id=f"by-{by}",
        title=lang.t("section.conversion", by=grouping),
        intro=lang.t("section.conversion.intro"),
        chart=svg(chart),
        tables=(table("conversion", "funnel", columns, rows, lang, by=by, caption=title),),
    )


def _by_step(stages: list[Result]) -> Result:
    return {f"{i}/{key}": value for i, s in enumerate(stages) for key, value in s.items()}


_MOVES: tuple[Column, ...] = (
    Column("from_stage", "text"),
    Column("to_stage", "text"),
    Column("entered"),
)
_MOVES += (Column("measured"), Column("median_hours", "hours"), Column("p75_hours", "hours"))
_ACCEPT: tuple[Column, ...] = (Column("sla_hours", "hours"), Column("handoffs"), Column("accepted"))
_ACCEPT += (Column("median_hours", "hours"), Column("p75_hours", "hours"), Column("breaches"))
_ACCEPT += (Column("breach_rate", "rate"), Column("waiting"))


def velocity_section(result: Result, lang: Language) -> Section:
    moves = [(f"/moves/{i}", m) for i, m in enumerate(result["moves"])]
    moves.append(("/sales_cycle", result["sales_cycle"]))
    names = [f"{lang.value(m['from_stage'])} → {lang.value(m['to_stage'])}" for _, m in moves]
    series = [
        Series(lang.t(f"series.{name}"), [Bar(_days(m[f"{name}_hours"])) for _, m in moves])
        for name in ("median", "p75")
    ]
    title, desc = lang.t("chart.velocity"), lang.t("chart.desc")
    chart = bar_chart(
        "chart-velocity",
        title,
        desc,
        names,
        series,
        lambda days: lang.hours(days * 24),
        lambda days: f"{lang.number(days)}\u00a0{lang.t('unit.days')}",
    )
    return Section(
        id="velocity",
        title=lang.t("section.velocity"),
        intro=lang.t("section.velocity.intro"),
        chart=svg(chart),
        tables=(
            table("moves", "velocity", _MOVES, moves, lang),
            pairs("acceptance", "velocity", "/acceptance", result["acceptance"], _ACCEPT, lang),
        ),
    )


def _days(hours: float | None) -> float | None:
    return None if hours is None else hours / 24


_DECISIONS = ("accepted", "returned", "disqualified", "pending")
_SALES: tuple[Column, ...] = (
    Column("rep", "text"),
    Column("handoffs"),
    *(Column(d) for d in _DECISIONS),
)
_SALES += (Column("acceptance_rate", "rate"),)
_DEALS: tuple[Column, ...] = (Column("rep", "text"), Column("converted"), Column("won"))
_DEALS += (Column("lost"), Column("win_rate", "rate"))
_REASONS = ("budget", "authority", "need", "timing", "no_response", "other")


def sales_section(result: Result, lang: Language) -> Section:
    reps = [(f"/reps/{i}", _rep(r)) for i, r in enumerate(result["reps"])]
    everyone = [*reps, ("/total", {**result["total"], "rep": "(all)"})]
    names = [lang.value(r["rep"]) for _, r in everyone]
    series = [Series(lang.t(f"col.{d}"), [Bar(r[d]) for _, r in everyone]) for d in _DECISIONS]
    title, desc = lang.t("chart.sales"), lang.t("chart.desc")
    chart = stacked_chart("chart-sales", title, desc, names, series, lang.rate)
    reasons = [
        (f"{path}/return_reasons", {"rep": r["rep"], **r["return_reasons"]}) for path, r in everyone
    ]
    reason_columns = [Column("rep", "text"), *(Column(k, default=0) for k in _REASONS)]
    return Section(
        id="sales",
        title=lang.t("section.sales"),
        intro=lang.t("section.sales.intro"),
        chart=svg(chart),
        tables=(
            table("decisions", "sales", _SALES, everyone, lang),
            table("deals", "sales", _DEALS, everyone, lang),
            table("return_reasons", "sales", reason_columns, reasons, lang),
        ),
    )


def _rep(row: Result) -> Result:
    return {**row, "rep": "(pool)" if row["rep"] is None else row["rep"]}
