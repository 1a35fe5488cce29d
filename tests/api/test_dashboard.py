"""``GET /reports``: who may see the dashboard, in which language, that its figures are
the reports service's (the browser test compares them with the API's JSON), and that they
are kept while the facts log has not moved."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nurture.adapters.links.links import UNSUBSCRIBE
from nurture.adapters.links.tokens import TokenSigner
from nurture.api.security import new_api_key, parse_api_keys
from nurture.config.files import load_scoring_model
from nurture.config.settings import Settings
from nurture.domain.factlog import Fact
from nurture.services.dashboard_link import REPORTS, dashboard_url
from nurture.services.reports import ReportConfig, parse_query, run_report
from nurture.services.scoring_backtest import BacktestCache, run_backtest
from nurture.testing import MemoryFactStore
from tests.api.apitools import AUTH
from tests.dashboard import dashboard_app, load_log, parse_figure, tolerance
from tests.helpers import SCORING_FILE
from tests.unit.reports.test_service import SpyStore

SIGNER = TokenSigner(Settings().secret())


@pytest.fixture(scope="module")
def log() -> tuple[MemoryFactStore, ReportConfig]:
    store = MemoryFactStore()
    config = asyncio.run(load_log(store, leads=300))
    return store, config


@pytest.fixture
def client(log: tuple[MemoryFactStore, ReportConfig]) -> Iterator[TestClient]:
    with TestClient(dashboard_app(*log)) as test_client:
        yield test_client


def link_token(valid_for: timedelta = timedelta(hours=1), now: datetime | None = None) -> str:
    url = dashboard_url(SIGNER, "http://x", now or datetime.now(UTC), valid_for)
    return url.rsplit("token=", 1)[1]


class Figures(HTMLParser):
    """The figure cells of a page: (report, by, JSON pointer, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.table: dict[str, str | None] = {}
        self.cell: list[str] | None = None
        self.found: list[tuple[str, str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "table":
            self.table = values
        elif tag == "td" and values.get("data-path"):
            report, by = str(self.table["data-report"]), str(self.table["data-by"])
            self.cell = [report, by, str(values["data-path"]), ""]

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell[3] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cell is not None:
            self.found.append((self.cell[0], self.cell[1], self.cell[2], self.cell[3].strip()))
            self.cell = None


def pointer(document: Any, path: str) -> Any:
    for part in path.strip("/").split("/"):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


class TestAccess:
    """A key with the reports scope, or the signed link, opens the page; nothing else."""

    def test_no_key_no_link(self, client: TestClient) -> None:
        """401, saying how to get a link."""
        response = client.get("/reports")
        assert response.status_code == 401
        assert "nurture report open" in response.text

    def test_key(self, client: TestClient) -> None:
        """A key with the scope: the page, with no token to keep."""
        response = client.get("/reports", headers=AUTH)
        assert response.status_code == 200
        assert 'name="token"' not in response.text

    def test_link(self, client: TestClient) -> None:
        """The signed link: the page, whose form keeps the token."""
        token = link_token()
        response = client.get("/reports", params={"token": token})
        assert response.status_code == 200
        assert f'<input type="hidden" name="token" value="{token}">' in response.text

    def test_expired_link(self, client: TestClient) -> None:
        """An expired link says so."""
        old = datetime.now(UTC) - timedelta(days=2)
        response = client.get("/reports", params={"token": link_token(timedelta(days=1), old)})
        assert response.status_code == 401
        assert "expired" in response.text

    def test_token_of_another_purpose(self, client: TestClient) -> None:
        """An unsubscribe token does not open the reports."""
        token = SIGNER.sign(UNSUBSCRIBE, {"l": "L1", "h": "x"})
        assert client.get("/reports", params={"token": token}).status_code == 401
        assert SIGNER.sign(REPORTS, {}) != token

    def test_wrong_key(self, client: TestClient) -> None:
        """An unknown key: 401."""
        assert client.get("/reports", headers={"X-API-Key": "nope"}).status_code == 401

    def test_key_without_the_scope(self, log: tuple[MemoryFactStore, ReportConfig]) -> None:
        """A key for events only: 403 naming the scope, as the API answers."""
        key, entry = new_api_key(["events"])
        app = dashboard_app(*log)
        context = app.state.context
        app.state.context = replace(context, api_keys=[*context.api_keys, *parse_api_keys(entry)])
        with TestClient(app) as other:
            response = other.get("/reports", headers={"X-API-Key": key})
        assert response.status_code == 403
        assert "lacks the reports scope" in response.text


class TestPage:
    """A page that needs nothing from elsewhere, in the reader's language."""

    def test_locked_down(self, client: TestClient) -> None:
        """Its policy allows its own styles and nothing to fetch; never cached, no referrer."""
        response = client.get("/reports", headers=AUTH)
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "style-src 'sha256-" in policy
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "<script" not in response.text and "http://" not in response.text.split("<svg")[0]

    @pytest.mark.parametrize(
        ("params", "header", "lang", "heading"),
        [
            ({"lang": "fr"}, "en", "fr", "Entonnoir"),
            ({}, "fr-FR,fr;q=0.9", "fr", "Entonnoir"),
            ({}, "de", "en", "Funnel"),
        ],
    )
    def test_language(
        self, client: TestClient, params: dict[str, str], header: str, lang: str, heading: str
    ) -> None:
        """?lang= first, then Accept-Language, then the project's default (English)."""
        response = client.get(
            "/reports", params=params, headers={**AUTH, "Accept-Language": header}
        )
        assert f'<html lang="{lang}">' in response.text
        assert f'<h2 id="funnel-title">{heading}</h2>' in response.text

    def test_bad_date(self, client: TestClient) -> None:
        """A bad date: 400 naming it, the form still there to fix it."""
        response = client.get("/reports", params={"since": "2026-13-01"}, headers=AUTH)
        assert response.status_code == 400
        assert "since: '2026-13-01' is not a date" in unescape(response.text)
        assert 'id="since"' in response.text

    @pytest.mark.parametrize("lang", ["en", "fr"])
    def test_figures_are_the_reports(
        self, client: TestClient, log: tuple[MemoryFactStore, ReportConfig], lang: str
    ) -> None:
        """Every figure shown is the one the reports service gives for the same query."""
        params = {"since": "2026-02-01", "until": "2026-11-01", "by": "form", "lang": lang}
        parser = Figures()
        parser.feed(client.get("/reports", params=params, headers=AUTH).text)
        store, config = log
        answers: dict[tuple[str, str], Any] = {}
        for report, by, path, text in parser.found:
            if (report, by) not in answers:
                answers[(report, by)] = _answer(store, config, report, by)
            expected, shown = pointer(answers[(report, by)], path), parse_figure(text, lang)
            assert (shown is None) == (expected is None), (report, path, text)
            assert expected is None or abs(shown - expected) <= tolerance(text, lang)
        assert {(r, b) for r, b, _, _ in parser.found} == {
            ("funnel", "form"),
            ("funnel", "cohort"),
            ("velocity", ""),
            ("sales", ""),
            ("emails", ""),
            ("experiments", ""),
            ("cost", ""),
            ("scoring", ""),
        }


class TestFiguresKept:
    """The page's figures are kept while the log has not moved, and it says when they were
    computed."""

    def test_kept_until_a_fact_comes(self) -> None:
        store = SpyStore()
        config = asyncio.run(load_log(store, leads=40))
        with TestClient(dashboard_app(store, config)) as client:
            first = client.get("/reports", headers=AUTH).text
            assert client.get("/reports", params={"lang": "fr"}, headers=AUTH).status_code == 200
            assert len(store.reads) == 2  # the reports in one pass, the scoring back-test
            late = Fact(id="late", lead_id="late", kind="lead_created", at=datetime.now(UTC))
            asyncio.run(store.append([late]))
            client.get("/reports", headers=AUTH)
            assert len(store.reads) == 4
        assert re.search(r"Figures as of \d\d:\d\d UTC\.", first)

    def test_french(self, client: TestClient) -> None:
        page = client.get("/reports", params={"lang": "fr"}, headers=AUTH).text
        assert re.search(r"Chiffres arrêtés à \d\d:\d\d UTC\.", page)


def _answer(store: MemoryFactStore, config: ReportConfig, report: str, by: str) -> Any:
    """What the API (or, for the scoring section, the back-test service) answers for the
    page's query."""
    if report == "scoring":
        model = load_scoring_model(SCORING_FILE)
        result = run_backtest(store, model, model, date(2026, 2, 1))
        return asyncio.run(result).model_dump(mode="json")
    query = parse_query(report, "2026-02-01", "2026-11-01", by or None, config)
    return asyncio.run(run_report(report, store, query)).model_dump(mode="json")


class TestScoringSection:
    """The back-test section compares the current model with the project's candidate."""

    def test_against_itself_without_a_candidate(self, client: TestClient) -> None:
        page = unescape(client.get("/reports", headers=AUTH).text)
        assert "Scoring model" in page and "config/scoring.candidate.toml" in page

    def test_a_candidate_that_cannot_be_read_is_said(
        self, log: tuple[MemoryFactStore, ReportConfig], tmp_path: Path
    ) -> None:
        broken = tmp_path / "scoring.candidate.toml"
        broken.write_text("[thresholds]\nmql = 'twenty'\n")
        app = dashboard_app(*log)
        cache = BacktestCache(SCORING_FILE, broken)
        app.state.context = replace(app.state.context, backtest=cache)
        with TestClient(app) as client:
            response = client.get("/reports", headers=AUTH)
        assert response.status_code == 200
        assert "The scoring models could not be read" in unescape(response.text)
