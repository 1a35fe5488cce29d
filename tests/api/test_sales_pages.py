"""The sales rep's page of a lead, reached from the alert's signed link: what it shows,
which buttons it offers, and that only a genuine, live link and a form served for it
change anything."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from nurture.adapters.links.links import Links
from nurture.adapters.links.tokens import TokenSigner
from nurture.config.settings import Settings
from nurture.domain.lead import journey
from nurture.domain.lead.listing import LeadFilters, LeadPage, LeadRow
from nurture.domain.lead.state import LeadState, start_state
from nurture.domain.lead.view import lead_view
from nurture.domain.lifecycle import Stage
from nurture.domain.sales import handoff
from nurture.domain.sales.records import Assignment, SalesAction
from nurture.testing import MemoryLeadGateway
from tests.helpers import ROOT, T0, scoring_model, submission

MODEL = scoring_model()
APP = "http://testserver"


def routed(rep_id: str | None) -> LeadState:
    """Ada, an SQL after a demo request, given to ``rep_id`` (or to the pool)."""
    state = journey.apply_submission(start_state("L1", MODEL), submission(), MODEL, T0)
    state = handoff.hand_raise(state, "demo_requested", T0)
    state = handoff.begin_handoff(state, handoff.needs_handoff(state) or "", T0)
    who = {"rep_name": "Camille Martin", "rep_email": "c@example.com"} if rep_id else {}
    assignment = Assignment(rep_id=rep_id, reason="match", **who)
    state = handoff.record_assignment(state, assignment, T0)
    if rep_id:
        state = handoff.sla_deadline(
            state, remind_at=T0 + timedelta(minutes=30), accept_by=T0 + timedelta(hours=1)
        )
    return state


def links(validity: timedelta = timedelta(days=14)) -> Links:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NURTURE_HOME", str(ROOT))
        secret = Settings().secret()
    return Links(TokenSigner(secret), APP, "u@example.com", validity)


def path_of(url: str) -> str:
    return url.removeprefix(APP)


def lead_link(rep_id: str | None, now: datetime | None = None) -> str:
    return path_of(links().rep_lead_url(APP, rep_id, "L1", now or datetime.now(UTC)))


def form_of(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the form of one button, as the browser would post them."""
    start = html.index(f'name="action" value="{action}"')
    chunk = html[html.rindex("<form", 0, start) : html.index("</form>", start)]
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', chunk))


@pytest.fixture
def owned(gateway: MemoryLeadGateway) -> str:
    gateway.views["L1"] = lead_view(routed("camille"), MODEL, T0)
    return lead_link("camille")


class TestThePage:
    """The page shows who the lead is, the score's reasons, the deadline and the buttons."""

    def test_shows_the_lead_and_the_actions_allowed_now(
        self, client: TestClient, owned: str
    ) -> None:
        page = client.get(owned)
        assert page.status_code == 200
        html = page.text
        assert "Ada Lovelace" in html and "Globex" in html and "ada@globex.example" in html
        assert "Accept by" in html and "demo_requested" in html  # the deadline, the trigger
        assert 'id="action-accept"' in html and 'id="action-return_to_nurture"' in html
        assert 'id="action-won"' not in html  # not before an opportunity
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"

    def test_shows_what_the_lead_told_us(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        view = lead_view(routed("camille"), MODEL, T0)
        gateway.views["L1"] = view.model_copy(update={"custom": {"budget": "over 50k"}})
        html = client.get(lead_link("camille")).text
        assert "What the lead told us" in html and "<th" in html and "Budget" in html
        assert "over 50k" in html

    def test_in_the_reps_language_when_the_browser_asks(
        self, client: TestClient, owned: str
    ) -> None:
        html = client.get(owned, headers={"Accept-Language": "fr-FR,fr;q=0.9"}).text
        assert "Accepter" in html and "Pourquoi ce score" in html

    def test_the_manager_only_looks(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        gateway.views["L1"] = lead_view(routed("camille"), MODEL, T0)
        html = client.get(lead_link(None)).text
        assert "Ada Lovelace" in html and 'id="action-' not in html

    def test_another_reps_lead_has_no_buttons(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        gateway.views["L1"] = lead_view(routed("camille"), MODEL, T0)
        assert 'id="action-' not in client.get(lead_link("hugo")).text

    def test_a_pool_lead_offers_accept_only(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        gateway.views["L1"] = lead_view(routed(None), MODEL, T0)
        html = client.get(lead_link("hugo")).text
        assert 'id="action-accept"' in html and 'id="action-disqualify"' not in html


class TestActing:
    """A button applies its action through the gateway, once, as the link's rep."""

    def test_accept_then_back_to_the_page(
        self, client: TestClient, gateway: MemoryLeadGateway, owned: str
    ) -> None:
        fields = form_of(client.get(owned).text, "accept")
        answer = client.post(owned, data=fields, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].endswith("?done=accept")
        [(lead_id, action)] = gateway.actions
        assert (lead_id, action.action, action.actor) == ("L1", "accept", "camille")
        assert "the lead is yours" in client.get(answer.headers["location"]).text

    def test_a_double_click_carries_one_action_id(
        self, client: TestClient, gateway: MemoryLeadGateway, owned: str
    ) -> None:
        fields = form_of(client.get(owned).text, "accept")
        client.post(owned, data=fields, follow_redirects=False)
        client.post(owned, data=fields, follow_redirects=False)
        ids = {action.action_id for _, action in gateway.actions}
        assert len(ids) == 1 and None not in ids  # the workflow applies an id once

    def test_return_takes_a_bant_reason_and_a_date(
        self, client: TestClient, gateway: MemoryLeadGateway, owned: str
    ) -> None:
        fields = form_of(client.get(owned).text, "return_to_nurture")
        fields |= {"reason": "timing", "note": "call in spring", "revisit_after": "2027-03-01"}
        assert client.post(owned, data=fields, follow_redirects=False).status_code == 303
        [(_, action)] = gateway.actions
        assert (action.reason, str(action.revisit_after)) == ("timing", "2027-03-01")

    def test_a_bad_field_is_named_and_nothing_applied(
        self, client: TestClient, gateway: MemoryLeadGateway, owned: str
    ) -> None:
        fields = form_of(client.get(owned).text, "return_to_nurture") | {"reason": "bored"}
        answer = client.post(owned, data=fields)
        assert answer.status_code == 409 and "reason" in answer.text
        assert gateway.actions == []

    def test_a_refusal_shows_its_reason(
        self, client: TestClient, gateway: MemoryLeadGateway, owned: str
    ) -> None:
        fields = form_of(client.get(owned).text, "accept")
        gateway.refuse = "already accepted by camille at 2026-11-23 10:00"
        answer = client.post(owned, data=fields)
        assert answer.status_code == 409 and "already accepted by camille" in answer.text

    def test_a_pool_claim_respects_capacity(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        gateway.views["L1"] = lead_view(routed(None), MODEL, T0)
        link = lead_link("hugo")
        fields = form_of(client.get(link).text, "accept")
        gateway.open_counts = {"hugo": 10_000}
        answer = client.post(link, data=fields)
        assert answer.status_code == 409 and "capacity" in answer.text
        gateway.open_counts = {}
        assert client.post(link, data=fields, follow_redirects=False).status_code == 303
        assert [a.actor for _, a in gateway.actions] == ["hugo"]


class TestForgery:
    """A forged, expired or replayed link or form shows a clear page and changes nothing."""

    def test_no_form_token(
        self, client: TestClient, gateway: MemoryLeadGateway, owned: str
    ) -> None:
        answer = client.post(owned, data={"action": "accept"})
        assert answer.status_code == 403 and "not accepted" in answer.text
        assert gateway.actions == []

    def test_a_form_token_of_another_link(
        self, client: TestClient, gateway: MemoryLeadGateway, owned: str
    ) -> None:
        fields = form_of(client.get(owned).text, "accept")
        other = lead_link("camille", datetime.now(UTC) - timedelta(seconds=5))
        assert client.post(other, data=fields).status_code == 403
        assert gateway.actions == []

    def test_a_cross_site_post(
        self, client: TestClient, gateway: MemoryLeadGateway, owned: str
    ) -> None:
        fields = form_of(client.get(owned).text, "accept")
        answer = client.post(owned, data=fields, headers={"Sec-Fetch-Site": "cross-site"})
        assert answer.status_code == 403 and gateway.actions == []

    def test_an_altered_link(
        self, client: TestClient, gateway: MemoryLeadGateway, owned: str
    ) -> None:
        body, _, signature = owned.rpartition(".")
        forged = f"{body[:-2]}xx.{signature}"
        page = client.get(forged)
        assert page.status_code == 400 and "not valid" in page.text
        assert client.post(forged, data={"action": "accept"}).status_code == 400
        assert gateway.actions == []

    def test_an_expired_link(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        gateway.views["L1"] = lead_view(routed("camille"), MODEL, T0)
        old = lead_link("camille", datetime.now(UTC) - timedelta(days=15))
        page = client.get(old, headers={"Accept-Language": "fr"})
        assert page.status_code == 410 and "Ce lien a expiré" in page.text

    def test_a_rep_who_left_the_team(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        gateway.views["L1"] = lead_view(routed("camille"), MODEL, T0)
        assert client.get(lead_link("someone-gone")).status_code == 400

    def test_an_unsubscribe_token_is_no_rep_link(self, client: TestClient) -> None:
        token = links().unsubscribe_token("L1", "abc")
        assert client.get(f"/s/lead/{token}").status_code == 400

    def test_a_lead_between_two_runs_is_not_gone(
        self, client: TestClient, gateway: MemoryLeadGateway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A lead continuing as new answers 'pending' for a moment: never 'no longer
        exists' (seen on the stack, whose leads continue as new every three messages)."""
        monkeypatch.setattr("nurture.api.routes.sales_pages._PENDING_WAIT", 0.0)
        gateway.forms.append(("L1", submission()))  # known, no view yet: LeadPending
        page = client.get(lead_link("camille"))
        assert page.status_code == 503 and "being updated" in page.text
        assert "no longer exists" not in page.text

    def test_an_erased_lead(self, client: TestClient) -> None:
        page = client.get(lead_link("camille"))
        assert page.status_code == 404 and "no longer exists" in page.text


def desk_link(rep_id: str, now: datetime | None = None) -> str:
    return path_of(links().rep_desk_url(APP, rep_id, now or datetime.now(UTC)))


def row(lead_id: str, **fields: object) -> LeadRow:
    return LeadRow(lead_id=lead_id, stage="sql", score=50, grade="A", **fields)  # type: ignore[arg-type]


MINE = LeadFilters(owner="camille")
POOL = LeadFilters(stage=Stage.SQL, unowned=True)


class TestDesk:
    """The rep's leads, soonest deadline first, and the pool, which a rep may take from."""

    @pytest.fixture(autouse=True)
    def lists(self, gateway: MemoryLeadGateway) -> None:
        soon, later = T0 + timedelta(hours=1), T0 + timedelta(hours=5)
        gateway.pages[MINE] = LeadPage(
            leads=(row("L-later", owner="camille", accept_by=later), row("L-soon", accept_by=soon))
        )
        gateway.pages[POOL] = LeadPage(leads=(row("L1"),))
        gateway.views["L1"] = lead_view(routed(None), MODEL, T0)

    def test_lists_with_signed_links(self, client: TestClient) -> None:
        html = client.get(desk_link("camille")).text
        assert html.index("L-soon") < html.index("L-later")  # soonest deadline first
        assert "Ada L. · Globex" in html  # the pool lead named as its page names it
        [link] = re.findall(r'href="(/s/lead/[^"]+)"[^>]*>Ada L', html)
        assert 'id="action-accept"' in client.get(link).text  # signed for camille: she may take it
        assert 'id="take-L1"' in html and "0 open of your capacity of 40" in html

    def test_take_from_the_pool(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        link = desk_link("camille")
        fields = form_of_take(client.get(link).text)
        answer = client.post(link, data=fields, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].endswith("?done=accept")
        [(lead_id, action)] = gateway.actions
        assert (lead_id, action.action, action.actor) == ("L1", "accept", "camille")

    def test_full_reps_take_nothing(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        gateway.open_counts = {"camille": 40}
        link = desk_link("camille")
        answer = client.post(link, data=form_of_take(client.get(link).text))
        assert "your capacity is 40" in answer.text and gateway.actions == []

    def test_another_reps_lead_is_not_taken(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        """A posted lead id that is not in the pool (hugo's lead) is refused."""
        link = desk_link("camille")
        fields = form_of_take(client.get(link).text)
        gateway.views["L1"] = lead_view(routed("hugo"), MODEL, T0)
        answer = client.post(link, data=fields)
        assert "not in the pool" in answer.text and gateway.actions == []

    def test_forged_form_or_link(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        link = desk_link("camille")
        assert client.post(link, data={"lead_id": "L1", "csrf": "x.y"}).status_code == 403
        assert client.get(lead_link("camille").replace("/s/lead/", "/s/desk/")).status_code == 400
        assert client.get(desk_link("camille", T0)).status_code == 410
        assert gateway.actions == []

    def test_the_lead_page_links_to_the_desk(self, client: TestClient, owned: str) -> None:
        [desk] = re.findall(r'href="(/s/desk/[^"]+)"', client.get(owned).text)
        assert client.get(desk).status_code == 200


def form_of_take(html: str) -> dict[str, str]:
    chunk = html[html.index('<form method="post"') : html.index("</form>")]
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', chunk))


class TestReviewFindings:
    """What a hostile reading found: a lead back with marketing is no rep's, links made
    from a link never outlive it, a notice cannot be forged, an address cannot inject
    mail headers."""

    def test_a_lead_back_in_nurture_is_no_reps(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        returned = handoff.apply_action(
            routed("camille"),
            SalesAction(action="return_to_nurture", actor="camille", reason="timing"),
            MODEL,
            T0,
            -10,
        )
        gateway.views["L1"] = lead_view(returned, MODEL, T0)
        link = lead_link("hugo")
        html = client.get(link).text
        assert 'id="action-' not in html
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(lead_link("camille")).text)
        assert csrf is None  # no form at all on the page of a lead sales has no more

    def test_links_made_from_a_link_do_not_outlive_it(
        self, client: TestClient, owned: str, gateway: MemoryLeadGateway
    ) -> None:
        soon = datetime.now(UTC) + timedelta(hours=1)
        short = path_of(
            Links(links().signer, APP, "u@example.com", timedelta(hours=1)).rep_lead_url(
                APP, "camille", "L1", datetime.now(UTC)
            )
        )
        [desk] = re.findall(r'href="(/s/desk/[^"]+)"', client.get(short).text)
        expiry = links().signer.expiry(desk.rpartition("/")[2])
        assert expiry is not None and expiry <= soon + timedelta(seconds=1)

    def test_a_notice_in_the_query_is_ignored_unless_signed(self, client: TestClient) -> None:
        html = client.get(desk_link("camille") + "?notice=log%20in%20at%20evil.example").text
        assert "evil.example" not in html and "Not done" not in html

    def test_the_address_cannot_add_mail_headers(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        view = lead_view(routed("camille"), MODEL, T0)
        person = view.person.model_copy(update={"email": "x?bcc=spy@evil.example&a@v.example"})  # type: ignore[union-attr]
        gateway.views["L1"] = view.model_copy(update={"person": person})
        html = client.get(lead_link("camille")).text
        assert 'href="mailto:x?bcc' not in html and "mailto:x%3Fbcc" in html


class TestErrorsArePages:
    """A link refused before its route (cut short, too long) is a page, not JSON."""

    @pytest.mark.parametrize(
        "path",
        ["/s/lead/not-a-token!", "/s/desk/x", "/u/x", "/c/x", "/thanks/contact?lang=%C3%A9"],
    )
    def test_malformed_links(self, client: TestClient, path: str) -> None:
        page = client.get(path, headers={"Accept-Language": "fr"})
        assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
        assert "Ce lien n'est pas valide" in html.unescape(page.text)
        assert page.headers["cache-control"] == "no-store"
