"""Custom fields through a form post: kept on the lead, refused with the field named, and
unknown fields ignored or refused as the configuration says."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from nurture.testing import MemoryLeadGateway

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


class TestFormPost:
    """The shipped BANT fields and message, as a contact form posts them."""

    def test_kept_on_the_lead(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        body = {"email": "ada@globex.example", "budget": "Over 50k", "message": "Call me"}
        assert client.post("/v1/forms/contact", json=body).status_code == 202
        [(_, form)] = gateway.forms
        assert form.lead.custom == {"budget": "over 50k", "message": "Call me"}

    def test_a_bad_value_named_and_nothing_sent(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        body = {"email": "not-an-address", "budget": "lots", "timeline": "whenever"}
        answer = client.post("/v1/forms/contact", json=body)
        assert answer.status_code == 422
        fields = {e["field"]: e["message"] for e in answer.json()["detail"]}
        assert set(fields) == {"email", "budget", "timeline"}  # every problem at once
        assert fields["budget"].startswith("must be one of none yet, under 10k")
        assert gateway.forms == []

    def test_a_browser_reads_the_rule(self, client: TestClient) -> None:
        answer = client.post(
            "/v1/forms/contact", data={"email": "a@b.example", "budget": "lots"}, headers=BROWSER
        )
        assert answer.status_code == 422 and "must be one of" in answer.text

    def test_unknown_fields_ignored_by_default(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        body = {"email": "a@b.example", "favourite_colour": "blue"}
        assert client.post("/v1/forms/contact", json=body).status_code == 202
        assert gateway.forms[0][1].lead.custom == {}

    def test_unknown_fields_refused_when_configured(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        context = client.app.state.context  # type: ignore[attr-defined]
        defaults = context.project.defaults.model_copy(update={"unknown_fields": "refuse"})
        project = context.project.model_copy(update={"defaults": defaults})
        client.app.state.context = dataclasses.replace(context, project=project)  # type: ignore[attr-defined]
        answer = client.post("/v1/forms/contact", json={"email": "a@b.example", "colour": "x"})
        assert answer.status_code == 422
        assert answer.json()["detail"] == [
            {"field": "colour", "message": "is not a field this service takes"}
        ]
        assert gateway.forms == []
