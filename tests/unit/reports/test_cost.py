"""The cost report divides the configured spend by the leads, MQLs and customers of each
source and month, and ``[costs]`` is checked like the rest of the configuration."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from nurture.config.check import check_configuration
from nurture.config.settings import Settings
from nurture.domain.factlog import Fact
from nurture.domain.reports import Costs, ReportQuery
from nurture.domain.reports.cost import CostRow, cost
from tests.configfiles import copy_project
from tests.unit.reports.factbook import NOVEMBER, at, fact, ordered

SPEND = Costs.model_validate(
    {
        "currency": "EUR",
        "spend": [
            {"source": "inbound", "month": "2026-11", "amount": 1000},
            {"source": "organic", "month": "2026-11", "amount": 0},
            {"source": "referral", "month": "2026-11", "amount": "200"},
            {"source": "referral", "month": "2026-10", "amount": 500},
            {"source": "inbound", "month": "2026-12", "amount": 300},
        ],
    }
)


def lead(name: str, source: str, furthest: str | None = None, day: float = 1) -> list[Fact]:
    created = fact(name, "lead_created", at(day), source=source, cohort=f"{at(day):%Y-%m}")
    if furthest is None:
        return [created]
    return [created, fact(name, "stage_changed", at(day + 1), to_stage=furthest)]


# November: inbound i1 (customer), i2 (mql), i3, i4 → 4 leads, 2 MQLs, 1 customer;
# organic o1 (mql), o2 → 2, 1, 0; outbound x1 → 1, 0, 0 (no spend configured).
# December: inbound i5 (created 3 December).
LOG = ordered(
    lead("i1", "inbound", "customer")
    + lead("i2", "inbound", "mql")
    + lead("i3", "inbound")
    + lead("i4", "inbound")
    + lead("o1", "organic", "mql")
    + lead("o2", "organic")
    + lead("x1", "outbound")
    + lead("i5", "inbound", day=31)
)


FIELDS = ("source", "month", "spend", "leads", "mqls", "customers")
FIELDS += ("cost_per_lead", "cost_per_mql", "cac")


def figures(row: CostRow) -> tuple[object, ...]:
    return tuple(getattr(row, name) for name in FIELDS)


class TestNovember:
    """One month: each source's spend over its own counts."""

    def test_rows(self) -> None:
        """inbound 1000 / 4 leads = 250, / 2 MQLs = 500, / 1 customer = 1000; organic spent
        0: 0 per lead and MQL, no customer so no CAC; outbound has no spend: no cost; referral
        spent 200 for no lead: no cost. October's and December's spend are out."""
        report = cost(LOG, NOVEMBER.model_copy(update={"costs": SPEND}))
        assert [figures(r) for r in report.rows] == [
            ("inbound", "2026-11", 1000.0, 4, 2, 1, 250.0, 500.0, 1000.0),
            ("organic", "2026-11", 0.0, 2, 1, 0, 0.0, 0.0, None),
            ("outbound", "2026-11", None, 1, 0, 0, None, None, None),
            ("referral", "2026-11", 200.0, 0, 0, 0, None, None, None),
        ]
        assert report.currency == "EUR"

    def test_total_divides_by_the_rows_with_a_spend(self) -> None:
        """Spend 1000 + 0 + 200 = 1200; leads of the rows with a spend 4 + 2 + 0 = 6 → 200
        (outbound's lead is counted, not divided); MQLs 3 → 400; customers 1 → 1200."""
        total = cost(LOG, NOVEMBER.model_copy(update={"costs": SPEND})).total
        assert figures(total) == (None, None, 1200.0, 7, 3, 1, 200.0, 400.0, 1200.0)


class TestSeveralMonths:
    """Per source, every month of the range adds up."""

    def test_all_time(self) -> None:
        """inbound: 1000 + 300 = 1300 over 5 leads = 260, 2 MQLs = 650, 1 customer = 1300.
        Total: 2000 over the 7 leads of rows with a spend (x1 has none) = 285.71, 3 MQLs
        = 666.67, 1 customer = 2000."""
        report = cost(LOG, ReportQuery(costs=SPEND))
        assert [(r.source, r.month) for r in report.rows] == [
            ("inbound", "2026-11"),
            ("inbound", "2026-12"),
            ("organic", "2026-11"),
            ("outbound", "2026-11"),
            ("referral", "2026-10"),
            ("referral", "2026-11"),
        ]
        inbound = report.sources[0]
        assert figures(inbound) == ("inbound", None, 1300.0, 5, 2, 1, 260.0, 650.0, 1300.0)
        assert figures(report.total) == (None, None, 2000.0, 8, 3, 1, 285.71, 666.67, 2000.0)

    def test_a_month_touched_counts_by_day(self) -> None:
        """From 15 November: 16 of November's 30 days, 1000 x 16/30 = 533.33 for no lead
        created since; December, with no end, counts whole: 300 for i5."""
        report = cost(LOG, ReportQuery(since=date(2026, 11, 15), costs=SPEND))
        assert [(r.source, r.month, r.leads, r.spend) for r in report.rows][:2] == [
            ("inbound", "2026-11", 0, 533.33),
            ("inbound", "2026-12", 1, 300.0),
        ]
        assert report.prorated == ("2026-11",)


# 3000 EUR of inbound spend in November; one inbound lead created each day of it, at noon.
DAILY = ordered(
    fact(f"d{day:02}", "lead_created", datetime(2026, 11, day, 12, tzinfo=UTC), source="inbound")
    for day in range(1, 31)
)
NOVEMBER_3000 = Costs.model_validate(
    {"spend": [{"source": "inbound", "month": "2026-11", "amount": 3000}]}
)


class TestPartialMonths:
    """A month the range covers only partly counts its spend by the days covered."""

    def test_last_two_days(self) -> None:
        """29 November to 1 December: 2 of 30 days, 3000 x 2/30 = 200 for the 2 leads of
        those days, 100 per lead; the title says November was prorated."""
        query = ReportQuery(since=date(2026, 11, 29), until=date(2026, 12, 1))
        report = cost(DAILY, query.model_copy(update={"costs": NOVEMBER_3000}))
        assert figures(report.total) == (None, None, 200.0, 2, 0, 0, 100.0, None, None)
        assert report.prorated == ("2026-11",)
        assert "2026-11 prorated by day" in report.tables()[0].title

    def test_one_day_in_a_longer_range(self) -> None:
        """1 November only: 100 for 1 lead; the whole of November: 3000 for 30, 100 each,
        and nothing prorated."""
        one = cost(
            DAILY,
            ReportQuery(since=date(2026, 11, 1), until=date(2026, 11, 2), costs=NOVEMBER_3000),
        )
        assert (one.total.spend, one.total.leads, one.total.cost_per_lead) == (100.0, 1, 100.0)
        whole = cost(DAILY, NOVEMBER.model_copy(update={"costs": NOVEMBER_3000}))
        assert (whole.total.spend, whole.total.leads, whole.prorated) == (3000.0, 30, ())
        assert "prorated" not in whole.tables()[0].title


class TestEdges:
    """No spend and no lead: counts at zero, costs null."""

    def test_empty(self) -> None:
        report = cost([], NOVEMBER)
        assert report.rows == report.sources == ()
        assert figures(report.total) == (None, None, None, 0, 0, 0, None, None, None)
        assert report.tables()[0].rows == (("(all)", "(all)", None, 0, 0, 0, None, None, None),)


class TestCostsConfig:
    """``[costs]`` refuses what cannot be a spend, naming the field."""

    @pytest.mark.parametrize(
        ("entry", "field"),
        [
            ({"source": "inbound", "month": "2026-11", "amount": -1}, "amount"),
            ({"source": "inbound", "month": "2026-13", "amount": 1}, "month"),
            ({"source": "inbound", "month": "11/2026", "amount": 1}, "month"),
            ({"source": "billboards", "month": "2026-11", "amount": 1}, "source"),
            ({"source": "inbound", "month": "2026-11", "amount": "1.005"}, "amount"),
            ({"source": "inbound", "month": "9999-12", "amount": 1}, "month"),
            ({"source": "inbound", "month": "0000-01", "amount": 1}, "month"),
            ({"source": "inbound", "month": "1999-12", "amount": 1}, "month"),
            ({"source": "inbound", "month": "\u0662\u0660\u0662\u0666-11", "amount": 1}, "month"),
            ({"source": "inbound", "month": "2026-\u0661\u0661", "amount": 1}, "month"),
            ({"source": "inbound", "month": "\uff12\uff10\uff12\uff16-11", "amount": 1}, "month"),
        ],
    )
    def test_bad_entries(self, entry: dict[str, object], field: str) -> None:
        with pytest.raises(ValidationError) as caught:
            Costs.model_validate({"spend": [entry]})
        assert caught.value.errors()[0]["loc"] == ("spend", 0, field)

    @pytest.mark.parametrize("month", ["2000-01", "2026-12", "9998-12"])
    def test_months_at_the_bounds(self, month: str) -> None:
        """The first and last months allowed are reported on, the next month included."""
        costs = Costs.model_validate(
            {"spend": [{"source": "inbound", "month": month, "amount": 3}]}
        )
        (row,) = cost([], ReportQuery(costs=costs)).rows
        assert (row.month, row.spend) == (month, 3.0)

    def test_currency(self) -> None:
        with pytest.raises(ValidationError):
            Costs.model_validate({"currency": "eur"})
        assert Costs().currency == "EUR"

    def test_twice_the_same_month(self) -> None:
        entry = {"source": "inbound", "month": "2026-11", "amount": 1}
        with pytest.raises(ValidationError, match="inbound in 2026-11 is given twice"):
            Costs.model_validate({"spend": [entry, entry]})

    def test_lookup(self) -> None:
        assert SPEND.amount("referral", "2026-11") == Decimal("200")
        assert SPEND.amount("outbound", "2026-11") is None

    def test_config_check_names_the_line(self, tmp_path: Path) -> None:
        """`nurture config check` reports a bad spend at its line in nurture.toml."""
        home = copy_project(tmp_path)
        project = home / "config" / "nurture.toml"
        lines = project.read_text().count("\n")
        project.write_text(
            project.read_text()
            + '\n[costs]\ncurrency = "EUR"\n\n[[costs.spend]]\nsource = "inbound"\n'
            + 'month = "2026-11"\namount = -5\n'
        )
        (error,) = check_configuration(Settings(home=home)).errors
        assert str(error).endswith(
            f"nurture.toml:{lines + 8}: costs.spend.0.amount: "
            "Input should be greater than or equal to 0"
        )

    @pytest.mark.parametrize(
        ("month", "rule"),
        [
            ("9999-12", "the year must be from 2000 to 9998, not 9999"),
            ("0000-01", "the year must be from 2000 to 9998, not 0"),
            ("\u0662\u0660\u0662\u0666-11", "should match pattern"),
        ],
    )
    def test_config_check_names_a_bad_month(self, tmp_path: Path, month: str, rule: str) -> None:
        """A month out of bounds or in other digits is reported at its line."""
        home = copy_project(tmp_path)
        project = home / "config" / "nurture.toml"
        lines = project.read_text().count("\n")
        project.write_text(
            project.read_text()
            + f'\n[[costs.spend]]\nsource = "inbound"\nmonth = "{month}"\namount = 5\n'
        )
        (error,) = check_configuration(Settings(home=home)).errors
        assert f"nurture.toml:{lines + 4}: costs.spend.0.month: " in str(error)
        assert rule in str(error)
