"""The signed link to the dashboard that ``nurture report open`` prints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from nurture.adapters.links.links import UNSUBSCRIBE
from nurture.adapters.links.tokens import TokenError, TokenExpired, TokenSigner
from nurture.services.dashboard_link import dashboard_url, verify_dashboard_token

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)
SIGNER = TokenSigner(b"secret")


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


class TestDashboardLink:
    """The link opens the dashboard until it expires, and nothing else opens it."""

    def test_url(self) -> None:
        """The public URL's /reports with the parameters given and a token."""
        url = dashboard_url(
            SIGNER, "https://n.example/", NOW, lang="fr", by=None, since="2026-01-01"
        )
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", "n.example", "/reports")
        assert set(parse_qs(parts.query)) == {"lang", "since", "token"}

    def test_valid_until_expiry(self) -> None:
        """Valid for its lifetime, expired after it."""
        token = token_of(dashboard_url(SIGNER, "http://x", NOW, timedelta(hours=8)))
        verify_dashboard_token(SIGNER, token, NOW + timedelta(hours=7, minutes=59))
        with pytest.raises(TokenExpired):
            verify_dashboard_token(SIGNER, token, NOW + timedelta(hours=8))

    def test_other_purposes_refused(self) -> None:
        """An unsubscribe token (same secret) does not open the dashboard."""
        with pytest.raises(TokenError):
            verify_dashboard_token(SIGNER, SIGNER.sign(UNSUBSCRIBE, {"l": "L1"}), NOW)

    def test_other_secret_refused(self) -> None:
        """A link of another deployment does not open this one."""
        token = token_of(dashboard_url(TokenSigner(b"other"), "http://x", NOW))
        with pytest.raises(TokenError):
            verify_dashboard_token(SIGNER, token, NOW)

    @pytest.mark.parametrize("valid_for", [timedelta(0), timedelta(days=91)])
    def test_lifetime_bounded(self, valid_for: timedelta) -> None:
        """No link for ever, none for more than 90 days."""
        with pytest.raises(ValueError, match="90 days"):
            dashboard_url(SIGNER, "http://x", NOW, valid_for)
