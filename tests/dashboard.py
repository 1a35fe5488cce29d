"""What the dashboard's tests share: a realistic facts log loaded into a store, the app
serving it, checking every figure a page shows against the API, and reading back a figure
the page shows (``1,234``, ``42.1%``, ``3.5 d``,
``€55.20`` in English; ``1 234``, ``42,1 %``, ``3,5 j``, ``55,20 €`` in French)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from bench.factgen import generate, spend
from nurture.adapters.factlog import FactStore
from nurture.api import create_app
from nurture.config.settings import ApiSettings, Settings
from nurture.services.reports import ReportConfig
from nurture.testing import MemoryLeadGateway, MemoryLedger
from tests.api.apitools import KEY
from tests.helpers import ROOT

__all__ = ["SLA", "check_figures", "dashboard_app", "load_log", "parse_figure", "tolerance"]

SLA = timedelta(hours=1)
"""The acceptance SLA of the shipped sales.toml."""
_SPACES = re.compile(r"[\s\u00a0\u202f]")
_UNITS = {"h": 1.0, "d": 24.0, "j": 24.0}


async def load_log(store: FactStore, leads: int) -> ReportConfig:
    """Append the generated log of ``leads`` leads to ``store``; the report configuration
    with a spend for the leads each source brought each month."""
    created: Counter[tuple[str, str]] = Counter()
    batch = []
    for facts in generate(leads):
        first = facts[0]
        if first.kind == "lead_created":
            created[(str(first.get("source")), str(first.get("cohort")))] += 1
        batch += facts
    await store.append(batch)
    return ReportConfig(costs=spend(created), accept_within=SLA)


def dashboard_app(store: FactStore, config: ReportConfig) -> FastAPI:
    """The API over ``store`` with the spend and SLA of ``config``, accepting
    ``tests.api.apitools.KEY`` (every scope)."""
    settings = Settings(home=ROOT, api=ApiSettings(keys=KEY))
    app = create_app(settings, gateway=MemoryLeadGateway(), ledger=MemoryLedger(), facts=store)
    app.state.context = replace(app.state.context, report_config=config)
    return app


def parse_figure(text: str, lang: str) -> float | None:
    """The value a written figure stands for: a rate as a ratio, a duration in hours, an
    amount in units; ``None`` for the dash of no value."""
    bare = _SPACES.sub("", text)
    if bare == "\N{EN DASH}":
        return None
    bare = bare.lstrip("<").strip("€$£")
    group, decimal = (",", ".") if lang == "en" else ("", ",")
    if group:
        bare = bare.replace(group, "")
    bare = bare.replace(decimal, ".")
    if bare.endswith("%"):
        return float(bare[:-1]) / 100
    if bare[-1] in _UNITS:
        return float(bare[:-1]) * _UNITS[bare[-1]]
    return float(bare)


def tolerance(text: str, lang: str) -> float:
    """Half the last written digit, in the unit ``parse_figure`` returns: what rounding
    for display may have changed."""
    if text.startswith("<"):
        return parse_figure(text, lang) or 0.0  # "< 0.001": anything from 0 to the bound
    bare = _SPACES.sub("", text).rstrip("%hdj€$£")
    decimal = "." if lang == "en" else ","
    places = len(bare.rsplit(decimal, 1)[1]) if decimal in bare else 0
    half = 0.5 * 10**-places + 1e-9
    if text.endswith("%"):
        return half / 100
    return half * _UNITS.get(text[-1], 1.0)


_READ_FIGURES = """JSON.stringify([...document.querySelectorAll('table[data-report] td[data-path]')]
  .map(td => {const t = td.closest('table');
    return [t.dataset.report, t.dataset.by, td.dataset.path, td.textContent.trim()]}))"""


async def check_figures(page: Any, origin: str, key: str, query: dict[str, str], lang: str) -> int:
    """Every figure of the page (a ``tests.e2e.browser.Page``) against the API's JSON for
    the same parameters, asked with ``key``; how many figures there were."""
    figures = json.loads(await page.evaluate(_READ_FIGURES))
    answers: dict[tuple[str, str], Any] = {}
    async with httpx.AsyncClient(base_url=origin, headers={"X-API-Key": key}) as client:
        for report, by, path, text in figures:
            if (report, by) not in answers:
                params = {**query, "by": by} if by else query
                # The scoring section is the back-test's, not a report's.
                url = "/v1/scoring/backtest" if report == "scoring" else f"/v1/reports/{report}"
                if report == "scoring":  # leads created since the first day; no until
                    params = {k: v for k, v in query.items() if k == "since"}
                response = await client.get(url, params=params)
                response.raise_for_status()
                answers[(report, by)] = response.json()
            expected = _pointer(answers[(report, by)], path)
            shown = parse_figure(text, lang)
            assert (shown is None) == (expected is None), (report, by, path, text, expected)
            if expected is not None:
                assert abs(shown - expected) <= tolerance(text, lang), (report, path, text)
    return len(figures)


def _pointer(document: Any, path: str) -> Any:
    for part in path.strip("/").split("/"):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document
