"""``GET /v1/reports/{name}`` answers what ``nurture report`` prints as JSON, behind the
``reports`` scope; a bad parameter is a 422 naming it, an unknown report a 404."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nurture.api import create_app
from nurture.api.security import new_api_key
from nurture.config.settings import Settings
from nurture.domain.reports import REPORT_NAMES
from nurture.domain.reports.funnel import funnel
from nurture.domain.reports.velocity import velocity
from nurture.services.reports import parse_query
from nurture.testing import MemoryFactStore, MemoryLeadGateway, MemoryLedger
from tests.api.apitools import fields
from tests.configfiles import copy_project
from tests.unit.reports import test_funnel, test_velocity
from tests.unit.reports.factbook import ordered

REPORTS_KEY, REPORTS_ENTRY = new_api_key(["reports"])
SALES_KEY, SALES_ENTRY = new_api_key(["sales"])
ADMIN_KEY, ADMIN_ENTRY = new_api_key(["admin"])
LOG = ordered(
    [
        *test_funnel.LOG,
        *(f.model_copy(update={"lead_id": f"v-{f.lead_id}"}) for f in test_velocity.LOG),
    ]
)
NOVEMBER = {"since": "2026-11-01", "until": "2026-12-01"}


@pytest.fixture
async def facts() -> MemoryFactStore:
    store = MemoryFactStore()
    await store.append(LOG)
    return store


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The shipped configuration with a spend, for the cost report."""
    home = copy_project(tmp_path)
    with (home / "config" / "nurture.toml").open("a") as project:
        project.write(
            '\n[costs]\ncurrency = "EUR"\n\n[[costs.spend]]\n'
            'source = "inbound"\nmonth = "2026-11"\namount = 900\n'
        )
    return home


@pytest.fixture
def client(
    facts: MemoryFactStore, home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("NURTURE_API_KEYS", f"{REPORTS_ENTRY},{SALES_ENTRY},{ADMIN_ENTRY}")
    monkeypatch.setenv("NURTURE_HOME", str(home))
    app = create_app(Settings(), MemoryLeadGateway(), MemoryLedger(), facts)
    with TestClient(app) as test_client:
        yield test_client


def get(client: TestClient, path: str, key: str = REPORTS_KEY, **params: str):  # type: ignore[no-untyped-def]
    return client.get(path, params=params, headers={"X-API-Key": key})


class TestReports:
    """Each report answers its JSON, the same as the pure report over the same facts."""

    def test_funnel(self, client: TestClient) -> None:
        response = get(client, "/v1/reports/funnel", **NOVEMBER, by="source")
        assert response.status_code == 200, response.text
        query = parse_query("funnel", by="source", **NOVEMBER)
        assert response.json() == funnel(LOG, query).model_dump(mode="json")
        assert response.json()["stages"][0] == {
            "stage": "new",
            "reached": 9,
            "rate": None,
            "of_new": 1.0,
            "entered": 9,
        }

    def test_velocity_shows_the_sla(self, client: TestClient) -> None:
        """sales.toml's accept_within (1h) reaches the report."""
        response = get(client, "/v1/reports/velocity", **NOVEMBER)
        assert response.status_code == 200, response.text
        expected = velocity(LOG, parse_query("velocity", **NOVEMBER))
        assert response.json()["moves"] == expected.model_dump(mode="json")["moves"]
        assert response.json()["acceptance"]["sla_hours"] == 1.0

    def test_cost_reads_the_configured_spend(self, client: TestClient) -> None:
        """Inbound spent 900 in November on the funnel fixture's a, b, h: 300 a lead."""
        data = get(client, "/v1/reports/cost", **NOVEMBER).json()
        inbound = next(r for r in data["rows"] if r["source"] == "inbound")
        assert (inbound["spend"], inbound["leads"], inbound["cost_per_lead"]) == (900.0, 3, 300.0)
        assert data["currency"] == "EUR"

    @pytest.mark.parametrize("name", REPORT_NAMES)
    def test_every_report(self, client: TestClient, name: str) -> None:
        response = get(client, f"/v1/reports/{name}")
        assert response.status_code == 200, response.text
        assert response.json()["report"] == name

    def test_list(self, client: TestClient) -> None:
        """The same six as the CLI, with what each may be grouped by."""
        listed = get(client, "/v1/reports").json()
        assert [r["name"] for r in listed] == list(REPORT_NAMES)
        assert listed[0]["by"] == ["source", "form", "utm_campaign", "cohort"]
        assert all(r["by"] == [] for r in listed[1:])


class TestRefusals:
    """What cannot be answered says why, naming the parameter."""

    @pytest.mark.parametrize(
        ("params", "field", "words"),
        [
            ({"since": "2026-02-30"}, "since", "not a date"),
            ({"until": "soon"}, "until", "not a date"),
            ({"since": "2026-12-01", "until": "2026-11-01"}, "until", "must be after since"),
            ({"by": "rep"}, "by", "groups by source, form, utm_campaign or cohort"),
        ],
    )
    def test_bad_parameter_is_a_422(
        self, client: TestClient, params: dict[str, str], field: str, words: str
    ) -> None:
        response = get(client, "/v1/reports/funnel", **params)
        assert response.status_code == 422
        assert words in fields(response)[field]

    def test_by_on_a_report_without_groups(self, client: TestClient) -> None:
        response = get(client, "/v1/reports/sales", by="source")
        assert response.status_code == 422
        assert fields(response) == {"by": "the sales report takes no grouping"}

    def test_unknown_report_is_a_404(self, client: TestClient) -> None:
        response = get(client, "/v1/reports/churn")
        assert response.status_code == 404
        assert "the reports are funnel, velocity, sales" in response.json()["detail"]


class TestScope:
    """Reports need a key with the ``reports`` scope (or ``admin``)."""

    def test_without_key(self, client: TestClient) -> None:
        assert client.get("/v1/reports/funnel").status_code == 401

    def test_sales_key_is_not_enough(self, client: TestClient) -> None:
        response = get(client, "/v1/reports/funnel", key=SALES_KEY)
        assert response.status_code == 403
        assert "'reports' scope" in response.json()["detail"]

    def test_admin_key(self, client: TestClient) -> None:
        assert get(client, "/v1/reports", key=ADMIN_KEY).status_code == 200


class TestStore:
    """Without a store handed in, the API opens the ledger's database at the first report."""

    def test_opened_when_first_asked(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        home = copy_project(tmp_path)
        monkeypatch.setenv("NURTURE_API_KEYS", REPORTS_ENTRY)
        monkeypatch.setenv("NURTURE_HOME", str(home))
        database = home / ".nurture" / "ledger.sqlite3"
        app = create_app(Settings(), MemoryLeadGateway(), MemoryLedger())
        with TestClient(app) as api:
            assert not database.exists()
            response = get(api, "/v1/reports/funnel")
            assert response.status_code == 200
            assert response.json()["stages"][0]["reached"] == 0
            assert database.exists()
