"""The API's defences: hashed scoped keys, public rate limits, body size, CORS, and 500s
that say nothing internal."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from nurture import cli
from nurture.api import create_app
from nurture.api.security import (
    RateLimiter,
    new_api_key,
    parse_api_keys,
    parse_rate,
    signature,
)
from nurture.config.settings import ApiSettings, Settings
from nurture.errors import ConfigError
from nurture.testing import MemoryLeadGateway, MemoryLedger
from tests.helpers import ROOT

EVENTS_KEY, EVENTS_ENTRY = new_api_key(["events"])
ADMIN_KEY, ADMIN_ENTRY = new_api_key(["admin"])
FORMS_KEY, FORMS_ENTRY = new_api_key(["forms"])


@pytest.fixture
def gateway() -> MemoryLeadGateway:
    return MemoryLeadGateway()


def client_with(
    monkeypatch: pytest.MonkeyPatch,
    gateway: MemoryLeadGateway,
    peer: tuple[str, int] = ("testclient", 50000),
    **env: str,
) -> TestClient:
    """The API with these settings, called from ``peer`` (the connection's address)."""
    monkeypatch.setenv("NURTURE_HOME", str(ROOT))
    monkeypatch.setenv("NURTURE_API_KEYS", f"{EVENTS_ENTRY},{ADMIN_ENTRY},{FORMS_ENTRY}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return TestClient(
        create_app(Settings(), gateway=gateway, ledger=MemoryLedger()),
        raise_server_exceptions=False,
        client=peer,
    )


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, gateway: MemoryLeadGateway) -> Iterator[TestClient]:
    with client_with(
        monkeypatch, gateway, NURTURE_API_PUBLIC_RATE="5/minute", NURTURE_API_PUBLIC_BURST="3"
    ) as test_client:
        yield test_client


class TestKeys:
    """Only hashes are configured; each key does what its scopes allow."""

    def test_entry_holds_no_key(self) -> None:
        assert EVENTS_KEY not in EVENTS_ENTRY and EVENTS_ENTRY.endswith(":events")

    def test_scopes(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        client.post("/v1/forms/contact", json={"email": "a@b.example"})
        event = {"email": "a@b.example", "type": "page_viewed"}
        assert (
            client.post("/v1/events", json=event, headers={"X-API-Key": EVENTS_KEY}).status_code
            == 202
        )
        # An events key cannot read leads, let alone erase them.
        read = client.get("/v1/leads/abc", headers={"X-API-Key": EVENTS_KEY})
        assert read.status_code == 403 and "'sales' scope" in read.json()["detail"]
        erase = client.post(
            "/v1/leads/erase", json={"email": "a@b.example"}, headers={"X-API-Key": EVENTS_KEY}
        )
        assert erase.status_code == 403 and gateway.erased == []
        # Admin may do everything.
        assert client.get("/v1/leads/abc", headers={"X-API-Key": ADMIN_KEY}).status_code == 404
        assert (
            client.post("/v1/events", json=event, headers={"X-API-Key": ADMIN_KEY}).status_code
            == 202
        )

    def test_the_digest_itself_is_not_a_key(self, client: TestClient) -> None:
        digest = EVENTS_ENTRY.split(":")[1]
        event = {"email": "a@b.example", "type": "page_viewed"}
        assert (
            client.post("/v1/events", json=event, headers={"X-API-Key": digest}).status_code == 401
        )

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("sha256:abc:events", "entry 1: the digest must be 64 hex digits"),
            (f"sha256:{'0' * 64}:", "entry 1: scopes must be some of"),
            (f"dev,sha256:{'0' * 64}:events+root", "entry 2: .*unknown: root"),
        ],
    )
    def test_bad_entries_named(self, text: str, message: str) -> None:
        with pytest.raises(ConfigError, match=message):
            parse_api_keys(text)


class TestRateLimit:
    """Public endpoints: a burst of 3, then 429 with Retry-After; a forms key is exempt."""

    def test_a_browser_gets_a_page(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        """Past the burst, a person's browser reads why in their language, not JSON."""
        browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Accept-Language": "fr"}
        answers = [
            client.post("/v1/forms/contact", data={"email": f"p{i}@b.example"}, headers=browser)
            for i in range(4)
        ]
        refused = answers[-1]
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["content-type"].startswith("text/html")
        assert "patientez une minute" in refused.text
        assert len(gateway.forms) == 3

    def test_burst_then_429(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        codes = [
            client.post("/v1/forms/contact", json={"email": f"r{i}@b.example"}).status_code
            for i in range(5)
        ]
        assert codes == [202, 202, 202, 429, 429]
        refused = client.post("/v1/forms/contact", json={"email": "z@b.example"})
        assert int(refused.headers["Retry-After"]) >= 1
        assert len(gateway.forms) == 3  # the refused posts reached nothing
        server = client.post(
            "/v1/forms/contact", json={"email": "s@b.example"}, headers={"X-API-Key": FORMS_KEY}
        )
        assert server.status_code == 202

    def test_bucket_refills(self) -> None:
        limiter = RateLimiter(rate=1.0, burst=2)
        assert [limiter.take("ip", "forms", now=0.0) for _ in range(3)] == [0, 0, 1.0]
        assert limiter.take("ip", "forms", now=1.0) == 0  # one token back after a second
        assert limiter.take("other", "forms", now=1.0) == 0  # per client

    @pytest.mark.parametrize(
        ("text", "per_second"), [("60/minute", 1.0), ("off", None), ("2/s", 2.0)]
    )
    def test_parse_rate(self, text: str, per_second: float | None) -> None:
        assert parse_rate(text) == per_second

    def test_bad_rate(self) -> None:
        with pytest.raises(ConfigError, match="<count>/second"):
            parse_rate("lots")


class TestBodyAndErrors:
    def test_oversized_body_refused_before_reading(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        huge = {"email": "a@b.example", "first_name": "x" * 70_000}
        response = client.post("/v1/forms/contact", json=huge)
        assert response.status_code == 413 and "over 65536 bytes" in response.json()["detail"]
        assert gateway.forms == []

    def test_crash_says_nothing_internal(
        self, client: TestClient, gateway: MemoryLeadGateway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def boom(*_: object) -> None:
            raise RuntimeError("secret internals at /srv/nurture/leads.py")

        monkeypatch.setattr(gateway, "submit_form", boom)
        response = client.post("/v1/forms/contact", json={"email": "a@b.example"})
        assert response.status_code == 500
        body = response.text
        assert "internals" not in body and "RuntimeError" not in body and "Traceback" not in body
        assert len(response.json()["error_id"]) == 12


class TestCors:
    def test_configured_origin_may_post_forms(
        self, monkeypatch: pytest.MonkeyPatch, gateway: MemoryLeadGateway
    ) -> None:
        with client_with(
            monkeypatch, gateway, NURTURE_API_CORS_ORIGINS="https://www.example.com"
        ) as client:
            allowed = client.options(
                "/v1/forms/contact",
                headers={
                    "Origin": "https://www.example.com",
                    "Access-Control-Request-Method": "POST",
                },
            )
            other = client.options(
                "/v1/forms/contact",
                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            )
        assert allowed.headers["access-control-allow-origin"] == "https://www.example.com"
        assert "access-control-allow-origin" not in other.headers


class TestSignedForms:
    """Form posts from servers (form builders' webhooks) signed with
    NURTURE_FORM_WEBHOOK_SECRET: checked, spared the rate limit, trusted for the visitor's
    address; a form marked ``signed`` takes nothing else."""

    SECRET = "form-hook-secret"

    @pytest.fixture
    def client(
        self, monkeypatch: pytest.MonkeyPatch, gateway: MemoryLeadGateway, tmp_path: Path
    ) -> Iterator[TestClient]:
        config = tmp_path / "nurture.toml"
        shipped = (ROOT / "config" / "nurture.toml").read_text()
        config.write_text(
            shipped + '\n[forms.partner-webhook]\nsigned = true\nsource = "referral"\n'
        )
        with client_with(
            monkeypatch,
            gateway,
            NURTURE_CONFIG_FILE=str(config),
            NURTURE_FORM_WEBHOOK_SECRET=self.SECRET,
            NURTURE_API_PUBLIC_RATE="5/minute",
            NURTURE_API_PUBLIC_BURST="1",
        ) as test_client:
            yield test_client

    def post(
        self,
        client: TestClient,
        form: str,
        *,
        secret: str | None = None,
        age: int = 0,
        extra: dict[str, str] | None = None,
    ) -> Any:
        body = json.dumps({"email": "visitor@b.example", "consent": True}).encode()
        headers = {"Content-Type": "application/json", **(extra or {})}
        if secret is not None:
            stamp = str(int(time.time()) - age)
            headers |= {
                "X-Nurture-Timestamp": stamp,
                "X-Nurture-Signature": signature(secret.encode(), stamp, body),
            }
        return client.post(f"/v1/forms/{form}", content=body, headers=headers)

    def test_a_signed_post_speaks_for_its_visitor(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        relayed = {"X-Nurture-Client-IP": "203.0.113.50", "X-Nurture-Client-User-Agent": "Edge"}
        response = self.post(client, "contact", secret=self.SECRET, extra=relayed)
        assert response.status_code == 202
        consent = gateway.forms[0][1].lead.consent
        assert (consent.ip, consent.user_agent) == ("203.0.113.50", "Edge")

    def test_an_unsigned_post_cannot_claim_a_visitor(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        relayed = {"X-Nurture-Client-IP": "203.0.113.50"}
        assert self.post(client, "contact", extra=relayed).status_code == 202
        assert gateway.forms[0][1].lead.consent.ip == "testclient"

    @pytest.mark.parametrize(
        ("secret", "age"), [("wrong-secret", 0), (SECRET, 301)], ids=["forged", "stale"]
    )
    def test_a_bad_signature_is_refused(
        self, client: TestClient, gateway: MemoryLeadGateway, secret: str, age: int
    ) -> None:
        response = self.post(client, "contact", secret=secret, age=age)
        assert response.status_code == 401 and gateway.forms == []

    def test_a_signed_form_takes_only_signed_posts(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        response = self.post(client, "partner-webhook")
        assert response.status_code == 401 and "signed posts only" in response.text
        assert self.post(client, "partner-webhook", secret=self.SECRET).status_code == 202
        assert [form.form_id for _, form in gateway.forms] == ["partner-webhook"]

    def test_signed_posts_are_spared_the_rate_limit(self, client: TestClient) -> None:
        assert self.post(client, "contact").status_code == 202
        assert self.post(client, "contact").status_code == 429
        for _ in range(3):
            assert self.post(client, "contact", secret=self.SECRET).status_code == 202

    def test_without_a_secret_no_signed_post_passes(
        self, monkeypatch: pytest.MonkeyPatch, gateway: MemoryLeadGateway
    ) -> None:
        with client_with(monkeypatch, gateway) as plain:
            assert self.post(plain, "contact", secret=self.SECRET).status_code == 401


class TestProxy:
    """Behind the proxies named in NURTURE_API_FORWARDED_ALLOW_IPS the client is the
    address the nearest untrusted hop was seen from (uvicorn's proxy-header rules), never a
    first hop the client wrote itself; from any other peer X-Forwarded-For is ignored."""

    PROXY = ("10.0.0.2", 41000)

    def post(self, client: TestClient, forwarded: str, email: str = "p@b.example") -> Any:
        return client.post(
            "/v1/forms/newsletter",
            json={"email": email},
            headers={"X-Forwarded-For": forwarded},
        )

    def test_the_address_the_proxy_saw(
        self, monkeypatch: pytest.MonkeyPatch, gateway: MemoryLeadGateway
    ) -> None:
        """A spoofed first hop is not the client: the consent records the address the
        proxy saw, and the rate limit counts that address however the first hop changes."""
        with client_with(
            monkeypatch,
            gateway,
            peer=self.PROXY,
            NURTURE_API_FORWARDED_ALLOW_IPS="127.0.0.1, 10.0.0.0/8",
            NURTURE_API_PUBLIC_RATE="1/minute",
            NURTURE_API_PUBLIC_BURST="1",
        ) as client:
            assert self.post(client, "6.6.6.6, 203.0.113.9").status_code == 202
            assert gateway.forms[0][1].lead.consent.ip == "203.0.113.9"
            again = self.post(client, "7.7.7.7, 203.0.113.9", email="q@b.example")
            assert again.status_code == 429
            other = self.post(client, "6.6.6.6, 203.0.113.10", email="r@b.example")
            assert other.status_code == 202
        assert [form.lead.consent.ip for _, form in gateway.forms] == [
            "203.0.113.9",
            "203.0.113.10",
        ]

    @pytest.mark.parametrize("allowed", ["", "192.0.2.0/24"], ids=["none", "another"])
    def test_an_untrusted_peer_cannot_claim_an_address(
        self, monkeypatch: pytest.MonkeyPatch, gateway: MemoryLeadGateway, allowed: str
    ) -> None:
        with client_with(
            monkeypatch, gateway, peer=self.PROXY, NURTURE_API_FORWARDED_ALLOW_IPS=allowed
        ) as client:
            assert self.post(client, "203.0.113.9").status_code == 202
        assert gateway.forms[0][1].lead.consent.ip == "10.0.0.2"

    @pytest.mark.parametrize("entry", ["proxy.internal", "10.0.0.1/8", "300.1.1.1"])
    def test_a_bad_entry_is_named(self, entry: str) -> None:
        """uvicorn would take a malformed entry as a name that never matches: refused."""
        with pytest.raises(ValidationError, match=f"{re.escape(entry)!s}.*not an IP address"):
            ApiSettings(forwarded_allow_ips=f"127.0.0.1,{entry}")

    def test_trusting_everyone_is_refused(self) -> None:
        """With '*' uvicorn believes the first hop, which the client writes."""
        with pytest.raises(ValidationError, match="would believe any client"):
            ApiSettings(forwarded_allow_ips="*")

    def test_nurture_api_leaves_proxy_headers_to_the_app(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """uvicorn's own proxy-header middleware (trusting 127.0.0.1 by default) is off, so
        the setting alone decides, however the app is served."""
        calls: list[dict[str, Any]] = []
        monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
        result = CliRunner().invoke(cli.app, ["api"])
        assert result.exit_code == 0, result.output
        assert calls and calls[0]["proxy_headers"] is False


class TestOldProxySetting:
    """The removed NURTURE_API_TRUST_PROXY is refused, not silently ignored: an operator
    relying on it would otherwise see every client as the proxy."""

    def test_refused_naming_its_replacement(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NURTURE_API_TRUST_PROXY", "true")
        with pytest.raises(ValidationError, match="NURTURE_API_FORWARDED_ALLOW_IPS"):
            Settings()
