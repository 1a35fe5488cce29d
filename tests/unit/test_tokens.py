"""Signed tokens: they round-trip, and forged, altered, expired or cross-purpose ones fail
with the reason; address hashes are keyed and case-blind."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.adapters.links.tokens import TokenError, TokenSigner, email_hash
from tests.helpers import T0

SIGNER = TokenSigner(b"secret-one")


def test_round_trip() -> None:
    token = SIGNER.sign("unsubscribe", {"l": "L1", "h": "abc"})
    assert SIGNER.verify(token, "unsubscribe", T0) == {"l": "L1", "h": "abc"}
    assert "=" not in token and "/" not in token and "+" not in token  # URL-safe as is


def test_expiry() -> None:
    token = SIGNER.sign("confirm", {"l": "L1"}, expires_at=T0 + timedelta(days=2))
    assert SIGNER.verify(token, "confirm", T0 + timedelta(days=1)) == {"l": "L1"}
    with pytest.raises(TokenError, match="expired"):
        SIGNER.verify(token, "confirm", T0 + timedelta(days=2))


def test_other_secret_is_forged() -> None:
    token = TokenSigner(b"secret-two").sign("unsubscribe", {"l": "L1"})
    with pytest.raises(TokenError, match="forged"):
        SIGNER.verify(token, "unsubscribe", T0)


def test_other_purpose_fails_even_with_an_edited_payload() -> None:
    """A click token is not an unsubscribe token: the key differs per purpose, so even
    rewriting the payload's purpose cannot make it pass."""
    click = SIGNER.sign("click", {"l": "L1"})
    with pytest.raises(TokenError, match="another purpose"):
        SIGNER.verify(click, "unsubscribe", T0)
    edited = SIGNER.sign("unsubscribe", {"l": "L1"}).split(".")[0] + "." + click.split(".")[1]
    with pytest.raises(TokenError):
        SIGNER.verify(edited, "unsubscribe", T0)


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.", ".abc", "a.b.c", "%%%.***", "x" * 3000])
def test_malformed(token: str) -> None:
    with pytest.raises(TokenError):
        SIGNER.verify(token, "unsubscribe", T0)


def test_email_hash_is_keyed_and_normalised() -> None:
    one = email_hash("Ada@Globex.example ", b"k1")
    assert one == email_hash("ada@globex.example", b"k1")
    assert one != email_hash("ada@globex.example", b"k2")
    assert "ada" not in one and len(one) == 32
