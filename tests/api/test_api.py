"""The HTTP API: validation, auth, urlencoded forms, locales, OpenAPI."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from nurture.adapters.links.links import CONFIRM, UNSUBSCRIBE
from nurture.adapters.links.tokens import TokenSigner, email_hash
from nurture.adapters.links.tracking import CLICK, OPEN
from nurture.api import create_app
from nurture.api.routes.webhooks import signature
from nurture.config.settings import Settings
from nurture.domain.identity import lead_id_for
from nurture.domain.lead.journey import start_state
from nurture.domain.lead.view import lead_view
from nurture.testing import MemoryLeadGateway, MemoryLedger
from tests.helpers import ROOT, T0, scoring_model

KEY = "test-api-key"
AUTH = {"X-API-Key": KEY}


@pytest.fixture
def gateway() -> MemoryLeadGateway:
    return MemoryLeadGateway()


@pytest.fixture
def ledger() -> MemoryLedger:
    return MemoryLedger()


@pytest.fixture
def client(
    gateway: MemoryLeadGateway, ledger: MemoryLedger, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("NURTURE_API_KEYS", f"other-key,{KEY}")
    monkeypatch.setenv("NURTURE_HOME", str(ROOT))
    with TestClient(create_app(Settings(), gateway=gateway, ledger=ledger)) as test_client:
        yield test_client


def hashed(email: str) -> str:
    """The lead id a person never sees: the keyed hash of their address."""
    return lead_id_for(email, Settings().secret())


def fields(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {e["field"]: e["message"] for e in response.json()["detail"]}


class TestFormPost:
    """Forms accept JSON and urlencoded bodies and refuse bad fields by name."""

    def test_json_post_accepted(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        """202 with the lead id derived from the email; the form's offer travels along."""
        response = client.post(
            "/v1/forms/white-paper", json={"email": " Ada@Globex.example", "first_name": "Ada"}
        )
        assert response.status_code == 202
        lead_id, submitted = gateway.forms[0]
        assert response.json()["lead_id"] == lead_id
        assert submitted.lead.email == "ada@globex.example"
        assert submitted.offer is not None and "buying guide" in submitted.offer.title
        assert submitted.event_type == "content_downloaded"

    def test_plain_html_form(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        """urlencoded, blank optional fields, a checkbox and a submit button all work."""
        response = client.post(
            "/v1/forms/contact",
            data={
                "email": "bob@initech.example",
                "first_name": "Bob",
                "company": "",
                "company_size": "42",
                "consent": "on",
                "submit": "Send",
            },
        )
        assert response.status_code == 202, response.text
        lead = gateway.forms[0][1].lead
        assert (lead.first_name, lead.company, lead.company_size) == ("Bob", None, 42)
        assert lead.consent.marketing is True and lead.consent.given_at is not None

    def test_each_bad_field_named(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        """422 lists every bad field with its rule, and nothing reaches Temporal."""
        response = client.post(
            "/v1/forms/contact",
            json={
                "email": "not-an-email",
                "first_name": "Ada\r\nBcc: x@y.z",
                "country": "France",
                "timezone": "Mars/Olympus",
            },
        )
        assert response.status_code == 422
        problems = fields(response)
        assert set(problems) == {"email", "first_name", "country", "timezone"}
        assert "control characters" in problems["first_name"]
        assert "time zone" in problems["timezone"]
        assert gateway.forms == []

    def test_missing_email(self, client: TestClient) -> None:
        """The only required field is named when absent."""
        response = client.post("/v1/forms/contact", data={"first_name": "Ada"})
        assert response.status_code == 422 and "email" in fields(response)

    def test_unknown_form(self, client: TestClient) -> None:
        """An unconfigured form id is a 404 naming it."""
        response = client.post("/v1/forms/nope", json={"email": "a@b.example"})
        assert response.status_code == 404 and "nope" in response.json()["detail"]

    def test_unsupported_body(self, client: TestClient) -> None:
        """A text/plain body is a 415 saying what to send."""
        response = client.post(
            "/v1/forms/contact",
            content="email=a@b.example",
            headers={"content-type": "text/plain"},
        )
        assert response.status_code == 415

    def test_submission_id_makes_retry_identical(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        """A retry with the same submission id carries the same id to the workflow."""
        body = {"email": "a@b.example", "submission_id": "page-123"}
        first = client.post("/v1/forms/contact", json=body).json()
        second = client.post("/v1/forms/contact", json=body).json()
        assert first == second and first["submission_id"] == "page-123"

    @pytest.mark.parametrize(
        ("form", "body", "header", "expected"),
        [
            ("contact", {"locale": "fr"}, "en", "fr"),
            ("webinar-fr", {}, "en-US,en", "fr"),
            ("contact", {}, "de-DE, fr;q=0.8, en;q=0.5", "fr"),
            ("contact", {}, "de", "en"),
        ],
    )
    def test_locale_choice(
        self,
        client: TestClient,
        gateway: MemoryLeadGateway,
        form: str,
        body: dict[str, str],
        header: str,
        expected: str,
    ) -> None:
        """Field, then the form's locale, then Accept-Language, then the default."""
        client.post(
            f"/v1/forms/{form}",
            json={"email": "a@b.example", **body},
            headers={"Accept-Language": header},
        )
        assert gateway.forms[-1][1].locale == expected


class TestFormEncodings:
    """Urlencoded and multipart bodies are UTF-8: decoded as such, strictly, and a field
    that is not valid UTF-8 is a 422 naming it, as on the JSON path."""

    URLENCODED: ClassVar[dict[str, str]] = {"content-type": "application/x-www-form-urlencoded"}

    def test_urlencoded_utf8_arrives_as_sent(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        """Percent-encoded UTF-8 (what browsers send), raw UTF-8 bytes and '+' for spaces."""
        body = (
            "email=jose%40b.example&first_name=Jos%C3%A9"
            "&last_name=M%C3%BCller+Sm%C3%ADth&company=Caf\u00e9"
        )
        response = client.post("/v1/forms/contact", content=body.encode(), headers=self.URLENCODED)
        assert response.status_code == 202, response.text
        lead = gateway.forms[0][1].lead
        assert (lead.first_name, lead.last_name, lead.company) == (
            "José",
            "Müller Smíth",
            "Café",
        )

    @pytest.mark.parametrize(
        "body",
        [b"email=a%40b.example&first_name=%FF%FE", b"email=a%40b.example&first_name=Jos\xe9"],
        ids=["percent-encoded", "raw-latin-1"],
    )
    def test_urlencoded_invalid_utf8_is_named(
        self, client: TestClient, gateway: MemoryLeadGateway, body: bytes
    ) -> None:
        response = client.post("/v1/forms/contact", content=body, headers=self.URLENCODED)
        assert response.status_code == 422
        assert list(fields(response)) == ["first_name"]
        assert "not valid UTF-8" in fields(response)["first_name"]
        assert gateway.forms == []

    def test_another_charset_is_refused(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        """A declared charset other than UTF-8 is refused (415) rather than guessed at."""
        response = client.post(
            "/v1/forms/contact",
            content=b"email=a%40b.example&first_name=Jos%E9",
            headers={"content-type": "application/x-www-form-urlencoded; charset=iso-8859-1"},
        )
        assert response.status_code == 415 and "UTF-8" in response.json()["detail"]
        assert gateway.forms == []

    def test_multipart_fields_are_utf8_and_files_ignored(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        response = client.post(
            "/v1/forms/contact",
            data={"email": "jose@b.example", "first_name": "José"},
            files={"cv": ("cv.txt", b"\xff\xfe not text", "application/octet-stream")},
        )
        assert response.status_code == 202, response.text
        assert gateway.forms[0][1].lead.first_name == "José"

    def test_multipart_invalid_utf8_is_named(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        body = (
            b"--XyZ\r\n"
            b'Content-Disposition: form-data; name="email"\r\n\r\n'
            b"a@b.example\r\n"
            b"--XyZ\r\n"
            b'Content-Disposition: form-data; name="first_name"\r\n\r\n'
            b"Jos\xe9\r\n"
            b"--XyZ--\r\n"
        )
        response = client.post(
            "/v1/forms/contact",
            content=body,
            headers={"content-type": "multipart/form-data; boundary=XyZ"},
        )
        assert response.status_code == 422
        assert list(fields(response)) == ["first_name"]
        assert gateway.forms == []

    @pytest.mark.parametrize(
        ("content_type", "body"),
        [
            ("application/x-www-form-urlencoded", b"email=a%40b.example&n%FFme=x"),
            ("multipart/form-data", b"email=a@b.example"),
            ("multipart/form-data; boundary=XyZ", b"--XyZ\r\nnot a part"),
        ],
        ids=["bad-field-name", "no-boundary", "broken-multipart"],
    )
    def test_undecodable_bodies_are_422s(
        self, client: TestClient, gateway: MemoryLeadGateway, content_type: str, body: bytes
    ) -> None:
        response = client.post(
            "/v1/forms/contact", content=body, headers={"content-type": content_type}
        )
        assert response.status_code == 422 and list(fields(response)) == ["(body)"]
        assert gateway.forms == []


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


class TestEvents:
    """Events reach known leads only."""

    def test_event_by_email(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        """By email: the same lead id as the form gave."""
        lead_id = client.post("/v1/forms/contact", json={"email": "a@b.example"}).json()["lead_id"]
        response = client.post(
            "/v1/events",
            headers=AUTH,
            json={
                "email": "A@B.example",
                "type": "page_viewed",
                "event_id": "e-1",
                "properties": {"section": "blog"},
            },
        )
        assert response.status_code == 202
        assert gateway.events[0][0] == lead_id and gateway.events[0][1].id == "e-1"

    def test_unknown_lead(self, client: TestClient) -> None:
        """An event for nobody is a 404 naming the lead as the caller did: by id, or by
        email (never by the keyed hash of the address)."""
        by_id = client.post(
            "/v1/events", headers=AUTH, json={"lead_id": "nobody", "type": "page_viewed"}
        )
        assert by_id.status_code == 404
        assert by_id.json()["detail"] == "no lead with id 'nobody'"
        by_email = client.post(
            "/v1/events", headers=AUTH, json={"email": "no@b.example", "type": "page_viewed"}
        )
        assert by_email.status_code == 404
        assert by_email.json()["detail"] == "no lead with email 'no@b.example'"
        assert hashed("no@b.example") not in by_email.text

    def test_needs_exactly_one_identity(self, client: TestClient) -> None:
        """Neither lead_id nor email: 422 saying so."""
        response = client.post("/v1/events", headers=AUTH, json={"type": "page_viewed"})
        assert response.status_code == 422
        assert "exactly one of lead_id or email" in response.text

    def test_naive_time_refused(self, client: TestClient) -> None:
        """occurred_at must carry a zone."""
        response = client.post(
            "/v1/events",
            headers=AUTH,
            json={"lead_id": "x", "type": "page_viewed", "occurred_at": "2026-01-01T10:00:00"},
        )
        assert response.status_code == 422 and "occurred_at" in fields(response)


class TestEventTypes:
    """Only declared event types are accepted; the declaration is read again when edited."""

    def test_unknown_type_names_the_near_matches(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        """A typo is a 422 on `type` suggesting the declared type, and nothing is sent."""
        client.post("/v1/forms/contact", json={"email": "a@b.example"})
        response = client.post(
            "/v1/events", headers=AUTH, json={"email": "a@b.example", "type": "page_veiwed"}
        )
        assert response.status_code == 422
        assert fields(response)["type"].startswith(
            "unknown event type 'page_veiwed'; did you mean 'page_viewed'?"
        )
        assert gateway.events == []

    def test_a_type_added_to_events_is_accepted_without_restart(
        self,
        gateway: MemoryLeadGateway,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """`webinar_attended` is refused, then declared in the project file the running API
        reads: accepted; a broken edit keeps the last good declaration."""
        config = tmp_path / "nurture.toml"
        shipped = (ROOT / "config" / "nurture.toml").read_text()
        config.write_text(shipped)
        monkeypatch.setenv("NURTURE_API_KEYS", KEY)
        monkeypatch.setenv("NURTURE_HOME", str(ROOT))
        monkeypatch.setenv("NURTURE_CONFIG_FILE", str(config))
        body = {"email": "a@b.example", "type": "webinar_attended"}
        declared = shipped.replace("events = [", 'events = [\n    "webinar_attended",')
        with TestClient(create_app(Settings(), gateway=gateway, ledger=MemoryLedger())) as api:
            api.post("/v1/forms/contact", json={"email": "a@b.example"})
            assert api.post("/v1/events", headers=AUTH, json=body).status_code == 422
            config.write_text(declared)
            assert api.post("/v1/events", headers=AUTH, json=body).status_code == 202
            config.write_text(shipped.replace("events = [", "events = [[["))
            assert api.post("/v1/events", headers=AUTH, json=body).status_code == 202
        assert [e.type for _, e in gateway.events] == ["webinar_attended", "webinar_attended"]
        assert any(
            "last good version stays in use" in r.getMessage() and str(config) in r.getMessage()
            for r in caplog.records
        )


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
        ],
        ids=["return-without-reason", "return-unknown-reason", "disqualify-blank", "revisit"],
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


def test_openapi_documents_both_form_encodings(client: TestClient) -> None:
    """The docs show JSON and urlencoded bodies for form posts."""
    spec = client.get("/openapi.json").json()
    content = spec["paths"]["/v1/forms/{form_id}"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/x-www-form-urlencoded"} <= set(content)
    assert client.get("/docs").status_code == 200


class TestUnsubscribe:
    """/u/{token}: GET shows a button and changes nothing; POST unsubscribes at once."""

    @staticmethod
    def token(purpose: str = UNSUBSCRIBE, lead_id: str = "L1", **extra: object) -> str:
        signer = TokenSigner(Settings().secret())
        return signer.sign(purpose, {"l": lead_id, "h": "a1b2", **extra})

    @pytest.fixture
    def lead(self, client: TestClient) -> str:
        response = client.post("/v1/forms/contact", json={"email": "a@b.example"})
        return str(response.json()["lead_id"])

    def test_get_shows_a_button_and_changes_nothing(
        self, client: TestClient, gateway: MemoryLeadGateway, ledger: MemoryLedger, lead: str
    ) -> None:
        """What a link scanner or a prefetch does: a page with a POST button, no effect."""
        response = client.get(f"/u/{self.token(lead_id=lead)}")
        assert response.status_code == 200
        assert '<form method="post">' in response.text and "<button" in response.text
        assert response.headers["Cache-Control"] == "no-store"
        assert ledger.suppressions == {} and gateway.opt_outs == []

    def test_one_click_post_unsubscribes(
        self, client: TestClient, gateway: MemoryLeadGateway, ledger: MemoryLedger, lead: str
    ) -> None:
        """RFC 8058: the provider's POST, no login, no confirmation: the address is
        suppressed for marketing and the lead is told, by one-click."""
        response = client.post(
            f"/u/{self.token(lead_id=lead)}",
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200 and "You are unsubscribed" in response.text
        assert ledger.suppressions["a1b2"].reason == "unsubscribed"
        [(told, opt_out)] = gateway.opt_outs
        assert told == lead and opt_out.channel == "one-click"

    def test_repeat_is_harmless(
        self, client: TestClient, gateway: MemoryLeadGateway, ledger: MemoryLedger, lead: str
    ) -> None:
        """A second POST (the page's button after the one-click) answers the same and keeps
        the first time, so the lead sees one unsubscribe."""
        for _ in range(2):
            assert client.post(f"/u/{self.token(lead_id=lead)}").status_code == 200
        first, second = (o for _, o in gateway.opt_outs)
        assert first.at == second.at and second.channel == "page"

    def test_erased_lead_still_suppressed(self, client: TestClient, ledger: MemoryLedger) -> None:
        """No workflow for the lead any more: the suppression is recorded all the same."""
        assert client.post(f"/u/{self.token(lead_id='gone')}").status_code == 200
        assert "a1b2" in ledger.suppressions

    @pytest.mark.parametrize(
        "token",
        [
            "not-a-token",
            "abc.def",
            pytest.param("forged", id="forged"),
            pytest.param("cross-purpose", id="cross-purpose"),
            pytest.param("tampered", id="tampered"),
        ],
    )
    def test_invalid_tokens_change_nothing(
        self, client: TestClient, ledger: MemoryLedger, gateway: MemoryLeadGateway, token: str
    ) -> None:
        """Forged (another secret), made for another purpose (a click token), or altered:
        400 with a page that names no internals; nothing is suppressed."""
        good = self.token()
        body, signature = good.split(".")
        token = {
            "forged": TokenSigner(b"another-secret").sign(UNSUBSCRIBE, {"l": "L1", "h": "a1b2"}),
            "cross-purpose": self.token(purpose="click"),
            "tampered": f"{body[:-2]}AA.{signature}",
        }.get(token, token)
        for method in (client.get, client.post):
            response = method(f"/u/{token}")
            assert response.status_code in (400, 422)
            assert "Traceback" not in response.text and "TokenError" not in response.text
        assert ledger.suppressions == {} and gateway.opt_outs == []


class TestDoubleOptIn:
    """The newsletter form asks for confirmation; /c/{token}: GET shows a button and
    changes nothing, POST confirms with its evidence; bad and expired links change nothing."""

    @staticmethod
    def token(lead_id: str, purpose: str = CONFIRM, expires: timedelta = timedelta(days=1)) -> str:
        signer = TokenSigner(Settings().secret())
        return signer.sign(purpose, {"l": lead_id, "s": "sub-1"}, datetime.now(UTC) + expires)

    @pytest.fixture
    def lead(self, client: TestClient) -> str:
        response = client.post(
            "/v1/forms/newsletter",
            data={"email": "new@b.example", "consent_wording": "footer-v2"},
            headers={"User-Agent": "Firefox/140", "X-Forwarded-For": "203.0.113.9"},
        )
        assert response.status_code == 202
        return str(response.json()["lead_id"])

    def test_the_post_records_consent_and_asks_for_confirmation(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str
    ) -> None:
        """The consent of the post: form, time, wording, client address (no proxy is
        trusted here, so the connection's), browser; the form is a double opt-in."""
        (_, submitted) = gateway.forms[0]
        consent = submitted.lead.consent
        assert submitted.double_opt_in and submitted.confirm_within == timedelta(days=7)
        assert consent.marketing and consent.double_opt_in and consent.given_at is not None
        assert (consent.form_id, consent.wording_version) == ("newsletter", "footer-v2")
        assert (consent.ip, consent.user_agent) == ("testclient", "Firefox/140")

    def test_get_shows_a_button_and_changes_nothing(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str
    ) -> None:
        response = client.get(f"/c/{self.token(lead)}")
        assert response.status_code == 200
        assert '<form method="post">' in response.text and "<button" in response.text
        assert response.headers["Cache-Control"] == "no-store"
        assert gateway.confirmations == []

    def test_post_confirms_with_the_evidence(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str
    ) -> None:
        for _ in range(2):  # a double click answers the same; the lead applies it once
            response = client.post(f"/c/{self.token(lead)}", headers={"User-Agent": "Safari"})
            assert response.status_code == 200 and "you are subscribed" in response.text
        (told, confirmed), _ = gateway.confirmations
        assert told == lead and confirmed.submission_id == "sub-1"
        assert (confirmed.ip, confirmed.user_agent) == ("testclient", "Safari")

    def test_an_expired_link_says_so_and_changes_nothing(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str
    ) -> None:
        token = self.token(lead, expires=-timedelta(seconds=1))
        for method in (client.get, client.post):
            response = method(f"/c/{token}")
            assert response.status_code == 410 and "expired" in response.text
        assert gateway.confirmations == []

    def test_a_lead_that_expired_meanwhile_gets_the_expired_page(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        response = client.post(f"/c/{self.token('gone')}")
        assert response.status_code == 410 and gateway.confirmations == []

    @pytest.mark.parametrize("kind", ["forged", "cross-purpose", "tampered", "garbage"])
    def test_invalid_links_change_nothing(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str, kind: str
    ) -> None:
        """Another secret, an unsubscribe token (or a confirmation token at /u/), an
        edited payload: 400, nothing confirmed or unsubscribed."""
        good = self.token(lead)
        body, mac = good.split(".")
        other = TokenSigner(b"another-secret").sign(CONFIRM, {"l": lead, "s": "sub-1"})
        token = {
            "forged": other,
            "cross-purpose": self.token(lead, purpose=UNSUBSCRIBE),
            "tampered": f"{body[:-2]}AA.{mac}",
            "garbage": "abc.def",
        }[kind]
        for method in (client.get, client.post):
            response = method(f"/c/{token}")
            assert response.status_code == 400 and "not valid" in response.text
        assert client.post(f"/u/{good}").status_code == 400
        assert gateway.confirmations == [] and gateway.opt_outs == []


class TestTracking:
    """/o/ answers a GIF and counts an open once; /r/ redirects only to the signed target,
    counts a person's click and not a scanner's; nothing else redirects anywhere."""

    TARGET = "https://www.example.com/guides/buying-guide.pdf?utm_source=nurture&x=1"
    BROWSER: ClassVar[dict[str, str]] = {
        "User-Agent": "Mozilla/5.0 (Windows NT 10.0) Gecko/20100101 Firefox/140.0"
    }

    @staticmethod
    def signed(purpose: str, lead_id: str, sent: timedelta = timedelta(hours=1), **more) -> str:  # type: ignore[no-untyped-def]
        fields = {"l": lead_id, "k": f"{lead_id}/seq/guide/1", "t": "buying_guide"}
        sent_at = int((datetime.now(UTC) - sent).timestamp())
        return TokenSigner(Settings().secret()).sign(purpose, {**fields, "s": sent_at, **more})

    @pytest.fixture
    def lead(self, client: TestClient) -> str:
        response = client.post("/v1/forms/contact", json={"email": "t@b.example"})
        return str(response.json()["lead_id"])

    def click(self, client: TestClient, token: str, **kwargs) -> Any:  # type: ignore[no-untyped-def]
        return client.get(f"/r/{token}", follow_redirects=False, **kwargs)

    def test_a_click_redirects_and_counts_once(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str
    ) -> None:
        token = self.signed(CLICK, lead, u=self.TARGET)
        for _ in range(2):
            response = self.click(client, token, headers=self.BROWSER)
            assert response.status_code == 302 and response.headers["location"] == self.TARGET
        first, second = gateway.events
        assert first[0] == lead and first[1].type == "email_clicked"
        assert first[1].properties == {
            "template": "buying_guide",
            "url": self.TARGET,
            "via": "nurture",
        }
        assert first[1].id == second[1].id  # the lead applies it once

    def test_the_request_cannot_choose_the_target(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str
    ) -> None:
        token = self.signed(CLICK, lead, u=self.TARGET)
        response = client.get(
            f"/r/{token}?url=https://evil.example&next=//evil.example",
            headers={**self.BROWSER, "Referer": "https://evil.example"},
            follow_redirects=False,
        )
        assert response.headers["location"] == self.TARGET

    @pytest.mark.parametrize(
        "kind", ["forged", "open-token", "unsubscribe-token", "tampered", "no-target"]
    )
    def test_no_redirect_without_a_valid_click_token(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str, kind: str
    ) -> None:
        good = self.signed(CLICK, lead, u=self.TARGET)
        body, mac = good.split(".")
        token = {
            "forged": TokenSigner(b"x").sign(CLICK, {"l": lead, "u": "https://evil.example"}),
            "open-token": self.signed(OPEN, lead),
            "unsubscribe-token": TestUnsubscribe.token(lead_id=lead),
            "tampered": f"{body[:-3]}AAA.{mac}",
            "no-target": self.signed(CLICK, lead),
        }[kind]
        response = self.click(client, token, headers=self.BROWSER)
        assert response.status_code == 400 and "location" not in response.headers
        assert gateway.events == []

    @pytest.mark.parametrize(
        ("sent", "method", "agent"),
        [
            (timedelta(seconds=2), "GET", BROWSER["User-Agent"]),
            (timedelta(hours=1), "HEAD", BROWSER["User-Agent"]),
            (timedelta(hours=1), "GET", "Mozilla/5.0 (compatible; Proofpoint URL Defense)"),
        ],
        ids=["seconds-after-sending", "head", "scanner-agent"],
    )
    def test_scanners_are_redirected_but_not_counted(
        self,
        client: TestClient,
        gateway: MemoryLeadGateway,
        lead: str,
        sent: timedelta,
        method: str,
        agent: str,
    ) -> None:
        token = self.signed(CLICK, lead, sent=sent, u=self.TARGET)
        response = client.request(
            method, f"/r/{token}", headers={"User-Agent": agent}, follow_redirects=False
        )
        assert response.status_code == 302 and response.headers["location"] == self.TARGET
        assert gateway.events == []

    def test_the_pixel_counts_an_open_once_per_email(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str
    ) -> None:
        token = self.signed(OPEN, lead)
        for _ in range(2):
            response = client.get(f"/o/{token}")
            assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
            assert response.content.startswith(b"GIF89a")
        (_, first), (_, second) = gateway.events
        assert first.type == "email_opened"
        assert first.properties == {"template": "buying_guide", "via": "nurture"}
        assert first.id == second.id

    def test_a_bad_pixel_is_still_a_gif_and_counts_nothing(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str
    ) -> None:
        response = client.get(f"/o/{self.signed(CLICK, lead, u=self.TARGET)}")
        assert response.status_code == 200 and response.content.startswith(b"GIF89a")
        assert gateway.events == []

    def test_an_erased_lead_still_gets_where_it_clicked(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        response = self.click(client, self.signed(CLICK, "gone", u=self.TARGET))
        assert response.status_code == 302 and gateway.events == []


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


class TestMailReports:
    """POST /v1/webhooks/mail-reports: signed with NURTURE_WEBHOOK_SECRET, else refused."""

    SECRET = "hook-secret"
    BODY = json.dumps(
        {"report_id": "r-1", "type": "bounce", "bounce_type": "hard", "email": "a@b.example"}
    ).encode()

    @pytest.fixture
    def hooked(
        self, gateway: MemoryLeadGateway, ledger: MemoryLedger, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[TestClient]:
        monkeypatch.setenv("NURTURE_API_KEYS", KEY)
        monkeypatch.setenv("NURTURE_HOME", str(ROOT))
        monkeypatch.setenv("NURTURE_WEBHOOK_SECRET", self.SECRET)
        with TestClient(create_app(Settings(), gateway=gateway, ledger=ledger)) as test_client:
            yield test_client

    def post(self, client: TestClient, body: bytes, secret: str = SECRET, skew: int = 0) -> Any:
        stamp = str(int(time.time()) + skew)
        return client.post(
            "/v1/webhooks/mail-reports",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Nurture-Timestamp": stamp,
                "X-Nurture-Signature": signature(secret.encode(), stamp, body),
            },
        )

    def test_signed_hard_bounce_suppresses(self, hooked: TestClient, ledger: MemoryLedger) -> None:
        response = self.post(hooked, self.BODY)
        assert response.status_code == 200 and response.json()["action"] == "suppressed"
        assert email_hash("a@b.example", Settings().secret()) in ledger.suppressions

    @pytest.mark.parametrize(
        ("secret", "skew", "detail"),
        [("wrong", 0, "invalid signature"), (SECRET, -600, "stale request")],
    )
    def test_bad_signatures_change_nothing(
        self, hooked: TestClient, ledger: MemoryLedger, secret: str, skew: int, detail: str
    ) -> None:
        response = self.post(hooked, self.BODY, secret, skew)
        assert response.status_code == 401 and detail in response.json()["detail"]
        assert ledger.suppressions == {}

    def test_unsigned_or_altered(self, hooked: TestClient, ledger: MemoryLedger) -> None:
        unsigned = hooked.post("/v1/webhooks/mail-reports", content=self.BODY)
        assert unsigned.status_code == 401
        stamp = str(int(time.time()))
        altered = hooked.post(
            "/v1/webhooks/mail-reports",
            content=self.BODY.replace(b"a@b", b"c@d"),
            headers={
                "X-Nurture-Timestamp": stamp,
                "X-Nurture-Signature": signature(self.SECRET.encode(), stamp, self.BODY),
            },
        )
        assert altered.status_code == 401 and ledger.suppressions == {}

    def test_bad_report_names_the_field(self, hooked: TestClient) -> None:
        body = json.dumps({"report_id": "r", "type": "bounce", "email": "nope"}).encode()
        response = self.post(hooked, body)
        assert response.status_code == 422
        assert "email" in fields(response)

    def test_off_without_a_secret(self, client: TestClient) -> None:
        response = self.post(client, self.BODY)
        assert response.status_code == 503 and "NURTURE_WEBHOOK_SECRET" in response.text
