"""``nurture report open``: the link to the dashboard, printed for a person to open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from nurture.adapters.links.tokens import TokenExpired, TokenSigner
from nurture.cli import app
from nurture.config.settings import Settings
from nurture.services.dashboard_link import verify_dashboard_token
from tests.helpers import ROOT


@pytest.fixture(autouse=True)
def deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURTURE_PUBLIC_URL", "https://nurture.example.com")
    monkeypatch.setenv("NURTURE_ID_KEY", "open-command-secret")


def run(*argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["report", "open", "--home", str(ROOT), *argv])
    return result.exit_code, result.stdout


class TestReportOpen:
    """It prints the public URL of /reports with a token that works until it expires."""

    def test_prints_a_working_link(self) -> None:
        """The link carries the options given and a dashboard token for that long."""
        code, out = run("--valid-for", "8h", "--lang", "fr", "--by", "form")
        assert code == 0
        url = urlsplit(out.splitlines()[0])
        assert f"{url.scheme}://{url.netloc}{url.path}" == "https://nurture.example.com/reports"
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        assert params["lang"] == "fr" and params["by"] == "form"
        signer = TokenSigner(Settings(home=Path(ROOT)).secret())
        now = datetime.now(UTC)
        verify_dashboard_token(signer, params["token"], now + timedelta(hours=7, minutes=59))
        with pytest.raises(TokenExpired):
            verify_dashboard_token(signer, params["token"], now + timedelta(hours=8, seconds=5))

    @pytest.mark.parametrize("valid_for", ["0s", "91d", "soon"])
    def test_refuses_a_bad_lifetime(self, valid_for: str) -> None:
        """No link for ever, none beyond 90 days, none for a duration it cannot read."""
        code, _ = run("--valid-for", valid_for)
        assert code == 2
