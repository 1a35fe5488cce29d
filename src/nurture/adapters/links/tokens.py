"""Signed, namespaced, optionally expiring tokens for links in emails.

A token is ``<payload>.<signature>``, both base64url without padding. The payload is compact
JSON holding the purpose (``p``), an optional expiry (``x``, Unix seconds) and the fields of
that purpose. The signature is HMAC-SHA256 under a key derived for that purpose from the
deployment's secret, so a token made for one purpose (say, an open pixel) never verifies
as another (an unsubscribe), even if the payload were edited to claim it.

Nothing personal goes into a payload: lead ids and keyed hashes only, since links end up in
proxies' and mail scanners' logs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from nurture.domain.models import normalise_email
from nurture.errors import NurtureError

__all__ = ["TokenError", "TokenExpired", "TokenSigner", "email_hash"]


class TokenError(NurtureError):
    """A token that is malformed, forged, expired or made for another purpose."""


class TokenExpired(TokenError):
    """A genuine token past its expiry; its ``fields`` are still the signer's (a page
    saying it expired may speak the lead's language)."""

    def __init__(self, message: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


def email_hash(email: str, secret: bytes) -> str:
    """The keyed hash that stands for an address in the suppression list: it matches the
    same address again (whatever its case) but cannot be reversed without the secret."""
    key = hmac.new(secret, b"nurture:suppression", hashlib.sha256).digest()
    return hmac.new(key, normalise_email(email).encode(), hashlib.sha256).hexdigest()[:32]


class TokenSigner:
    """Makes and checks tokens for one deployment secret."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the token secret must not be empty")
        self._secret = secret

    def sign(self, purpose: str, fields: dict[str, Any], expires_at: datetime | None = None) -> str:
        """A token for ``purpose`` carrying ``fields`` (JSON values), valid until
        ``expires_at`` (for ever when ``None``)."""
        payload: dict[str, Any] = {"p": purpose, **fields}
        if expires_at is not None:
            payload["x"] = int(expires_at.timestamp())
        body = _encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{_encode(self._mac(purpose, body))}"

    def verify(self, token: str, purpose: str, now: datetime) -> dict[str, Any]:
        """The fields of a valid token for ``purpose``, or :class:`TokenError` saying why."""
        body, dot, signature = token.partition(".")
        if not dot or not body or not signature or len(token) > 2048:
            raise TokenError("malformed token")
        try:
            given = _decode(signature)
        except ValueError as exc:
            raise TokenError("malformed token") from exc
        if not hmac.compare_digest(given, self._mac(purpose, body)):
            raise TokenError("invalid token: forged, altered or made for another purpose")
        try:
            payload = json.loads(_decode(body))
        except ValueError as exc:
            raise TokenError("malformed token") from exc
        if not isinstance(payload, dict) or payload.get("p") != purpose:
            raise TokenError("invalid token: made for another purpose")
        expiry = payload.pop("x", None)
        payload.pop("p")
        if expiry is not None and now.timestamp() >= expiry:
            raise TokenExpired("expired token", payload)
        return payload

    def expiry(self, token: str) -> datetime | None:
        """When a token that :meth:`verify` accepted expires (``None``: never)."""
        try:
            payload = json.loads(_decode(token.partition(".")[0]))
        except ValueError as exc:
            raise TokenError("malformed token") from exc
        seconds = payload.get("x") if isinstance(payload, dict) else None
        return datetime.fromtimestamp(seconds, UTC) if isinstance(seconds, int) else None

    def _mac(self, purpose: str, body: str) -> bytes:
        key = hmac.new(self._secret, f"nurture:token:{purpose}".encode(), hashlib.sha256)
        return hmac.new(key.digest(), body.encode(), hashlib.sha256).digest()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc
