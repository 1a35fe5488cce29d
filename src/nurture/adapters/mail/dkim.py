"""DKIM signing (optional: ``pip install 'nurture[dkim]'``, which brings dkimpy).

Most relays sign for you; sign here when yours does not, or when the From domain's DKIM key
must stay with you. The signature covers the headers mailbox providers check, the
unsubscribe ones included (Gmail honours one-click unsubscribe only when DKIM covers
``List-Unsubscribe`` and ``List-Unsubscribe-Post``), and the body. The message is rendered
to bytes once, those bytes are signed, and exactly those bytes go to the relay.
"""

from __future__ import annotations

from pathlib import Path

from nurture.config.settings import Settings
from nurture.errors import ConfigError

__all__ = ["SIGNED_HEADERS", "DkimSigner", "dkim_for"]

SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "MIME-Version",
    "Content-Type",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)
"""Signed when present; ``From`` and the list headers are also signed when absent, so
nobody can add them on the way."""


class DkimSigner:
    """Signs messages for ``domain`` with the key published at ``<selector>._domainkey``."""

    def __init__(self, selector: str, domain: str, private_key: bytes) -> None:
        try:
            import dkim
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigError(
                "DKIM signing needs dkimpy: pip install 'nurture[dkim]' (or unset "
                "NURTURE_DKIM_SELECTOR)"
            ) from exc
        self._dkim = dkim
        self.selector = selector
        self.domain = domain
        self._key = private_key
        # Fail now, at start-up, on a key dkimpy cannot use, not at the first send.
        probe = b"From: a@" + domain.encode() + b"\r\nSubject: probe\r\n\r\nprobe\r\n"
        try:
            self.sign(probe)
        except (dkim.DKIMException, ValueError, IndexError) as exc:
            raise ConfigError(f"DKIM private key unusable for {domain}: {exc}") from exc

    @classmethod
    def from_file(cls, selector: str, domain: str, key_file: Path) -> DkimSigner:
        """Read the PEM private key, or :class:`ConfigError` naming the file."""
        try:
            key = key_file.read_bytes()
        except OSError as exc:
            message = f"NURTURE_DKIM_PRIVATE_KEY_FILE: cannot read {key_file}: {exc}"
            raise ConfigError(message) from exc
        return cls(selector, domain, key)

    def sign(self, raw: bytes) -> bytes:
        """The ``DKIM-Signature`` header line(s) for a message as it goes on the wire
        (CRLF lines); the caller sends exactly ``signature + raw``."""
        present = {name.lower() for name in _header_names(raw)}
        headers = [
            h.lower().encode()
            for h in SIGNED_HEADERS
            if h.lower() in present or h in ("From", "List-Unsubscribe", "List-Unsubscribe-Post")
        ]
        signature: bytes = self._dkim.sign(
            raw,
            self.selector.encode(),
            self.domain.encode(),
            self._key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=headers,
            linesep=b"\r\n",
        )
        return signature


def _header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [
        line.split(b":", 1)[0].decode("ascii", "replace")
        for line in head.split(b"\r\n")
        if line and not line[:1].isspace() and b":" in line
    ]


def dkim_for(settings: Settings, from_email: str) -> DkimSigner | None:
    """The signer the settings ask for (``NURTURE_DKIM_*``), or ``None`` when signing is off."""
    wanted = settings.dkim
    if not wanted.selector:
        return None
    if wanted.private_key_file is None:
        raise ConfigError(
            "NURTURE_DKIM_SELECTOR is set: NURTURE_DKIM_PRIVATE_KEY_FILE must name the key"
        )
    domain = wanted.domain or from_email.rpartition("@")[2]
    return DkimSigner.from_file(wanted.selector, domain, settings.path(wanted.private_key_file))
