"""The pages a lead reaches from an email (unsubscribe, confirmation, a tracking link) in
the lead's language: the locale the link carries, else the browser's, else the project's
default; forged and expired links show the invalid or expired page and change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from nurture.adapters.links.links import CONFIRM, UNSUBSCRIBE, Links
from nurture.adapters.links.tokens import TokenSigner
from nurture.config.settings import Settings
from nurture.domain.lead.messages import OptInConfirmed, OptOut
from nurture.testing import MemoryLeadGateway, MemoryLedger

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


def _signer(secret: bytes | None = None) -> TokenSigner:
    return TokenSigner(secret or Settings().secret())


def _unsubscribe(locale: str | None = None, secret: bytes | None = None) -> str:
    links = Links(_signer(secret), "https://n.example", "u@n.example")
    return links.unsubscribe_token("L1", "a1b2", locale)


def _confirm(locale: str | None = None, expires: timedelta = timedelta(days=1)) -> str:
    links = Links(_signer(), "https://n.example", "u@n.example")
    url = links.confirm_url("L1", "sub-1", datetime.now(UTC) + expires, locale)
    return url.rpartition("/")[2]


def _lang(html: str) -> str:
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


class TestLinksCarryTheLocale:
    """Links signed with a locale carry it as ``lc``; links without one (older emails)
    still verify."""

    def test_lc(self) -> None:
        now = datetime.now(UTC)
        assert _signer().verify(_unsubscribe("fr-CA"), UNSUBSCRIBE, now)["lc"] == "fr-CA"
        assert "lc" not in _signer().verify(_unsubscribe(), UNSUBSCRIBE, now)
        assert _signer().verify(_confirm("fr"), CONFIRM, now)["lc"] == "fr"


class TestUnsubscribePages:
    """/u/ speaks the link's locale first, then the browser's, then the default (en)."""

    @pytest.mark.parametrize(
        ("locale", "headers", "lang", "button"),
        [
            ("fr", ENGLISH, "fr", "Me désinscrire"),
            ("fr-CA", {}, "fr", "Me désinscrire"),
            ("en", FRENCH, "en", "Unsubscribe"),
            (None, FRENCH, "fr", "Me désinscrire"),
            (None, {}, "en", "Unsubscribe"),
            ("de", {}, "en", "Unsubscribe"),
        ],
    )
    def test_page_language(
        self,
        client: TestClient,
        locale: str | None,
        headers: dict[str, str],
        lang: str,
        button: str,
    ) -> None:
        response = client.get(f"/u/{_unsubscribe(locale)}", headers=headers)
        assert response.status_code == 200 and _lang(response.text) == lang
        assert f'<button type="submit">{button}</button>' in response.text

    def test_done_in_french(self, client: TestClient, ledger: MemoryLedger) -> None:
        response = client.post(f"/u/{_unsubscribe('fr')}", headers=ENGLISH)
        assert response.status_code == 200 and "Vous êtes désinscrit" in response.text
        assert "a1b2" in ledger.suppressions

    @pytest.mark.parametrize(("headers", "title"), [(FRENCH, "Ce lien n"), ({}, "This link")])
    def test_forged_link_is_localized_and_changes_nothing(
        self,
        client: TestClient,
        ledger: MemoryLedger,
        gateway: MemoryLeadGateway,
        headers: dict[str, str],
        title: str,
    ) -> None:
        """A link signed by another secret claims French: its claim is not trusted, the
        browser's language is; nothing is suppressed."""
        forged = _unsubscribe("fr" if not headers else "en", secret=b"another-secret")
        for method in (client.get, client.post):
            response = method(f"/u/{forged}", headers=headers)
            assert response.status_code == 400 and title in response.text
        assert ledger.suppressions == {} and gateway.received(OptOut) == []


class TestConfirmationPages:
    """/c/ in the lead's language, its expired page too (the expired token is still ours)."""

    @pytest.mark.parametrize(
        ("locale", "headers", "button"),
        [("fr", ENGLISH, "Confirmer mon inscription"), (None, {}, "Confirm my subscription")],
    )
    def test_page(
        self, client: TestClient, locale: str | None, headers: dict[str, str], button: str
    ) -> None:
        response = client.get(f"/c/{_confirm(locale)}", headers=headers)
        assert response.status_code == 200 and button in response.text

    def test_done_in_french(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        client.post("/v1/forms/newsletter", json={"email": "a@b.example"})
        lead_id = gateway.forms[0][0]
        links = Links(_signer(), "https://n.example", "u@n.example")
        token = links.confirm_url(lead_id, "s1", datetime.now(UTC) + timedelta(hours=1), "fr")
        response = client.post(f"/c/{token.rpartition('/')[2]}")
        assert response.status_code == 200 and "votre inscription est confirmée" in response.text
        assert len(gateway.received(OptInConfirmed)) == 1

    @pytest.mark.parametrize(("locale", "text"), [("fr", "Ce lien a expiré"), ("en", "expired")])
    def test_expired_in_the_links_language(
        self, client: TestClient, gateway: MemoryLeadGateway, locale: str, text: str
    ) -> None:
        token = _confirm(locale, expires=-timedelta(seconds=1))
        for method in (client.get, client.post):
            headers = ENGLISH if locale == "fr" else FRENCH
            response = method(f"/c/{token}", headers=headers)
            assert response.status_code == 410 and text in response.text
        assert gateway.received(OptInConfirmed) == []

    def test_forged_in_the_browsers_language(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        forged = TokenSigner(b"another-secret").sign(CONFIRM, {"l": "L1", "s": "s", "lc": "en"})
        for method in (client.get, client.post):
            response = method(f"/c/{forged}", headers=FRENCH)
            assert response.status_code == 400 and "Ce lien n" in response.text
        assert gateway.received(OptInConfirmed) == []


class TestTrackingPage:
    """A tracking link that does not verify: the invalid page, in the browser's language."""

    @pytest.mark.parametrize(
        ("headers", "text"), [(FRENCH, "rendez-vous plutôt sur"), (ENGLISH, "visit")]
    )
    def test_invalid(self, client: TestClient, headers: dict[str, str], text: str) -> None:
        response = client.get("/r/abc.def", headers=headers, follow_redirects=False)
        assert response.status_code == 400 and text in response.text
