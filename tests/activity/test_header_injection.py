"""No header line nurture did not build, whatever a lead types: RFC 2047 encoded words that
decode to CR/LF (CVE-2024-6923 on CPython 3.11.7) in every field that reaches a header,
checked on the raw bytes a real SMTP server received, never on a re-parsed message."""

from __future__ import annotations

import base64
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from nurture.adapters.mail.smtp import SmtpMailer
from nurture.domain.emails import MESSAGE_FAILURE, EmailKind, SendEmailInput
from nurture.testing import MemoryLedger, ScriptedSmtpServer
from tests.conftest import MailerFor
from tests.helpers import email_activities


def _b(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


PAYLOADS = {
    "q-bcc": "=?utf-8?q?x=0D=0ABcc:_evil@x.test?=",
    "b-bcc": _b("x\r\nBcc: evil@x.test"),
    "q-blank-line": "=?utf-8?q?x=0D=0A=0D=0AInjected_body?=",
    "b-blank-line": _b("x\r\n\r\nInjected body"),
    "b-custom-header": _b("x\r\nX-Evil: 1"),
    "q-lf-only": "=?utf-8?q?x=0ACc:_evil@x.test?=",
    "non-ascii-around": "Zoë =?utf-8?q?=0D=0ACc:_evil@x.test?= Ünal",
    "iso-8859-1": "=?iso-8859-1?q?x=0D=0ABcc:_evil@x.test?=",
}
OURS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "reply-to",
    "x-nurture-lead",
    "x-nurture-template",
    "mime-version",
    "content-type",
}


@pytest.fixture
def mailer(smtp: ScriptedSmtpServer, mailer_for: MailerFor) -> SmtpMailer:
    return mailer_for(smtp.port)


def head_lines(raw: bytes) -> list[bytes]:
    """The header block of the bytes the server received, line by line."""
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def unfolded(raw: bytes, name: bytes) -> str:
    """One header's value as received, its folded lines joined."""
    value = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n" + name + b": ", 1)[1]
    lines = [value.split(b"\r\n")[0]]
    for line in value.split(b"\r\n")[1:]:
        if line[:1] != b" ":
            break
        lines.append(line)
    return b"".join(lines).decode()


def assert_only_our_headers(raw: bytes) -> None:
    names = [
        line.split(b":", 1)[0].decode().lower() for line in head_lines(raw) if line[:1] != b" "
    ]
    assert set(names) <= OURS, f"header lines nurture did not build: {set(names) - OURS}"
    assert len(names) == len(set(names)), "a header repeated"
    for line in head_lines(raw):
        assert b"\r" not in line and b"\n" not in line
        assert not line.lstrip().lower().startswith((b"bcc:", b"cc:", b"x-evil:"))
    # The body starts where nurture's MIME body starts, not at an injected blank line.
    assert raw.split(b"\r\n\r\n", 1)[1].startswith(b"--"), "the header block ended early"


def thank_you(first: str, last: str, title: str) -> SendEmailInput:
    return SendEmailInput.model_validate(
        {
            "key": "L1/form-white-paper/thank_you/1",
            "lead_id": "L1",
            "to_email": "ada@globex.example",
            "to_name": f"{first} {last}",
            "locale": "en",
            "template": "thank_you",
            "kind": EmailKind.TRANSACTIONAL,
            "context": {
                "lead": {"first_name": first, "last_name": last, "full_name": f"{first} {last}"},
                "offer": {"title": title, "url": "https://example.com/g.pdf"},
                "related": [],
            },
        }
    )


def sales_alert(full_name: str, company: str, rep_name: str) -> SendEmailInput:
    sales: dict[str, Any] = {
        "lead_id": "L1",
        "email": "ada@globex.example",
        "name": full_name,
        "company": company,
        "owner": rep_name,
        "trigger": "score 55",
        "score": 55,
        "grade": "A",
        "buying_stage": "decision",
        "explanation": [],
        "recent": [],
        "accept_by": None,
        "link": "https://crm.example.com/v1/leads/L1",
    }
    return SendEmailInput.model_validate(
        {
            "key": "L1/handoff-1/sales_alert/1",
            "lead_id": "L1",
            "to_email": "camille@example.com",
            "to_name": rep_name,
            "locale": "en",
            "template": "sales_alert",
            "kind": EmailKind.TRANSACTIONAL,
            "context": {
                "lead": {
                    "first_name": full_name,
                    "last_name": None,
                    "full_name": full_name,
                    "company": company,
                    "job_title": None,
                },
                "sales": sales,
            },
        }
    )


async def send(mailer: SmtpMailer, input: SendEmailInput) -> None:
    await ActivityEnvironment().run(email_activities(mailer, MemoryLedger()).send_email, input)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
class TestEncodedWordsInLeadFields:
    """Each payload, in each field that reaches a header, stays inside its own header."""

    async def test_first_name(self, smtp, mailer, payload: str) -> None:
        """To's display name and the subject (``{{ lead.first_name }}``)."""
        await send(mailer, thank_you(payload, "Lovelace", "Guide"))
        (raw,) = smtp.raw
        assert_only_our_headers(raw)

    async def test_last_name(self, smtp, mailer, payload: str) -> None:
        """To's display name."""
        await send(mailer, thank_you("Ada", payload, "Guide"))
        (raw,) = smtp.raw
        assert_only_our_headers(raw)

    async def test_offer_title(self, smtp, mailer, payload: str) -> None:
        """The thank-you's subject names the promised content."""
        await send(mailer, thank_you("Ada", "Lovelace", payload))
        (raw,) = smtp.raw
        assert_only_our_headers(raw)

    async def test_name_and_company_in_a_sales_alert(self, smtp, mailer, payload: str) -> None:
        """A rep's alert: the lead's name and company in the subject, the rep's name in To."""
        await send(mailer, sales_alert(payload, payload, payload))
        (raw,) = smtp.raw
        assert_only_our_headers(raw)


class TestTheTextSurvives:
    """Encoding is not censorship: a person reading the mail sees what the lead typed."""

    async def test_display_name_and_subject_decode_to_the_literal_text(self, smtp, mailer) -> None:
        payload = PAYLOADS["q-bcc"]
        await send(mailer, thank_you(payload, "Lovelace", payload))
        (raw,) = smtp.raw
        to = unfolded(raw, b"To")
        assert "=?utf-8?q?" not in to, "the attacker's encoded word is on the wire as is"
        # Decoded as RFC 2047 says (adjacent encoded words join), as mail clients do.
        name = str(make_header(decode_header(to.rsplit(" <", 1)[0])))
        assert name == f"{payload} Lovelace"
        read = message_from_bytes(raw, policy=policy.default)
        assert str(read["Subject"]) == f"Your copy of “{payload}” · Acme Analytics"


class TestRefusal:
    """A header line nurture did not build means the message is refused, never sent."""

    async def test_a_foreign_header_line_is_refused_and_not_retried(self, smtp, mailer) -> None:
        """A signer (the one component that adds lines) that slips in a line of its own:
        the send fails for good with the reason, and the relay gets nothing."""

        class LeakySigner:
            def sign(self, raw: bytes) -> bytes:
                return b"Bcc: evil@x.test\r\nDKIM-Signature: v=1; b=\r\n"

        activities = email_activities(mailer, MemoryLedger(), dkim=LeakySigner())  # type: ignore[arg-type]
        with pytest.raises(ApplicationError) as info:
            await ActivityEnvironment().run(
                activities.send_email, thank_you("Ada", "Lovelace", "Guide")
            )
        assert info.value.type == MESSAGE_FAILURE and info.value.non_retryable
        assert "Bcc" in str(info.value)
        assert smtp.attempts == 0 and smtp.raw == []
