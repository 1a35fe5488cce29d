"""The dashboard's sections about what marketing sends and spends: emails, sequences,
experiments and cost, from the reports' results as the API answers them."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from nurture.api.dashboard.charts import Bar, Series, bar_chart
from nurture.api.dashboard.i18n import Language
from nurture.api.dashboard.sections import svg
from nurture.api.dashboard.view import Column, Section, table

__all__ = ["cost_section", "emails_section", "experiments_section", "sequences_section"]

Result = dict[str, Any]

_COUNTS = ("sent", "bounced", "opens", "machine_opens", "clicks", "unsubscribes", "complaints")
_TEMPLATES = (Column("template", "text"), *(Column(k) for k in _COUNTS), Column("machine_clicks"))
_RATES: tuple[Column, ...] = (Column("template", "text"), Column("sent"), Column("opens"))
_RATES += (Column("open_rate", "rate"), Column("clicks"), Column("click_rate", "rate"))
_STEPS: tuple[Column, ...] = (
    Column("sequence", "text"),
    Column("version", "text"),
    Column("step", "text"),
)
_STEPS += (*(Column(k) for k in _COUNTS), Column("machine_clicks"))
_ENDS = ("entered", "goal", "exited", "stopped", "finished")
_SEQUENCES: tuple[Column, ...] = (Column("sequence", "text"), Column("version", "text"))
_SEQUENCES += (*(Column(k) for k in _ENDS), Column("goal_rate", "rate"))


def emails_section(result: Result, lang: Language) -> Section:
    templates = result["templates"]
    names = [t["template"] for t in templates]
    series = [
        Series(lang.t(f"series.{rate}"), [Bar(t[rate]) for t in templates])
        for rate in ("open_rate", "click_rate")
    ]
    title, desc = lang.t("chart.emails"), lang.t("chart.desc")
    chart = bar_chart("chart-emails", title, desc, names, series, lang.rate)
    rows = [(f"/templates/{i}", t) for i, t in enumerate(templates)]
    return Section(
        id="emails",
        title=lang.t("section.emails"),
        intro=lang.t("section.emails.intro"),
        chart=svg(chart),
        tables=(table("rates", "emails", _RATES, rows, lang),),
        details=(table("templates", "emails", _TEMPLATES, rows, lang),),
    )


def sequences_section(result: Result, lang: Language) -> Section:
    sequences = result["sequences"]
    names = [f"{s['sequence']} v{s['version']}" for s in sequences]
    series = [Series(lang.t("series.goal_rate"), [Bar(s["goal_rate"]) for s in sequences])]
    title, desc = lang.t("chart.sequences"), lang.t("chart.desc")
    chart = bar_chart("chart-sequences", title, desc, names, series, lang.rate)
    rows = [(f"/sequences/{i}", s) for i, s in enumerate(sequences)]
    steps = [(f"/steps/{i}", s) for i, s in enumerate(result["steps"])]
    return Section(
        id="sequences",
        title=lang.t("section.sequences"),
        intro=lang.t("section.sequences.intro"),
        chart=svg(chart),
        tables=(table("sequences", "emails", _SEQUENCES, rows, lang),),
        details=(table("steps", "emails", _STEPS, steps, lang),),
    )


_ARMS: tuple[Column, ...] = (Column("variant", "text"), Column("leads"), Column("conversions"))
_ARMS += (Column("rate", "rate"), Column("ci_low", "rate"), Column("ci_high", "rate"))
_ARMS += (Column("difference", "rate"), Column("p_value", "number"), Column("test", "text"))
_ARMS += (Column("verdict", "text"),)


def experiments_section(result: Result, lang: Language) -> Section:
    """Each experiment's arms: a chart and a table per experiment."""
    experiments = result["experiments"]
    arms = [
        (f"/experiments/{e}/variants/{v}", experiment, _arm(arm))
        for e, experiment in enumerate(experiments)
        for v, arm in enumerate(experiment["variants"])
    ]
    tables = tuple(
        table(
            "experiments",
            "experiments",
            _ARMS,
            [(path, arm) for path, owner, arm in arms if owner is experiment],
            lang,
            caption=experiment["experiment"],
        )
        for experiment in experiments
    )
    intro = lang.t(
        "section.experiments.intro", leads=result["min_leads"], goals=result["min_conversions"]
    )
    return Section(
        id="experiments",
        title=lang.t("section.experiments"),
        intro=intro,
        chart=_arms_charts(arms, lang) if arms else None,
        tables=tables,
        note=None if arms else lang.t("section.empty"),
    )


def _arms_charts(arms: list[tuple[str, Result, Result]], lang: Language) -> Markup:
    """A chart per experiment (named in its legend): each arm's goal rate and interval."""
    charts, experiments = [], list({id(owner): owner for _, owner, _ in arms}.values())
    for number, experiment in enumerate(experiments):
        mine = [arm for _, owner, arm in arms if owner is experiment]
        bars = [Bar(arm["rate"], arm["ci_low"], arm["ci_high"]) for arm in mine]
        charts.append(
            bar_chart(
                f"chart-experiment-{number}",
                f"{lang.t('chart.experiments')}: {experiment['experiment']}",
                lang.t("chart.desc"),
                [lang.value(arm["variant"]) for arm in mine],
                [Series(experiment["experiment"], bars)],
                lang.rate,
                legend=True,
            )
        )
    return svg("".join(charts))


def _arm(arm: Result) -> Result:
    return {**arm, "variant": "(holdout)" if arm["variant"] is None else arm["variant"]}


_MONEY = ("cost_per_lead", "cost_per_mql", "cac")
_COST: tuple[Column, ...] = (
    Column("source", "text"),
    Column("spend", "money"),
    Column("leads"),
    Column("mqls"),
)
_COST += (Column("customers"), *(Column(k, "money") for k in _MONEY))


def cost_section(result: Result, lang: Language) -> Section:
    """Cost per lead, MQL and customer by source (a chart each: their scales differ a
    hundredfold), and the spend per source and month under them."""
    currency = result["currency"]
    sources = [(f"/sources/{i}", s) for i, s in enumerate(result["sources"])]
    everyone = [*sources, ("/total", {**result["total"], "source": "(all)"})]
    months = [(f"/rows/{i}", r) for i, r in enumerate(result["rows"])]
    spent = result["total"]["spend"] is not None
    details = (table("cost_months", "cost", _MONTHS, months, lang, currency=currency),)
    return Section(
        id="cost",
        title=lang.t("section.cost"),
        intro=lang.t("section.cost.intro"),
        chart=_cost_charts(everyone, currency, lang) if spent else None,
        tables=(table("cost", "cost", _COST, everyone, lang, currency=currency),),
        details=details if spent else (),
        note=None if spent else lang.t("section.cost.none"),
    )


def _cost_charts(rows: list[tuple[str, Result]], currency: str, lang: Language) -> Markup:
    names = [lang.value(row["source"]) for _, row in rows]
    charts = [
        bar_chart(
            f"chart-{key}",
            lang.t("chart.cost", what=lang.t(f"cost.{key}")),
            lang.t("chart.desc"),
            names,
            [Series(lang.t(f"cost.{key}"), [Bar(row[key]) for _, row in rows])],
            lambda value: lang.money(value, currency),
            lambda value: lang.money(value, currency, whole=True),
            legend=True,
        )
        for key in _MONEY
    ]
    return svg("".join(charts))


_MONTHS = (Column("source", "text"), Column("month", "text"), *_COST[1:])
