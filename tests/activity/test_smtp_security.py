"""STARTTLS, implicit TLS and authentication against a real aiosmtpd relay."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from nurture.adapters.mail.message import Outgoing, write_message
from nurture.adapters.mail.rendering import RenderedEmail
from nurture.adapters.mail.smtp import SmtpMailer, TransientDeliveryError, deliver
from nurture.config.settings import SmtpSettings
from nurture.testing import free_port

USER, PASSWORD = "nurture", "s3cret"

# With implicit TLS the whole session is encrypted, but aiosmtpd counts only STARTTLS as TLS:
# it advertises AUTH there only with auth_require_tls=False, and then warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, which the mailer is told to trust."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class Relay:
    """Collects messages with the login used and whether the session was encrypted."""

    def __init__(self) -> None:
        self.received: list[tuple[str | None, bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = session.auth_data
        login = (
            data.login.decode()
            if session.authenticated and isinstance(data, LoginPassword)
            else None
        )
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.received.append((login, encrypted))
        return "250 OK"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False, auth_data=data)


@pytest.fixture(params=["starttls", "tls"])
def relay(
    request: pytest.FixtureRequest, certificate: tuple[Path, Path]
) -> Iterator[tuple[str, int, Relay]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    handler, port = Relay(), free_port()
    options: dict[str, Any] = {"authenticator": authenticate, "auth_required": True}
    if request.param == "starttls":
        options |= {"tls_context": context, "require_starttls": True}
    else:
        options |= {"ssl_context": context, "auth_require_tls": False}
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    yield request.param, port, handler
    controller.stop()


def message() -> Outgoing:
    return write_message(
        RenderedEmail(subject="hi", text="hello", html="<p>hello</p>"),
        sender=("a@example.com", None),
        to=("b@example.com", None),
        message_id="<1@example.com>",
        sent_at=datetime.now(UTC),
    )


async def send_once(mailer: SmtpMailer) -> None:
    """Send one message, then close the mailer's pooled connection."""
    try:
        await deliver(mailer, message())
    finally:
        await mailer.close()


def mailer(security: str, port: int, cert: Path, password: str = PASSWORD) -> SmtpMailer:
    return SmtpMailer(
        SmtpSettings.model_validate(
            {
                "host": "127.0.0.1",
                "port": port,
                "security": security,
                "username": USER,
                "password": password,
                "ca_file": cert,
                "timeout": 5,
            }
        )
    )


class TestSecureRelay:
    """Encrypted, authenticated delivery works; bad credentials never bounce a lead."""

    async def test_delivers_encrypted_and_authenticated(
        self, relay: tuple[str, int, Relay], certificate: tuple[Path, Path]
    ) -> None:
        """The relay sees our login over an encrypted session."""
        security, port, handler = relay
        await send_once(mailer(security, port, certificate[0]))
        assert handler.received == [(USER, True)]

    async def test_bad_password_is_transient(
        self, relay: tuple[str, int, Relay], certificate: tuple[Path, Path]
    ) -> None:
        """535 at login is retried (a settings problem), not a bounce of the recipient."""
        security, port, handler = relay
        with pytest.raises(TransientDeliveryError, match="535"):
            await send_once(mailer(security, port, certificate[0], "wrong"))
        assert handler.received == []

    async def test_untrusted_certificate_refused(
        self, relay: tuple[str, int, Relay], tmp_path: Path
    ) -> None:
        """Without the CA the certificate is not trusted and nothing is sent in clear."""
        security, port, handler = relay
        settings = SmtpSettings(host="127.0.0.1", port=port, security=security, timeout=5)
        with pytest.raises(TransientDeliveryError, match=r"(?i)certificate"):
            await send_once(SmtpMailer(settings))
        assert handler.received == []
