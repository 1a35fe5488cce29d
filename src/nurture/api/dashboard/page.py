"""The dashboard page: the reports it asks for (all read at once by the reports service,
as the API runs them), the sections it shows, and the HTML the template makes of them.

The page is complete in itself: styles inline (allowed by their hash in the page's
Content-Security-Policy, which allows nothing else: no script, no font, no request out),
charts as inline SVG, no image but the empty icon that keeps browsers from asking for
``/favicon.ico``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files

from jinja2 import Environment, PackageLoader, select_autoescape

from nurture.api.dashboard.campaigns import (
    cost_section,
    emails_section,
    experiments_section,
    sequences_section,
)
from nurture.api.dashboard.i18n import LANGUAGES, Language
from nurture.api.dashboard.sections import (
    conversion_section,
    funnel_section,
    sales_section,
    velocity_section,
)
from nurture.api.dashboard.view import Section
from nurture.domain.reports import ReportQuery, ReportResult
from nurture.domain.reports.funnel import FUNNEL_BY
from nurture.services.reports import ReportConfig, parse_query

__all__ = [
    "CSP",
    "GROUPINGS",
    "DashboardRequest",
    "dashboard_asks",
    "dashboard_sections",
    "render_dashboard",
]

GROUPINGS: tuple[str, ...] = tuple(b for b in FUNNEL_BY if b != "cohort")
"""What the conversion section may group by (cohort has its own section)."""

_CSS = (files("nurture.api") / "templates" / "reports.css").read_text(encoding="utf-8")
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
CSP = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
"""The page's Content-Security-Policy: its own styles, and nothing to fetch."""

_TEMPLATES = Environment(
    loader=PackageLoader("nurture.api", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class DashboardRequest:
    """What the page was asked: the range, the grouping, the language, and the signed
    link's token (kept in the page's own links and form), if it came with one."""

    since: str | None
    until: str | None
    by: str
    lang: Language
    token: str | None = None

    def query(self, **changes: str | None) -> dict[str, str]:
        """The parameters of a link to this page with ``changes``, blanks left out."""
        values = {
            "since": self.since,
            "until": self.until,
            "by": self.by,
            "lang": self.lang.code,
            "token": self.token,
            **changes,
        }
        return {key: value for key, value in values.items() if value}


_OTHERS = ("velocity", "sales", "emails", "experiments", "cost")
"""The reports the page shows besides the funnel by ``by`` and by cohort, in its order."""


def dashboard_asks(ask: DashboardRequest, config: ReportConfig) -> list[tuple[str, ReportQuery]]:
    """The reports the page shows, each with its query (as ``run_reports`` takes them);
    ``ReportParamError`` for a bad date."""
    groupings = [("funnel", ask.by), ("funnel", "cohort"), *((name, None) for name in _OTHERS)]
    return [
        (name, parse_query(name, ask.since, ask.until, grouping, config))
        for name, grouping in groupings
    ]


def dashboard_sections(results: Sequence[ReportResult], ask: DashboardRequest) -> list[Section]:
    """Every section of the page, from the results of ``dashboard_asks``'s reports (read
    as the API answers them, their JSON)."""
    lang, by = ask.lang, ask.by
    funnel, cohorts, velocity, sales, emails, experiments, cost = (
        result.model_dump(mode="json") for result in results
    )
    return [
        funnel_section(funnel, by, lang),
        conversion_section(funnel, by, lang),
        conversion_section(cohorts, "cohort", lang),
        velocity_section(velocity, lang),
        sales_section(sales, lang),
        emails_section(emails, lang),
        sequences_section(emails, lang),
        experiments_section(experiments, lang),
        cost_section(cost, lang),
    ]


def render_dashboard(
    ask: DashboardRequest,
    company: str,
    sections: list[Section],
    error: str | None = None,
    computed_at: datetime | None = None,
) -> str:
    """The page's HTML; ``computed_at``: when its figures were computed."""
    as_of = "" if computed_at is None else ask.lang.t("page.as_of", time=f"{computed_at:%H:%M}")
    return _TEMPLATES.get_template("reports.html").render(
        as_of=as_of,
        ask=ask,
        lang=ask.lang,
        t=ask.lang.t,
        company=company,
        sections=sections,
        error=error,
        css=_CSS,
        groupings=GROUPINGS,
        languages=LANGUAGES,
        range_text=_range_text(ask),
    )


def _range_text(ask: DashboardRequest) -> str:
    lang = ask.lang
    parts = [lang.t("page.from", since=ask.since) if ask.since else lang.t("page.all_time")]
    if ask.until:
        parts.append(lang.t("page.until", until=ask.until))
    return lang.t("page.range", range=" ".join(parts)) + "."
