"""A person's browser posting a form: a 303 to a thank-you page delivering the promised
content (or to the form's own ``thank_you_url``), bad fields as a page in the visitor's
language; JSON clients keep JSON; honeypot and minimum fill time drop bots silently."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from temporalio.service import RPCError, RPCStatusCode

from nurture.adapters.links.tokens import TokenSigner
from nurture.api import create_app
from nurture.config.project import RESERVED_FIELDS, FormConfig
from nurture.config.settings import ApiSettings, Settings
from nurture.services.form_guard import SPAM_COUNTS, form_token
from nurture.services.intake import FormPost
from nurture.testing import MemoryLeadGateway, MemoryLedger
from tests.api.apitools import KEY, fields
from tests.conftest import write_always_open_config
from tests.helpers import ROOT

CHROMIUM_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
BROWSER = {"Accept": CHROMIUM_ACCEPT}
GUIDE = "The 2026 buying guide to marketing analytics"
GUIDE_URL = "https://www.example.com/guides/buying-guide.pdf"


class TestBrowserPost:
    """A browser's good post is a 303 to a GET page (a reload never posts again) showing
    the content its thank-you email offers, in the visitor's language."""

    @pytest.mark.parametrize(
        "accept",
        [
            CHROMIUM_ACCEPT,
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",  # Firefox
            "text/*, application/json;q=0.5",
        ],
    )
    def test_redirects_to_the_thank_you_page(
        self, client: TestClient, gateway: MemoryLeadGateway, accept: str
    ) -> None:
        response = client.post(
            "/v1/forms/white-paper",
            data={"email": "ada@globex.example"},
            headers={"Accept": accept},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["Location"] == "/thanks/white-paper?lang=en"
        assert response.headers["X-Nurture-Submission-Id"]
        assert len(gateway.forms) == 1
        page = client.get(response.headers["Location"])
        assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
        assert GUIDE in page.text and f'href="{GUIDE_URL}"' in page.text

    def test_multipart_and_french(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        """multipart/form-data too; the browser's French makes a French page."""
        response = client.post(
            "/v1/forms/white-paper",
            files={"email": (None, "ada@globex.example")},
            headers={**BROWSER, "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"},
        )
        assert response.status_code == 200 and len(gateway.forms) == 1
        assert response.url.path == "/thanks/white-paper"
        assert '<html lang="fr">' in response.text
        assert "Comme promis" in response.text and GUIDE_URL in response.text

    def test_double_opt_in_says_to_confirm(self, client: TestClient) -> None:
        response = client.post(
            "/v1/forms/newsletter", data={"email": "new@b.example"}, headers=BROWSER
        )
        assert response.status_code == 200 and "confirm your subscription" in response.text

    @pytest.mark.parametrize(
        "accept", [None, "*/*", "application/json", "application/json, text/html;q=0.9"]
    )
    def test_json_clients_keep_json(
        self, client: TestClient, gateway: MemoryLeadGateway, accept: str | None
    ) -> None:
        """curl, fetch and JSON clients: the 202 JSON answer, as before."""
        headers = {"Accept": accept} if accept else {}
        response = client.post(
            "/v1/forms/white-paper", data={"email": "a@b.example"}, headers=headers
        )
        assert response.status_code == 202 and set(response.json()) == {
            "lead_id",
            "submission_id",
        }

    def test_unknown_thanks_page(self, client: TestClient) -> None:
        response = client.get("/thanks/nope", headers={"Accept-Language": "fr"})
        assert response.status_code == 404 and "Ce formulaire n&#39;existe pas" in response.text


class TestBrowserErrors:
    """Bad fields come back to a browser as a 422 page naming each field and its rule,
    in the visitor's language, with a way back; nothing is submitted."""

    def test_lists_each_bad_field(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        response = client.post(
            "/v1/forms/contact",
            data={"email": "not-an-address", "first_name": "x" * 500, "country": "ZZZ"},
            headers={**BROWSER, "Referer": "https://www.example.com/contact"},
        )
        assert response.status_code == 422 and gateway.forms == []
        assert response.headers["content-type"].startswith("text/html")
        assert "Email address</strong> is not a valid email address" in response.text
        assert "First name</strong> is too long: 200 characters at most" in response.text
        assert "Country</strong> should be a two-letter country code" in response.text
        assert "^[A-Z]" not in response.text  # no pattern shown to a person
        assert 'href="https://www.example.com/contact"' in response.text
        assert "3 fields need your attention" in response.text

    def test_in_french_without_a_referer(self, client: TestClient) -> None:
        response = client.post(
            "/v1/forms/contact",
            data={"first_name": "Ada"},
            headers={**BROWSER, "Accept-Language": "fr"},
        )
        assert response.status_code == 422
        assert "Adresse e-mail</strong> est obligatoire" in response.text
        assert 'id="back"' not in response.text and "bouton Retour" in response.text

    def test_unknown_form(self, client: TestClient) -> None:
        response = client.post("/v1/forms/nope", data={"email": "a@b.example"}, headers=BROWSER)
        assert response.status_code == 404 and "This form does not exist" in response.text
        assert response.headers["content-type"].startswith("text/html")

    def test_temporal_down_says_to_send_again(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Temporal did not answer: a person gets a page saying to send the form again,
        not the JSON a script would retry from."""
        gateway = MemoryLeadGateway()

        async def lost(lead_id: str, form: object) -> None:
            raise RPCError("connection reset", RPCStatusCode.UNAVAILABLE, b"")

        monkeypatch.setattr(gateway, "submit_form", lost)
        settings = Settings(home=ROOT, api=ApiSettings(keys=KEY))
        app = create_app(settings, gateway=gateway, ledger=MemoryLedger())
        with TestClient(app) as client:
            response = client.post(
                "/v1/forms/white-paper",
                data={"email": "a@b.example"},
                headers={**BROWSER, "Accept-Language": "fr"},
            )
        assert response.status_code == 503
        assert "envoyez de nouveau le formulaire" in response.text


@pytest.fixture
def guarded(
    tmp_path: Path, gateway: MemoryLeadGateway, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The app with a form ``guarded`` having a honeypot, a minimum fill time of 5 s and
    its own thank-you URL."""
    config = write_always_open_config(tmp_path)
    config.write_text(
        config.read_text()
        + """
[forms.guarded]
honeypot = "website"
min_fill_seconds = 5
thank_you_url = "https://www.example.com/thanks?from=nurture"
"""
    )
    monkeypatch.setenv("NURTURE_API_KEYS", KEY)
    monkeypatch.setenv("NURTURE_HOME", str(ROOT))
    monkeypatch.setenv("NURTURE_CONFIG_FILE", str(config))
    app = create_app(Settings(), gateway=gateway, ledger=MemoryLedger())
    with TestClient(app) as test_client:
        yield test_client


def _shown(seconds_ago: float, form_id: str = "guarded", secret: bytes | None = None) -> str:
    signer = TokenSigner(secret or Settings().secret())
    return form_token(signer, form_id, datetime.now(UTC) - timedelta(seconds=seconds_ago))


class TestSpamDefences:
    """A honeypot filled or a form sent too fast is answered exactly like a good post, but
    no lead hears of it; a form needing its rendered-at token refuses a post without one."""

    def test_a_person_goes_through(self, guarded: TestClient, gateway: MemoryLeadGateway) -> None:
        """Token fetched from the API 6 s before, honeypot empty: a lead, and the 303 to the
        form's own thank-you URL."""
        token = guarded.get("/v1/forms/guarded/token").json()
        assert token["field"] == "nurture_rendered"
        data = {"email": "a@b.example", "website": "", "nurture_rendered": _shown(6)}
        response = guarded.post(
            "/v1/forms/guarded", data=data, headers=BROWSER, follow_redirects=False
        )
        assert response.status_code == 303 and len(gateway.forms) == 1
        assert response.headers["Location"] == "https://www.example.com/thanks?from=nurture"

    @pytest.mark.parametrize("trap", ["honeypot", "too_fast"])
    def test_a_bot_gets_the_same_answer_and_nothing_happens(
        self, guarded: TestClient, gateway: MemoryLeadGateway, trap: str
    ) -> None:
        before = SPAM_COUNTS["guarded", trap]
        data = {"email": "bot@b.example", "nurture_rendered": _shown(6)}
        if trap == "honeypot":
            data["website"] = "https://spam.example"
        else:
            data["nurture_rendered"] = guarded.get("/v1/forms/guarded/token").json()["value"]
        person = {"email": "real@b.example", "website": "", "nurture_rendered": _shown(6)}
        real = guarded.post("/v1/forms/guarded", data=person)
        bot = guarded.post("/v1/forms/guarded", data=data)
        assert bot.status_code == real.status_code == 202
        assert set(bot.json()) == set(real.json()) == {"lead_id", "submission_id"}
        assert len(gateway.forms) == 1  # the real one only
        browser = guarded.post(
            "/v1/forms/guarded", data=data, headers=BROWSER, follow_redirects=False
        )
        assert browser.status_code == 303 and len(gateway.forms) == 1
        assert SPAM_COUNTS["guarded", trap] == before + 2

    @pytest.mark.parametrize(
        ("token", "says"),
        [
            (None, "GET /v1/forms/guarded/token"),
            ("forged", "not a valid token"),
            ("other-form", "another form"),
            ("expired", "reload the page"),
        ],
    )
    def test_a_missing_or_bad_token_is_a_clear_422(
        self, guarded: TestClient, gateway: MemoryLeadGateway, token: str | None, says: str
    ) -> None:
        value = {
            None: "",
            "forged": _shown(6, secret=b"another-secret"),
            "other-form": _shown(6, form_id="contact"),
            "expired": _shown(2 * 86400),
        }[token]
        response = guarded.post(
            "/v1/forms/guarded", data={"email": "a@b.example", "nurture_rendered": value}
        )
        assert response.status_code == 422 and gateway.forms == []
        assert says in fields(response)["nurture_rendered"]

    def test_a_browser_without_its_token_is_told_to_reload(self, guarded: TestClient) -> None:
        response = guarded.post(
            "/v1/forms/guarded",
            data={"email": "a@b.example"},
            headers={**BROWSER, "Accept-Language": "fr"},
        )
        assert response.status_code == 422 and "rechargez la page" in response.text

    def test_the_token_of_an_unknown_form(self, guarded: TestClient) -> None:
        assert guarded.get("/v1/forms/nope/token").status_code == 404


class TestFormConfig:
    """What a form's browser settings accept."""

    @pytest.mark.parametrize(
        "settings",
        [
            {"thank_you_url": "/thanks"},
            {"thank_you_url": "javascript:alert(1)"},
            {"thank_you_url": "ftp://example.com/x"},
            {"honeypot": "email"},
            {"honeypot": "utm_source"},
            {"honeypot": "has space"},
            {"min_fill_seconds": 0},
        ],
    )
    def test_refused(self, settings: dict[str, object]) -> None:
        with pytest.raises(ValidationError):
            FormConfig.model_validate(settings)

    def test_accepted(self) -> None:
        form = FormConfig(
            thank_you_url="https://example.com/merci", honeypot="website", min_fill_seconds=3
        )
        assert form.min_fill_seconds == 3

    def test_reserved_fields_are_every_posted_field(self) -> None:
        """A honeypot can never be a field people fill: the reserved names follow FormPost."""
        assert set(FormPost.model_fields) <= RESERVED_FIELDS
