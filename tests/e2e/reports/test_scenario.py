"""The issue's scenario on the dev stack (dev server, worker, API, SMTP): forms from two
sources, events to MQL and SQL, two hand-offs (one returned for budget, one won), an
unsubscribe and a lead in an A/B split. The reports give what the scenario implies, the
same through the API, the CLI and the dashboard in a real browser."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from nurture.devtools.stack import DevStack
from nurture.testing import ScriptedSmtpServer
from tests.dashboard import check_figures
from tests.e2e.browser import chromium_binary, open_page
from tests.e2e.stack.tools import HEADERS, lead_when, post_events, wait_until
from tests.helpers import SQL_BY_SCORE

pytestmark = pytest.mark.e2e

PERSONA = {"job_title": "Marketing director", "company_size": "80"}
FUNNEL = ("new", "mql", "sql", "accepted", "opportunity", "customer")
_ORDER = {stage: n for n, stage in enumerate(("new", "mql", "sql", "opportunity", "customer"))}


def _post(api: httpx.Client, form: str, email: str, **fields: str) -> str:
    response = api.post(f"/v1/forms/{form}", data={"email": email, **fields})
    assert response.status_code == 202, response.text
    return str(response.json()["lead_id"])


def _to_sql(api: httpx.Client, lead_id: str) -> str:
    """Scores the lead past SQL by behaviour; the rep its hand-off is assigned to."""
    post_events(api, lead_id, [(kind, {}) for kind in SQL_BY_SCORE], lead_id[:12])
    view = lead_when(
        api, lead_id, lambda v: any(e["kind"] == "assigned" for e in v["sales_log"]), 40
    )
    return str(view["handoffs"][-1]["owner"])


def _act(api: httpx.Client, lead_id: str, action: str, **body: str) -> None:
    response = api.post(f"/v1/leads/{lead_id}/{action}", headers=HEADERS, json=body)
    assert response.status_code == 200, response.text


def _unsubscribe(api: httpx.Client, smtp: ScriptedSmtpServer, email: str) -> None:
    """One click on the unsubscribe link of the lead's first marketing email."""

    def marketing() -> Any:
        return next(
            (
                m
                for m in smtp.messages
                if m["To"].addresses[0].addr_spec == email and m["List-Unsubscribe-Post"]
            ),
            None,
        )

    wait_until(lambda: marketing() is not None, within=30)
    https = str(marketing()["List-Unsubscribe"]).split(",")[0].strip(" <>")
    path = https.split("://", 1)[1].split("/", 1)[1]
    response = api.post(f"/{path}", content=b"List-Unsubscribe=One-Click")
    assert response.status_code == 200, response.text


def _confirm(api: httpx.Client, smtp: ScriptedSmtpServer, email: str) -> None:
    """Uses the double opt-in link of the confirmation email (the newsletter's)."""

    def confirmation() -> Any:
        return next(
            (
                m
                for m in smtp.messages
                if m["To"].addresses[0].addr_spec == email
                and m["X-Nurture-Template"] == "confirm_subscription"
            ),
            None,
        )

    wait_until(lambda: confirmation() is not None, within=30)
    text = confirmation().get_body(("plain",)).get_content()
    match = re.search(r"http://\S+/c/[A-Za-z0-9_.-]+", text)
    assert match, text
    confirmed = api.post("/" + match.group(0).split("/", 3)[3])
    assert confirmed.status_code == 200, confirmed.text


def _furthest(view: dict[str, Any]) -> int:
    """The furthest lifecycle step the lead's own history shows."""
    stages = [t["to_value"] for t in view["transitions"] if t["field"] == "stage"]
    return max((_ORDER.get(s, 0) for s in stages), default=0)


def _report(api: httpx.Client, name: str, **params: str) -> Any:
    response = api.get(f"/v1/reports/{name}", headers=HEADERS, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _cli(stack: DevStack, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "nurture.cli", *args],
        cwd=stack.home,
        env={**os.environ, **stack.env()},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def scenario(api: httpx.Client, smtp: ScriptedSmtpServer) -> dict[str, Any]:
    """Runs the scenario once; what each lead became, from its own view."""
    ana = _post(
        api,
        "white-paper",
        "ana@e2e.example",
        first_name="Ana",
        utm_source="google",
        utm_campaign="spring",
        **PERSONA,
    )
    carl = _post(
        api,
        "white-paper",
        "carl@e2e.example",
        first_name="Carl",
        utm_source="google",
        utm_campaign="spring",
        **PERSONA,
    )
    ben = _post(
        api,
        "newsletter",
        "ben@e2e.example",
        first_name="Ben",
        utm_source="newsletter",
        utm_campaign="letter",
    )
    _confirm(api, smtp, "ben@e2e.example")
    una = _post(api, "quick-guide", "una@e2e.example", first_name="Una", **PERSONA)
    post_events(api, una, [("page_viewed", {"section": "product"})] * 6, una[:12])
    _unsubscribe(api, smtp, "una@e2e.example")

    _act(api, ana, "return-to-nurture", actor=_to_sql(api, ana), reason="budget")
    rep = _to_sql(api, carl)
    for action in ("accept", "convert", "won"):
        _act(api, carl, action, actor=rep)

    views = {
        name: lead_when(api, lead_id, lambda v: bool(v), 30)
        for name, lead_id in {"ana": ana, "carl": carl, "ben": ben, "una": una}.items()
    }
    lead_when(api, una, lambda v: "unsubscribed" in v["conditions"], 30)
    lead_when(api, ben, lambda v: any(e["sequence"] == "discovery" for e in v["enrolments"]), 30)
    return views


def _expected_funnel(views: dict[str, dict[str, Any]]) -> dict[str, int]:
    reached = [_furthest(v) for v in views.values()]
    return {
        "new": 4,
        "mql": sum(1 for r in reached if r >= _ORDER["mql"]),
        "sql": 2,  # ana and carl
        "accepted": 1,  # carl; ana was returned
        "opportunity": 1,
        "customer": 1,
    }


def _settled(api: httpx.Client, expected: dict[str, int], within: float = 60) -> Any:
    """The funnel once the facts of the whole scenario are written (writes trail the
    leads by a workflow task)."""
    deadline = time.monotonic() + within
    while True:
        funnel = _report(api, "funnel")
        got = {s["stage"]: s["reached"] for s in funnel["stages"]}
        if got == expected or time.monotonic() > deadline:
            assert got == expected
            return funnel
        time.sleep(0.5)


class TestScenarioReports:
    """The figures of one scripted scenario, through every surface."""

    def test_funnel_and_sources(self, api: httpx.Client, scenario: dict[str, Any]) -> None:
        """Four leads, two SQLs, one accepted, one customer; three inbound, one organic."""
        funnel = _settled(api, _expected_funnel(scenario))
        rates = {s["stage"]: s["rate"] for s in funnel["stages"]}
        assert rates["new"] is None and rates["customer"] == 1.0
        assert rates["sql"] == pytest.approx(2 / _expected_funnel(scenario)["mql"], abs=1e-4)
        by_source = _report(api, "funnel", by="source")
        news = {g["group"]: g["stages"][0]["reached"] for g in by_source["groups"]}
        assert news == {"inbound": 3, "organic": 1}
        by_campaign = _report(api, "funnel", by="utm_campaign")
        customers = {g["group"]: g["stages"][-1]["reached"] for g in by_campaign["groups"]}
        assert customers.get("spring") == 1 and customers.get("letter") == 0

    def test_sales(self, api: httpx.Client, scenario: dict[str, Any]) -> None:
        """Two hand-offs: one accepted and won, one returned for budget."""
        _settled(api, _expected_funnel(scenario))
        total = _report(api, "sales")["total"]
        assert (total["handoffs"], total["accepted"], total["returned"]) == (2, 1, 1)
        assert (total["won"], total["lost"], total["win_rate"]) == (1, 0, 1.0)
        assert {k: n for k, n in total["return_reasons"].items() if n} == {"budget": 1}

    def test_emails_and_experiment(
        self, api: httpx.Client, smtp: ScriptedSmtpServer, scenario: dict[str, Any]
    ) -> None:
        """Each template's sends are the messages the SMTP server got; the unsubscribe
        counts against the email it came from; Ben is the experiment's one lead."""
        _settled(api, _expected_funnel(scenario))
        sent: dict[str, int] = {}
        for message in smtp.messages:
            template = str(message["X-Nurture-Template"])
            if template == "sales_alert":
                continue  # to a rep, about the lead: not one of the lead's emails
            sent[template] = sent.get(template, 0) + 1

        def counted() -> dict[str, int]:
            rows = _report(api, "emails")["templates"]
            return {r["template"]: r["sent"] for r in rows if r["sent"]}

        try:
            wait_until(lambda: counted() == sent, within=60)
        except AssertionError:
            raise AssertionError(f"reported {counted()}, sent {sent}") from None
        rows = {r["template"]: r for r in _report(api, "emails")["templates"]}
        assert sum(r["unsubscribes"] for r in rows.values()) == 1
        arms = _report(api, "experiments")["experiments"]
        needs = next(e for e in arms if e["experiment"] == "needs-subject")
        assert sum(v["leads"] for v in needs["variants"]) == 1

    def test_cli_prints_the_api_figures(
        self, api: httpx.Client, stack: DevStack, scenario: dict[str, Any]
    ) -> None:
        """`nurture report NAME --format json` on the same project prints the API's JSON."""
        _settled(api, _expected_funnel(scenario))
        for name in ("funnel", "sales", "emails", "experiments"):
            printed = json.loads(_cli(stack, "report", name, "--format", "json"))
            assert printed == _report(api, name), name

    @pytest.mark.skipif(chromium_binary() is None, reason="Debian's chromium is not installed")
    def test_dashboard_shows_the_api_figures(
        self, api: httpx.Client, stack: DevStack, scenario: dict[str, Any]
    ) -> None:
        """The link `nurture report open` prints opens a quiet page whose every figure is
        the API's."""
        _settled(api, _expected_funnel(scenario))
        link = _cli(stack, "report", "open").strip().splitlines()[-1].strip()
        origin = f"http://127.0.0.1:{stack.ports.api}"
        assert link.startswith(origin), link

        async def look() -> int:
            async with open_page(origin) as page:
                await page.goto(link)
                checked = await check_figures(page, origin, "e2e-key", {}, "en")
                assert page.problems == []
                return checked

        assert asyncio.run(look()) > 50
