"""Open and click tracking: instrumented HTML, tokens, machine-made opens and clicks
(scanners, Apple Mail Privacy Protection) and what they do to the journey, weak opens."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from nurture.adapters.links.tokens import TokenError, TokenSigner
from nurture.adapters.links.tracking import CLICK, OPEN, Tracker
from nurture.config.files import load_sales_team
from nurture.domain.lead import journey
from nurture.domain.lead.engagement import apply_event, apply_silence, next_silence_check
from nurture.domain.lead.facts import lead_facts
from nurture.domain.lead.messages import EventReceived
from nurture.domain.lead.state import LeadState, start_state
from nurture.domain.lifecycle import Stage
from nurture.domain.models import LeadEvent
from nurture.domain.sales.routing import SalesTeam
from nurture.domain.scoring.model import Thresholds
from nurture.domain.tracking import (
    APPLE_MPP,
    HEAD_REQUEST,
    SCANNER_AGENT,
    Fetch,
    Tracked,
    TrackingPolicy,
    click_event,
    machine_click,
    machine_open,
    machine_reason,
    open_event,
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
    """A click is a machine's when it is a HEAD, within the scanner window of sending, or
    has a scanner's user agent; a person's later click is not."""

    clicked = Tracked(lead_id="L1", key="k", template="t", sent_at=T0, url="https://x.example")
    policy = TrackingPolicy()
    window = timedelta(seconds=30)
    browser = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605"

    def test_a_person_later_is_counted(self) -> None:
        at = T0 + timedelta(minutes=5)
        assert machine_click(self.clicked, Fetch(at, "GET", self.browser), self.policy) is None

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
        fetch = Fetch(T0 + timedelta(seconds=seconds), method, agent)
        assert machine_click(self.clicked, fetch, self.policy) == reason

    def test_the_window_is_the_policys(self) -> None:
        fetch = Fetch(T0 + timedelta(seconds=45), "GET", self.browser)
        wide = TrackingPolicy(scanner_window=timedelta(minutes=1))
        assert machine_click(self.clicked, fetch, self.policy) is None
        assert machine_click(self.clicked, fetch, wide) == "within 60s of sending"

    def test_events_count_once_per_email_and_per_link(self) -> None:
        other_link = Tracked(**{**self.clicked.__dict__, "url": "https://y.example"})
        assert open_event(self.clicked, T0).id == open_event(self.clicked, T0 + self.window).id
        assert click_event(self.clicked, T0).id != click_event(other_link, T0).id
        assert click_event(self.clicked, T0).properties == {
            "email_key": "k",
            "template": "t",
            "url": "https://x.example",
            "via": "nurture",
        }
        assert open_event(self.clicked, T0).properties == {
            "email_key": "k",
            "template": "t",
            "via": "nurture",
        }


class TestMachineOpens:
    """An open is a machine's when it is a HEAD, Apple's privacy proxy (the bare
    ``Mozilla/5.0`` agent anywhere, or an agent naming no device from Apple's network) or
    a scanner's agent; a person's open, even at once or from Apple's network, is not."""

    policy = TrackingPolicy()
    soon = T0 + timedelta(seconds=2)
    later = T0 + timedelta(hours=3)
    apple_mail = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148"
    )
    gmail = (
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
    )

    @pytest.mark.parametrize(
        ("at", "agent", "address"),
        [
            (later, apple_mail, "203.0.113.7"),
            (soon, apple_mail, "203.0.113.7"),
            (later, gmail, "66.249.84.1"),
            (later, apple_mail, "17.58.1.2"),
            (later, "Mozilla/5.0 AppleWebKit/605.1.15", "203.0.113.7"),
            (later, "Mozilla/5.0", None),
        ],
        ids=[
            "apple-mail-without-mpp",
            "read-at-once",
            "gmail-image-proxy",
            "apple-employee",
            "generic-agent-elsewhere",
            "knobs-off",
        ],
    )
    def test_people(self, at: datetime, agent: str, address: str | None) -> None:
        """The last case turns both knobs off: the bare agent is then a person's."""
        policy = self.policy
        if address is None:
            policy = TrackingPolicy(apple_proxy_agents=(), apple_proxy_networks=())
        assert machine_open(Fetch(at, "GET", agent, address), policy) is None

    @pytest.mark.parametrize(
        ("method", "agent", "address", "reason"),
        [
            ("GET", "Mozilla/5.0", "172.224.226.9", APPLE_MPP),
            ("GET", " Mozilla/5.0 ", None, APPLE_MPP),
            ("GET", "Mozilla/5.0 AppleWebKit/605.1.15", "17.58.1.2", APPLE_MPP),
            ("GET", None, "17.58.1.2", APPLE_MPP),
            ("GET", "Mozilla/5.0", "::ffff:17.58.1.2", APPLE_MPP),
            ("GET", "Mozilla/5.0 (compatible; Proofpoint URL Defense)", "17.58.1.2", SCANNER_AGENT),
            ("GET", None, "198.51.100.1", SCANNER_AGENT),
            ("GET", "python-requests/2.32", "unknown", SCANNER_AGENT),
            ("HEAD", apple_mail, "203.0.113.7", HEAD_REQUEST),
        ],
        ids=[
            "bare-agent-on-a-relay-address",
            "bare-agent-no-address",
            "generic-agent-from-apple",
            "no-agent-from-apple",
            "ipv4-mapped-apple-address",
            "scanner-from-apple",
            "no-agent-elsewhere",
            "script",
            "head",
        ],
    )
    def test_machines(self, method: str, agent: str | None, address: str | None, reason: str):
        for at in (self.soon, self.later):
            assert machine_open(Fetch(at, method, agent, address), self.policy) == reason

    def test_the_networks_are_configurable(self) -> None:
        fetch = Fetch(self.later, "GET", "Mozilla/5.0 AppleWebKit", "2a01:b740::5")
        assert machine_open(fetch, self.policy) is None
        ours = TrackingPolicy.model_validate({"apple_proxy_networks": ["2a01:b740::/32"]})
        assert machine_open(fetch, ours) == APPLE_MPP

    @pytest.mark.parametrize("entry", ["17.0.0.0/33", "apple", "17.0.0.1/8"])
    def test_a_bad_network_is_refused(self, entry: str) -> None:
        with pytest.raises(ValidationError, match="apple_proxy_networks"):
            TrackingPolicy.model_validate({"apple_proxy_networks": [entry]})


class TestMachineEvents:
    """A machine's open or click is the same event type flagged ``machine``, under an id
    distinct from a person's, one per email (open) or link (click) whatever the reason."""

    tracked = Tracked(lead_id="L1", key="k", template="t", sent_at=T0, url="https://x.example")

    def test_flagged_with_the_reason(self) -> None:
        opened = open_event(self.tracked, T0, APPLE_MPP)
        assert opened.type == "email_opened"
        assert opened.properties == {
            "email_key": "k",
            "template": "t",
            "via": "nurture",
            "machine": APPLE_MPP,
        }
        clicked = click_event(self.tracked, T0, SCANNER_AGENT)
        assert clicked.properties["machine"] == SCANNER_AGENT
        assert clicked.properties["url"] == "https://x.example"
        assert machine_reason(opened) == APPLE_MPP and machine_reason(clicked) == SCANNER_AGENT

    def test_ids(self) -> None:
        other_link = Tracked(**{**self.tracked.__dict__, "url": "https://y.example"})
        person = open_event(self.tracked, T0)
        machines = {open_event(self.tracked, T0, r).id for r in (APPLE_MPP, HEAD_REQUEST)}
        assert machines == {open_event(self.tracked, T0 + timedelta(days=1), SCANNER_AGENT).id}
        assert person.id not in machines and person.id.startswith("open:")
        (machine,) = machines
        assert machine.startswith("machine-open:")
        click = click_event(self.tracked, T0, HEAD_REQUEST)
        assert click.id == click_event(self.tracked, T0, SCANNER_AGENT).id
        assert click.id not in {
            click_event(self.tracked, T0).id,
            click_event(other_link, T0, HEAD_REQUEST).id,
        }

    @pytest.mark.parametrize(
        ("kind", "properties"),
        [
            ("email_opened", {"template": "t"}),
            ("email_clicked", {"machine": ""}),
            ("email_opened", {"machine": False}),
            ("page_viewed", {"machine": "printer-12"}),
        ],
        ids=["no-flag", "empty-flag", "false-flag", "not-a-tracking-event"],
    )
    def test_what_is_no_machines(self, kind: str, properties: dict[str, object]) -> None:
        assert machine_reason(event(kind, **properties)) is None


class TestMachineEventsInTheJourney:
    """A machine's open or click is only remembered: no points, no activity (the silence
    goes on), no hand raised, no sequence told; the person's own open still counts."""

    tracked = Tracked(lead_id="L1", key="k", template="t", sent_at=T0, url="https://x.example")
    later = T0 + timedelta(days=20)

    @staticmethod
    def submitted() -> LeadState:
        model = scoring_model()
        return journey.apply_submission(start_state("L1", model), submission(), model, T0)

    def context(self, *hand_raise: str) -> journey.ApplyContext:
        return journey.ApplyContext(
            model=scoring_model(), now=self.later, hand_raise_events=hand_raise
        )

    @pytest.mark.parametrize(
        "machine",
        [
            pytest.param(open_event(tracked, later, APPLE_MPP), id="mpp-open"),
            pytest.param(click_event(tracked, later, SCANNER_AGENT), id="scanner-click"),
        ],
    )
    def test_only_remembered(self, machine: LeadEvent) -> None:
        state = self.submitted()
        applied = journey.apply(state, EventReceived(event=machine), self.context("email_clicked"))
        after = applied.state
        assert applied.forward == () and after.has_seen(machine.id)
        assert after.model_dump(exclude={"seen_events"}) == state.model_dump(
            exclude={"seen_events"}
        )
        model = scoring_model()
        assert apply_event(state, machine, model, self.later).score == state.score
        assert next_silence_check(after, model) == next_silence_check(state, model)

    def test_the_silence_goes_on(self) -> None:
        """Thirty days after the form the penalty falls due, as if the prefetch never was,
        and the lead looks as quiet to the enrolment rules."""
        model = scoring_model()
        state = self.submitted()
        applied = journey.apply(
            state,
            EventReceived(event=open_event(self.tracked, self.later, APPLE_MPP)),
            self.context(),
        )
        due = T0 + timedelta(days=30)
        quiet = apply_silence(applied.state, model, due)
        assert quiet.score.total == apply_silence(state, model, due).score.total < state.score.total
        assert lead_facts(applied.state, model, due).last_activity_at == T0

    def test_a_person_after_a_machine_still_counts(self) -> None:
        """Apple's prefetch first, then the person's open and click: both score, both are
        activity, the sequences hear of them (a click answers a ``wait_for``)."""
        state = self.submitted()
        context = self.context()
        for machine in (
            open_event(self.tracked, self.later, APPLE_MPP),
            click_event(self.tracked, self.later, SCANNER_AGENT),
        ):
            state = journey.apply(state, EventReceived(event=machine), context).state
        scored = state.score.total
        for person, points in (
            (open_event(self.tracked, self.later), 1),
            (click_event(self.tracked, self.later), 2),
        ):
            assert not state.has_seen(person.id)
            applied = journey.apply(state, EventReceived(event=person), context)
            assert applied.forward == (person,)
            assert applied.state.score.total == scored + points
            assert applied.state.last_activity_at == self.later
            state, scored = applied.state, applied.state.score.total

    def test_a_machine_click_raises_no_hand(self) -> None:
        """Were clicks a hand-raise, a scanner's would still hand nobody to sales."""
        state = self.submitted()
        context = self.context("email_clicked")
        machine = click_event(self.tracked, self.later, HEAD_REQUEST)
        assert journey.apply(state, EventReceived(event=machine), context).state.stage is Stage.NEW
        person = click_event(self.tracked, self.later)
        assert journey.apply(state, EventReceived(event=person), context).state.stage is Stage.SQL


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
