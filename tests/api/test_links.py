"""The links in emails: one-click unsubscribe, double opt-in confirmation, open and click
tracking (a person's, a machine's: scanners, Apple Mail Privacy Protection)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from nurture.adapters.links.links import CONFIRM, UNSUBSCRIBE
from nurture.adapters.links.tokens import TokenSigner
from nurture.adapters.links.tracking import CLICK, OPEN
from nurture.api import create_app
from nurture.config.settings import Settings
from nurture.domain.lead import journey
from nurture.domain.lead.messages import EventReceived, FormPosted, OptInConfirmed, OptOut
from nurture.domain.lead.state import LeadState, start_state
from nurture.testing import MemoryLeadGateway, MemoryLedger
from tests.api.apitools import KEY
from tests.helpers import ROOT, scoring_model, told_events


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
        assert ledger.suppressions == {} and gateway.received(OptOut) == []

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
        [(told, opt_out)] = gateway.received(OptOut)
        assert told == lead and opt_out.channel == "one-click"

    def test_repeat_is_harmless(
        self, client: TestClient, gateway: MemoryLeadGateway, ledger: MemoryLedger, lead: str
    ) -> None:
        """A second POST (the page's button after the one-click) answers the same and keeps
        the first time, so the lead sees one unsubscribe."""
        for _ in range(2):
            assert client.post(f"/u/{self.token(lead_id=lead)}").status_code == 200
        first, second = (o for _, o in gateway.received(OptOut))
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
        assert ledger.suppressions == {} and gateway.received(OptOut) == []


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
        assert gateway.received(OptInConfirmed) == []

    def test_post_confirms_with_the_evidence(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str
    ) -> None:
        for _ in range(2):  # a double click answers the same; the lead applies it once
            response = client.post(f"/c/{self.token(lead)}", headers={"User-Agent": "Safari"})
            assert response.status_code == 200 and "you are subscribed" in response.text
        (told, confirmed), _ = gateway.received(OptInConfirmed)
        assert told == lead and confirmed.submission_id == "sub-1"
        assert (confirmed.ip, confirmed.user_agent) == ("testclient", "Safari")

    def test_an_expired_link_says_so_and_changes_nothing(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str
    ) -> None:
        token = self.token(lead, expires=-timedelta(seconds=1))
        for method in (client.get, client.post):
            response = method(f"/c/{token}")
            assert response.status_code == 410 and "expired" in response.text
        assert gateway.received(OptInConfirmed) == []

    def test_a_lead_that_expired_meanwhile_gets_the_expired_page(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        response = client.post(f"/c/{self.token('gone')}")
        assert response.status_code == 410 and gateway.received(OptInConfirmed) == []

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
        assert gateway.received(OptInConfirmed) == [] and gateway.received(OptOut) == []


class TestTracking:
    """/o/ answers a GIF and tells an open once per email; /r/ redirects only to the signed
    target and tells a click once per link; a machine's (scanner, Apple's privacy proxy) is
    told apart, flagged, and scores nothing; nothing else redirects anywhere."""

    TARGET = "https://www.example.com/guides/buying-guide.pdf?utm_source=nurture&x=1"
    BROWSER: ClassVar[dict[str, str]] = {
        "User-Agent": "Mozilla/5.0 (Windows NT 10.0) Gecko/20100101 Firefox/140.0"
    }
    APPLE_MAIL: ClassVar[dict[str, str]] = {
        "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "
        "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
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

    @staticmethod
    def client_from(
        monkeypatch: pytest.MonkeyPatch, gateway: MemoryLeadGateway, peer: str
    ) -> TestClient:
        """The API called from ``peer`` (the connection's address)."""
        monkeypatch.setenv("NURTURE_API_KEYS", KEY)
        monkeypatch.setenv("NURTURE_HOME", str(ROOT))
        app = create_app(Settings(), gateway=gateway, ledger=MemoryLedger())
        return TestClient(app, client=(peer, 50000))

    @staticmethod
    def scores(gateway: MemoryLeadGateway, lead: str) -> dict[str, int]:
        """The points each event told to ``lead`` earned, once the lead's journey applied
        its form and then its events in order (a repeat is skipped, as the workflow does)."""
        model = scoring_model()
        (form,) = [f for told, f in gateway.forms if told == lead]
        state: LeadState = start_state(lead, model)
        context = journey.ApplyContext(model=model, now=form.submitted_at)
        state = journey.apply(state, FormPosted(form=form), context).state
        points: dict[str, int] = {}
        for told, message in gateway.received(EventReceived):
            if told != lead or state.has_seen(message.id):
                continue
            context = context.model_copy(update={"now": message.event.occurred_at})
            before = state.score.total
            state = journey.apply(state, message, context).state
            points[message.id] = state.score.total - before
        return points

    def test_a_click_redirects_and_counts_once(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str
    ) -> None:
        token = self.signed(CLICK, lead, u=self.TARGET)
        for _ in range(2):
            response = self.click(client, token, headers=self.BROWSER)
            assert response.status_code == 302 and response.headers["location"] == self.TARGET
        first, second = told_events(gateway)
        assert first[0] == lead and first[1].type == "email_clicked"
        assert first[1].properties == {
            "email_key": f"{lead}/seq/guide/1",
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
        assert told_events(gateway) == []

    @pytest.mark.parametrize(
        ("sent", "method", "agent", "reason"),
        [
            (timedelta(seconds=2), "GET", BROWSER["User-Agent"], "within 30s of sending"),
            (timedelta(hours=1), "HEAD", BROWSER["User-Agent"], "HEAD request"),
            (
                timedelta(hours=1),
                "GET",
                "Mozilla/5.0 (compatible; Proofpoint URL Defense)",
                "scanner user agent",
            ),
        ],
        ids=["seconds-after-sending", "head", "scanner-agent"],
    )
    def test_scanners_are_redirected_and_flagged(
        self,
        client: TestClient,
        gateway: MemoryLeadGateway,
        lead: str,
        sent: timedelta,
        method: str,
        agent: str,
        reason: str,
    ) -> None:
        """A scanner's click still redirects and is told to the lead flagged ``machine``
        (once, however often it comes back); the person's click of the same link later is
        told under its own id, and only the person's scores."""
        token = self.signed(CLICK, lead, sent=sent, u=self.TARGET)
        for _ in range(2):
            response = client.request(
                method, f"/r/{token}", headers={"User-Agent": agent}, follow_redirects=False
            )
            assert response.status_code == 302 and response.headers["location"] == self.TARGET
        (_, machine), (_, again) = told_events(gateway)
        assert machine.type == "email_clicked" and machine.id == again.id
        assert machine.properties["machine"] == reason
        assert machine.properties["email_key"] == f"{lead}/seq/guide/1"
        later = self.signed(CLICK, lead, u=self.TARGET)
        assert self.click(client, later, headers=self.BROWSER).status_code == 302
        *_, (_, person) = told_events(gateway)
        assert "machine" not in person.properties and person.id != machine.id
        assert self.scores(gateway, lead) == {machine.id: 0, person.id: 2}

    def test_the_pixel_counts_an_open_once_per_email(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str
    ) -> None:
        """A person's open (a browser's full user agent) is told once per email, with the
        email's key, and scores its point."""
        token = self.signed(OPEN, lead)
        for _ in range(2):
            response = client.get(f"/o/{token}", headers=self.BROWSER)
            assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
            assert response.content.startswith(b"GIF89a")
        (_, first), (_, second) = told_events(gateway)
        assert first.type == "email_opened"
        assert first.properties == {
            "email_key": f"{lead}/seq/guide/1",
            "template": "buying_guide",
            "via": "nurture",
        }
        assert first.id == second.id
        assert self.scores(gateway, lead) == {first.id: 1}

    @pytest.mark.parametrize(
        ("peer", "agent"),
        [
            ("203.0.113.50", "Mozilla/5.0"),
            ("17.58.1.2", "Mozilla/5.0 AppleWebKit/605.1.15"),
        ],
        ids=["bare-agent", "apple-network"],
    )
    def test_an_apple_prefetch_is_flagged_and_the_person_still_counts(
        self,
        monkeypatch: pytest.MonkeyPatch,
        gateway: MemoryLeadGateway,
        peer: str,
        agent: str,
    ) -> None:
        """Apple Mail Privacy Protection fetches the pixel at delivery: the open is told
        flagged, scores nothing, and does not use up the email's open: the person's own open
        later, from their device, is told and scores."""
        with self.client_from(monkeypatch, gateway, peer) as client:
            lead = str(
                client.post("/v1/forms/contact", json={"email": "m@b.example"}).json()["lead_id"]
            )
            prefetch = client.get(
                f"/o/{self.signed(OPEN, lead, sent=timedelta(seconds=1))}",
                headers={"User-Agent": agent},
            )
            assert prefetch.content.startswith(b"GIF89a")
        ((_, machine),) = told_events(gateway)
        assert machine.properties["machine"] == "Apple Mail Privacy Protection"
        assert self.scores(gateway, lead) == {machine.id: 0}
        with self.client_from(monkeypatch, gateway, "198.51.100.20") as client:
            client.get(f"/o/{self.signed(OPEN, lead)}", headers=self.APPLE_MAIL)
        *_, (_, person) = told_events(gateway)
        assert "machine" not in person.properties and person.id != machine.id
        assert self.scores(gateway, lead) == {machine.id: 0, person.id: 1}

    def test_a_head_on_the_pixel_is_a_machines(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str
    ) -> None:
        """Recorded once, flagged, however often the token is replayed: its id caps it."""
        token = self.signed(OPEN, lead)
        for _ in range(3):
            assert client.head(f"/o/{token}", headers=self.BROWSER).status_code == 200
        events = {e.id: e for _, e in told_events(gateway)}
        ((_, machine),) = events.items()
        assert machine.properties["machine"] == "HEAD request"

    def test_a_client_over_the_rate_limit_records_nothing(
        self, monkeypatch: pytest.MonkeyPatch, gateway: MemoryLeadGateway
    ) -> None:
        """A burst of one: the first fetch is told; after it neither a person's nor a
        machine's open or click is, yet the pixel and the redirect still answer."""
        monkeypatch.setenv("NURTURE_API_PUBLIC_RATE", "1/minute")
        monkeypatch.setenv("NURTURE_API_PUBLIC_BURST", "1")
        with self.client_from(monkeypatch, gateway, "203.0.113.60") as client:
            lead = str(
                client.post("/v1/forms/contact", json={"email": "r@b.example"}).json()["lead_id"]
            )
            assert (
                client.get(f"/o/{self.signed(OPEN, lead)}", headers=self.BROWSER).status_code == 200
            )
            fetches = [
                client.get(f"/o/{self.signed(OPEN, lead)}", headers={"User-Agent": "Mozilla/5.0"}),
                client.head(f"/o/{self.signed(OPEN, lead)}"),
                self.click(client, self.signed(CLICK, lead, u=self.TARGET), headers=self.BROWSER),
                self.click(client, self.signed(CLICK, lead, sent=timedelta(0), u=self.TARGET)),
            ]
        assert [f.status_code for f in fetches] == [200, 200, 302, 302]
        assert [e.type for _, e in told_events(gateway)] == ["email_opened"]

    def test_a_bad_pixel_is_still_a_gif_and_counts_nothing(
        self, client: TestClient, gateway: MemoryLeadGateway, lead: str
    ) -> None:
        response = client.get(f"/o/{self.signed(CLICK, lead, u=self.TARGET)}")
        assert response.status_code == 200 and response.content.startswith(b"GIF89a")
        assert told_events(gateway) == []

    def test_an_erased_lead_still_gets_where_it_clicked(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        response = self.click(client, self.signed(CLICK, "gone", u=self.TARGET))
        assert response.status_code == 302 and told_events(gateway) == []
