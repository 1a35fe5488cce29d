"""The API key, lead reads, sales actions and erasure over HTTP."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nurture.adapters.factlog import open_fact_store
from nurture.adapters.links.tokens import email_hash
from nurture.api import create_app
from nurture.config.settings import Settings
from nurture.domain.factlog import Fact, fact_id
from nurture.domain.identity import lead_id_for
from nurture.domain.lead.state import start_state
from nurture.domain.lead.view import lead_view
from nurture.testing import MemoryFactStore, MemoryLeadGateway, MemoryLedger
from tests.api.apitools import AUTH, KEY, fields, hashed
from tests.helpers import ROOT, T0, scoring_model


class TestAuth:
    """Everything but form posts needs a valid X-API-Key."""

    @pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}])
    def test_refused(self, client: TestClient, headers: dict[str, str]) -> None:
        """No key or a wrong key: 401, on events and lead reads alike."""
        event = {"email": "a@b.example", "type": "page_viewed"}
        assert client.post("/v1/events", json=event, headers=headers).status_code == 401
        assert client.get("/v1/leads/abc", headers=headers).status_code == 401

    def test_any_configured_key_works(self, client: TestClient) -> None:
        """Both configured keys are accepted (rotation)."""
        assert client.get("/v1/leads/abc", headers={"X-API-Key": "other-key"}).status_code == 404


class TestLeadReads:
    """GET /v1/leads/{lead_id} tells an unknown id from a lead still being created."""

    def test_unknown_lead(self, client: TestClient) -> None:
        """No such lead: 404, no retry hint."""
        response = client.get("/v1/leads/nobody", headers=AUTH)
        assert response.status_code == 404 and "Retry-After" not in response.headers
        assert response.json() == {"detail": "no lead with id 'nobody'"}

    def test_unknown_email_is_named_never_hashed(self, client: TestClient) -> None:
        """Looked up by email: the 404 names the address the person gave, never the keyed
        hash they never saw."""
        response = client.post("/v1/leads/lookup", headers=AUTH, json={"email": "No@B.example"})
        assert response.status_code == 404
        assert response.json() == {"detail": "no lead with email 'no@b.example'"}
        assert hashed("no@b.example") not in response.text

    def test_lead_being_created_by_email(self, client: TestClient) -> None:
        """The pending 404 names the email too."""
        client.post("/v1/forms/contact", json={"email": "a@b.example"})
        response = client.post("/v1/leads/lookup", headers=AUTH, json={"email": "a@b.example"})
        assert response.status_code == 404 and response.json()["pending"] is True
        assert "'a@b.example' is being created" in response.json()["detail"]
        assert hashed("a@b.example") not in response.text

    def test_lead_being_created(self, client: TestClient) -> None:
        """Right after the form, before the workflow applied it: 404 saying so, marked
        pending, with Retry-After."""
        lead_id = client.post("/v1/forms/contact", json={"email": "a@b.example"}).json()["lead_id"]
        response = client.get(f"/v1/leads/{lead_id}", headers=AUTH)
        assert response.status_code == 404 and response.headers["Retry-After"] == "1"
        body = response.json()
        assert body["pending"] is True and "is being created" in body["detail"]


class TestLeadRead:
    """A lead reads as its view, by id or by email."""

    def test_by_id_and_by_email(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        """The same view both ways."""
        lead_id = lead_id_for("a@b.example", Settings().id_key.get_secret_value().encode())
        gateway.views[lead_id] = lead_view(
            start_state(lead_id, scoring_model()), scoring_model(), T0
        )
        by_id = client.get(f"/v1/leads/{lead_id}", headers=AUTH)
        by_email = client.post("/v1/leads/lookup", headers=AUTH, json={"email": "a@b.example"})
        assert by_id.status_code == by_email.status_code == 200
        assert by_id.json() == by_email.json()
        assert by_id.json()["stage"] == "new" and by_id.json()["grade"] == "C"


class TestSalesActions:
    """POST /v1/leads/{lead_id}/{action}: the action reaches the lead; refusals are 409."""

    @pytest.fixture
    def known(self, gateway: MemoryLeadGateway) -> str:
        gateway.views["l1"] = lead_view(start_state("l1", scoring_model()), scoring_model(), T0)
        return "l1"

    def test_return_to_nurture(
        self, client: TestClient, gateway: MemoryLeadGateway, known: str
    ) -> None:
        """The path's action and the body become one SalesAction for the lead."""
        response = client.post(
            f"/v1/leads/{known}/return-to-nurture",
            headers=AUTH,
            json={"actor": "ana", "reason": "timing", "revisit_after": "2027-03-01"},
        )
        assert response.status_code == 200
        ((lead_id, action),) = gateway.actions
        assert (lead_id, action.action, action.reason) == (known, "return_to_nurture", "timing")
        assert str(action.revisit_after) == "2027-03-01"

    def test_refused_is_409_with_the_reason(
        self, client: TestClient, gateway: MemoryLeadGateway, known: str
    ) -> None:
        gateway.refuse = "accept the lead before converting it"
        response = client.post(f"/v1/leads/{known}/convert", headers=AUTH, json={"actor": "ana"})
        assert response.status_code == 409
        assert response.json() == {"detail": "accept the lead before converting it"}
        assert gateway.actions == []

    def test_bad_input_named(
        self, client: TestClient, gateway: MemoryLeadGateway, known: str
    ) -> None:
        """An unknown action, a missing actor and an unknown field are 422s naming them."""
        unknown = client.post(f"/v1/leads/{known}/promote", headers=AUTH, json={"actor": "a"})
        assert unknown.status_code == 422 and "action" in fields(unknown)
        no_actor = client.post(f"/v1/leads/{known}/accept", headers=AUTH, json={})
        assert no_actor.status_code == 422 and "actor" in fields(no_actor)
        extra = client.post(
            f"/v1/leads/{known}/accept", headers=AUTH, json={"actor": "a", "owner": "b"}
        )
        assert extra.status_code == 422 and "owner" in fields(extra)
        assert gateway.actions == []

    @pytest.mark.parametrize(
        ("action", "body", "field", "rule"),
        [
            ("return-to-nurture", {}, "reason", "needs one of these reasons"),
            ("return-to-nurture", {"reason": "bored"}, "reason", "needs one of these reasons"),
            ("disqualify", {"reason": " "}, "reason", "needs a reason"),
            (
                "disqualify",
                {"reason": "student", "revisit_after": "2027-03-01"},
                "revisit_after",
                "only a return to nurture",
            ),
            ("disqualify", {"reason": "no budget\x00"}, "reason", "control characters"),
            ("accept", {"note": "call\x00back"}, "note", "control characters"),
        ],
        ids=[
            "return-without-reason",
            "return-unknown-reason",
            "disqualify-blank",
            "revisit",
            "nul-reason",
            "nul-note",
        ],
    )
    def test_input_rules_are_422s_naming_field_and_rule(
        self,
        client: TestClient,
        gateway: MemoryLeadGateway,
        known: str,
        action: str,
        body: dict[str, str],
        field: str,
        rule: str,
    ) -> None:
        """Rules that do not depend on the lead's state are bad input, not a conflict:
        422 naming the field and the rule, and the lead never sees the action."""
        response = client.post(
            f"/v1/leads/{known}/{action}", headers=AUTH, json={"actor": "ana", **body}
        )
        assert response.status_code == 422, response.text
        assert list(fields(response)) == [field] and rule in fields(response)[field]
        assert gateway.actions == []

    def test_unknown_lead_and_key(self, client: TestClient) -> None:
        assert (
            client.post("/v1/leads/nope/accept", headers=AUTH, json={"actor": "a"}).status_code
            == 404
        )
        assert client.post("/v1/leads/nope/accept", json={"actor": "a"}).status_code == 401


class TestErasure:
    """DELETE /v1/leads/{id} and POST /v1/leads/erase: workflows, send records and outbox
    gone, the address kept only as a keyed hash on the suppression list."""

    def test_delete_by_id(
        self, client: TestClient, gateway: MemoryLeadGateway, ledger: MemoryLedger
    ) -> None:
        lead_id = client.post("/v1/forms/contact", json={"email": "Era@B.example"}).json()[
            "lead_id"
        ]
        response = client.delete(f"/v1/leads/{lead_id}", headers=AUTH)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "lead_id": lead_id,
            "suppressed": True,
            "workflow_runs_deleted": 1,
            "send_records_deleted": 0,
            "facts_deleted": 0,
            "outbox_messages_deleted": 0,
        }
        (kept,) = ledger.suppressions.values()
        assert kept.reason == "erased" and "era" not in kept.address_hash
        assert kept.address_hash == email_hash("era@b.example", Settings().secret())
        assert gateway.erased == [lead_id]
        again = client.delete(f"/v1/leads/{lead_id}", headers=AUTH)
        assert again.status_code == 404  # nothing left to find by id

    def test_erase_by_email_suppresses_even_an_unknown_address(
        self, client: TestClient, ledger: MemoryLedger
    ) -> None:
        """A person never seen (or already erased) asks again: the hash is recorded."""
        response = client.post("/v1/leads/erase", headers=AUTH, json={"email": "x@y.example"})
        assert response.status_code == 200 and response.json()["suppressed"] is True
        assert email_hash("x@y.example", Settings().secret()) in ledger.suppressions

    def test_needs_a_key(self, client: TestClient) -> None:
        assert client.delete("/v1/leads/abc").status_code == 401

    def test_facts_deleted_and_the_erasure_counted(
        self, client: TestClient, facts: MemoryFactStore
    ) -> None:
        """The lead's facts go, another lead's stay, and one anonymous fact of the day
        counts the erasure; erasing again by email counts nothing more."""
        lead_id = client.post("/v1/forms/contact", json={"email": "f@b.example"}).json()["lead_id"]
        mine = [fact_of(lead_id, n) for n in range(3)]
        theirs = fact_of("someone-else", 0)
        asyncio.run(facts.append([*mine, theirs]))
        response = client.delete(f"/v1/leads/{lead_id}", headers=AUTH)
        assert response.status_code == 200, response.text
        assert response.json()["facts_deleted"] == 3
        (erased,) = [f for f in facts.facts.values() if f.kind == "erased"]
        assert (erased.lead_id, erased.data) == ("", {})
        assert set(facts.facts) == {theirs.id, erased.id}
        again = client.post("/v1/leads/erase", headers=AUTH, json={"email": "f@b.example"})
        assert again.status_code == 200 and again.json()["facts_deleted"] == 0
        assert len(facts.facts) == 2

    def test_facts_in_the_ledger_database(
        self, tmp_path: Path, gateway: MemoryLeadGateway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An app given no facts store erases from the one in NURTURE_LEDGER_URL's database."""
        url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
        monkeypatch.setenv("NURTURE_API_KEYS", KEY)
        monkeypatch.setenv("NURTURE_HOME", str(ROOT))
        settings = Settings(ledger_url=url)
        with TestClient(create_app(settings, gateway=gateway, ledger=MemoryLedger())) as api:
            lead_id = api.post("/v1/forms/contact", json={"email": "s@b.example"}).json()["lead_id"]

            async def seed() -> None:
                store = open_fact_store(url, tmp_path)
                await store.append([fact_of(lead_id, 0), fact_of("other", 0)])
                await store.close()

            asyncio.run(seed())
            response = api.delete(f"/v1/leads/{lead_id}", headers=AUTH)
            assert response.status_code == 200 and response.json()["facts_deleted"] == 1

        async def left() -> list[str]:
            store = open_fact_store(url, tmp_path)
            leads = [f.lead_id async for f in store.read()]
            await store.close()
            return leads

        assert asyncio.run(left()) == ["", "other"]


def fact_of(lead_id: str, n: int) -> Fact:
    at = T0 + timedelta(minutes=n)
    return Fact(
        id=fact_id(lead_id, "event_received", n),
        lead_id=lead_id,
        kind="event_received",
        at=at,
        data={"type": "visit"},
    )
