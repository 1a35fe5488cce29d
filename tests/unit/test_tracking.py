"""Open and click tracking: instrumented HTML, tokens, scanner filtering, weak opens."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from pydantic import ValidationError

from nurture.adapters.links.tokens import TokenError, TokenSigner
from nurture.adapters.links.tracking import CLICK, OPEN, Tracker
from nurture.config.files import load_sales_team
from nurture.domain.lead import journey
from nurture.domain.lead.engagement import apply_event
from nurture.domain.lead.state import start_state
from nurture.domain.lifecycle import Stage
from nurture.domain.sales.routing import SalesTeam
from nurture.domain.scoring.model import Thresholds
from nurture.domain.tracking import (
    Tracked,
    TrackingPolicy,
    click_event,
    open_event,
    scanner_reason,
)
from tests.helpers import (
    PUBLIC_URL,
    SALES_FILE,
    SECRET,
    T0,
    event,
    project,
    scoring_model,
    submission,
)

HTML = (
    "<html><body>"
    '<p><a href="https://example.com/guide?utm_source=mail&amp;id=7">Guide</a></p>'
    "<p><a href='mailto:team@example.com'>Write</a> "
    f'<a href="{PUBLIC_URL}/u/abc.def">Unsubscribe</a> '
    '<a href="#top">Top</a></p>'
    "</body></html>"
)


def tracker(**policy: object) -> Tracker:
    return Tracker(TokenSigner(SECRET), PUBLIC_URL, TrackingPolicy.model_validate(policy))


def instrument(t: Tracker | None = None) -> str:
    return (t or tracker()).instrument(HTML, lead_id="L1", key="L1/c/s/1", template="t", sent_at=T0)


def token_in(html: str, prefix: str) -> str:
    start = html.index(f"{PUBLIC_URL}/{prefix}/") + len(f"{PUBLIC_URL}/{prefix}/")
    return html[start : html.index('"', start)]


class TestInstrument:
    def test_links_go_through_the_redirect_and_back_to_the_exact_target(self) -> None:
        html = instrument()
        token = token_in(html, "r")
        clicked = tracker().read(token, CLICK, T0)
        assert clicked.url == "https://example.com/guide?utm_source=mail&id=7"
        assert (clicked.lead_id, clicked.key, clicked.template) == ("L1", "L1/c/s/1", "t")
        assert clicked.sent_at == T0
        assert "https://example.com/guide" not in html

    def test_our_own_links_mailto_and_anchors_are_kept(self) -> None:
        html = instrument()
        assert "mailto:team@example.com" in html and 'href="#top"' in html
        assert f'href="{PUBLIC_URL}/u/abc.def"' in html
        assert html.count(f"{PUBLIC_URL}/r/") == 1

    def test_the_pixel_ends_the_body(self) -> None:
        html = instrument()
        pixel = token_in(html, "o")
        assert html.index(f"{PUBLIC_URL}/o/") < html.index("</body>")
        assert tracker().read(pixel, OPEN, T0).key == "L1/c/s/1"

    def test_the_policy_turns_each_off(self) -> None:
        assert f"{PUBLIC_URL}/o/" not in instrument(tracker(opens=False))
        assert f"{PUBLIC_URL}/r/" not in instrument(tracker(clicks=False))
        assert TrackingPolicy().applies(consented=False) is False
        assert TrackingPolicy(require_consent=False).applies(consented=False) is True
        assert TrackingPolicy(opens=False, clicks=False).applies(consented=True) is False

    def test_a_very_long_link_is_left_alone(self) -> None:
        long = "https://example.com/" + "a" * 1200
        html = tracker().instrument(
            f'<a href="{long}">x</a>', lead_id="L1", key="k", template="t", sent_at=T0
        )
        assert long in html


class TestTokens:
    def test_an_open_token_is_no_click_token_and_vice_versa(self) -> None:
        html = instrument()
        with pytest.raises(TokenError):
            tracker().read(token_in(html, "o"), CLICK, T0)
        with pytest.raises(TokenError):
            tracker().read(token_in(html, "r"), OPEN, T0)

    def test_an_edited_target_is_refused(self) -> None:
        """Swapping the target in the payload (an attacker's open redirect) breaks the MAC."""
        body, mac = token_in(instrument(), "r").split(".")
        fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        fields["u"] = "https://evil.example/phish"
        forged = base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")
        with pytest.raises(TokenError):
            tracker().read(f"{forged}.{mac}", CLICK, T0)

    def test_another_deployments_token_is_refused(self) -> None:
        other = Tracker(TokenSigner(b"other"), PUBLIC_URL, TrackingPolicy())
        html = other.instrument(HTML, lead_id="L1", key="k", template="t", sent_at=T0)
        with pytest.raises(TokenError):
            tracker().read(token_in(html, "r"), CLICK, T0)

    def test_a_signed_non_http_target_is_still_refused(self) -> None:
        token = TokenSigner(SECRET).sign(
            CLICK, {"l": "L1", "k": "k", "t": "t", "s": 0, "u": "javascript:alert(1)"}
        )
        with pytest.raises(TokenError):
            tracker().read(token, CLICK, T0)


class TestScanners:
    clicked = Tracked(lead_id="L1", key="k", template="t", sent_at=T0, url="https://x.example")
    window = timedelta(seconds=30)
    browser = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605"

    def test_a_person_later_is_counted(self) -> None:
        at = T0 + timedelta(minutes=5)
        assert scanner_reason(self.clicked, at, "GET", self.browser, self.window) is None

    @pytest.mark.parametrize(
        ("seconds", "method", "agent", "reason"),
        [
            (3, "GET", browser, "within 30s of sending"),
            (300, "HEAD", browser, "HEAD request"),
            (300, "GET", "Mozilla/5.0 (compatible; Barracuda Sentinel)", "scanner user agent"),
            (300, "GET", None, "scanner user agent"),
        ],
    )
    def test_machines_are_not(self, seconds: int, method: str, agent: str | None, reason: str):
        at = T0 + timedelta(seconds=seconds)
        assert scanner_reason(self.clicked, at, method, agent, self.window) == reason

    def test_events_count_once_per_email_and_per_link(self) -> None:
        other_link = Tracked(**{**self.clicked.__dict__, "url": "https://y.example"})
        assert open_event(self.clicked, T0).id == open_event(self.clicked, T0 + self.window).id
        assert click_event(self.clicked, T0).id != click_event(other_link, T0).id
        assert click_event(self.clicked, T0).properties == {
            "template": "t",
            "url": "https://x.example",
            "via": "nurture",
        }


class TestWeakOpens:
    @pytest.mark.parametrize(("weak", "stage"), [(True, Stage.NEW), (False, Stage.MQL)])
    def test_an_open_never_moves_the_stage_alone(self, weak: bool, stage: Stage) -> None:
        model = scoring_model()
        state = journey.apply_submission(start_state("l1", model), submission(), model, T0)
        low = Thresholds(mql=state.score.total + 1, sql=model.thresholds.sql)
        model = model.model_copy(
            update={"thresholds": low, "weak_events": model.weak_events if weak else frozenset()}
        )
        opened = apply_event(state, event("email_opened", template="t", via="nurture"), model, T0)
        assert opened.score.total == state.score.total + 1
        assert opened.stage is stage
        if weak:  # the next event that earns points moves it; one worth nothing does not
            nothing = apply_event(opened, event("page_viewed", section="x"), model, T0)
            assert nothing.stage is Stage.NEW
            later = apply_event(nothing, event("page_viewed", section="blog"), model, T0)
            assert later.stage is Stage.MQL

    def test_an_open_cannot_raise_a_hand(self) -> None:
        with pytest.raises(ValidationError, match="email_opened cannot raise a hand"):
            team = load_sales_team(SALES_FILE).model_dump()
            SalesTeam.model_validate({**team, "hand_raise_events": ["email_opened"]})

    def test_the_shipped_project_tracks_with_consent(self) -> None:
        policy = project().tracking
        assert policy.opens and policy.clicks and policy.require_consent
