"""The dashboard's scoring section: the back-test of the current scoring model against the
project's candidate (``config/scoring.candidate.toml``), or against itself when there is
none, which still says how well today's score ranks what sales decided."""

from __future__ import annotations

from typing import Any

from nurture.api.dashboard.i18n import Language
from nurture.api.dashboard.view import Column, Section, table

__all__ = ["scoring_section"]

_MODELS: tuple[Column, ...] = (
    Column("model", "text"),
    Column("mql"),
    Column("sql"),
    Column("auc", "decimal"),
    Column("suggested_sql"),
    Column("suggestion", "text"),
)
_OUTCOMES: tuple[Column, ...] = (
    Column("outcome", "text"),
    Column("handoffs"),
    Column("shares/current_mql", "rate", label="col.current_mql"),
    Column("shares/current_sql", "rate", label="col.current_sql"),
    Column("shares/candidate_mql", "rate", label="col.candidate_mql"),
    Column("shares/candidate_sql", "rate", label="col.candidate_sql"),
)


def scoring_section(
    result: dict[str, Any] | None, candidate: str | None, lang: Language, error: str = ""
) -> Section:
    """``result``: the back-test as the JSON of ``BacktestReport``; ``None`` with ``error``
    when the models could not be read. ``candidate``: the candidate's file name, if any."""
    against = candidate or lang.t("section.scoring.self")
    if result is None:
        return Section(
            id="scoring",
            title=lang.t("section.scoring"),
            intro=lang.t("section.scoring.intro", candidate=against),
            chart=None,
            tables=(),
            note=lang.t("section.scoring.broken", error=error),
        )
    models = [(f"/models/{i}", m) for i, m in enumerate(result["models"])]
    outcomes = [(f"/outcomes/{i}", _flat(r)) for i, r in enumerate(result["outcomes"])]
    return Section(
        id="scoring",
        title=lang.t("section.scoring"),
        intro=lang.t("section.scoring.intro", candidate=against),
        chart=None,
        tables=(
            table("backtest_models", "scoring", _MODELS, models, lang),
            table("backtest_outcomes", "scoring", _OUTCOMES, outcomes, lang),
        ),
        note=None if result["leads"] else lang.t("section.empty"),
    )


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """An outcome's row with its shares as ``shares/<count>`` keys (their JSON pointers)."""
    return {**row, **{f"shares/{k}": v for k, v in row["shares"].items()}}
