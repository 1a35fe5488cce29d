"""The signature of a signed HTTP body, the same both ways: what nurture checks on signed
inbound posts (form posts, mail reports) and what it puts on its outbound webhooks."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["signature"]


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Nurture-Signature`` value of a request: what the sender computes, as
    ``sha256=<hex of HMAC-SHA256(secret, "<timestamp>." + body)>``."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"
