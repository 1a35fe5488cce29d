"""DKIM signing through a real SMTP server: what arrives verifies against the published
key, the unsubscribe headers are covered, and any change to them breaks the signature."""

from __future__ import annotations

from pathlib import Path

import dkim
import pytest
from temporalio.testing import ActivityEnvironment

from nurture.adapters.mail.dkim import DkimSigner, dkim_for
from nurture.adapters.mail.smtp import SmtpMailer
from nurture.config.settings import Settings, SmtpSettings
from nurture.domain.emails import EmailKind, SendEmailInput
from nurture.errors import ConfigError
from nurture.testing import MemoryLedger, ScriptedSmtpServer
from tests.helpers import ROOT, email_activities

DATA = Path(__file__).resolve().parents[1] / "data"
KEY = DATA / "dkim-test.key"
"""A key made for these tests only, published nowhere."""
RECORD = b"v=DKIM1; k=rsa; p=" + (DATA / "dkim-test.pub").read_bytes().strip()


def dns(name: bytes, timeout: int = 5) -> bytes:
    """The TXT record of test._domainkey.example.com, as DNS would answer it."""
    return RECORD if name == b"test._domainkey.example.com." else b""


async def send(smtp: ScriptedSmtpServer, kind: EmailKind) -> bytes:
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=smtp.port))
    signer = DkimSigner.from_file("test", "example.com", KEY)
    activities = email_activities(mailer, MemoryLedger(), dkim=signer)
    marketing = kind is EmailKind.MARKETING
    input = SendEmailInput(
        key=f"L1/c/{kind}/1",
        lead_id="L1",
        to_email="ada@globex.example",
        to_name="Ada Lovelace",
        locale="fr",
        template="about_your_needs" if marketing else "thank_you",
        kind=kind,
        context={"lead": {"first_name": "Ada"}, "offer": None, "related": []},
    )
    try:
        await ActivityEnvironment().run(activities.send_email, input)
    finally:
        await mailer.close()
    return smtp.raw[-1]


async def test_what_arrives_verifies_and_covers_the_unsubscribe_headers(smtp) -> None:
    raw = await send(smtp, EmailKind.MARKETING)
    assert raw.startswith(b"DKIM-Signature:")
    assert dkim.verify(raw, dnsfunc=dns)
    header = raw.split(b"\r\n\r\n", 1)[0].decode()
    tags = header.split("DKIM-Signature:", 1)[1].split("\r\nFrom:", 1)[0]
    signed = next(t for t in tags.replace("\r\n", "").split(";") if t.strip().startswith("h="))
    names = {n.strip().lower() for n in signed.split("=", 1)[1].split(":")}
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject", "to"} <= names


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: nope"),
        (b"<https://nurture.example/u/", b"<https://evil.example/u/"),
        (b"\r\n\r\n", b"\r\n\r\nInjected line\r\n"),
    ],
    ids=["one-click-header", "unsubscribe-url", "body"],
)
async def test_any_change_breaks_it(smtp, before: bytes, after: bytes) -> None:
    raw = await send(smtp, EmailKind.MARKETING)
    assert before in raw
    assert not dkim.verify(raw.replace(before, after, 1), dnsfunc=dns)


async def test_an_added_unsubscribe_header_breaks_a_transactional_mail(smtp) -> None:
    """Absent list headers are signed as absent: nobody can add them on the way."""
    raw = await send(smtp, EmailKind.TRANSACTIONAL)
    assert dkim.verify(raw, dnsfunc=dns) and b"List-Unsubscribe" not in raw
    added = raw.replace(b"\r\nSubject:", b"\r\nList-Unsubscribe: <https://x>\r\nSubject:", 1)
    assert not dkim.verify(added, dnsfunc=dns)


class TestSettings:
    def test_off_unless_a_selector_is_set(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NURTURE_HOME", str(ROOT))
        assert dkim_for(Settings(), "hello@example.com") is None

    def test_on_with_the_from_domain(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NURTURE_DKIM_SELECTOR", "test")
        monkeypatch.setenv("NURTURE_DKIM_PRIVATE_KEY_FILE", str(KEY))
        signer = dkim_for(Settings(), "hello@example.com")
        assert signer is not None and (signer.selector, signer.domain) == ("test", "example.com")

    def test_a_selector_without_a_key_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NURTURE_DKIM_SELECTOR", "test")
        with pytest.raises(ConfigError, match="NURTURE_DKIM_PRIVATE_KEY_FILE"):
            dkim_for(Settings(), "hello@example.com")

    def test_an_unreadable_or_bad_key_is_named(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="cannot read"):
            DkimSigner.from_file("test", "example.com", tmp_path / "missing.pem")
        bad = tmp_path / "bad.pem"
        bad.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
        with pytest.raises(ConfigError, match="unusable"):
            DkimSigner.from_file("test", "example.com", bad)
