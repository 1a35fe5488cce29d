"""The facts a message proves that the state does not keep: form posts, events, opens and
clicks, opt-outs and bounce reports, each with an id from the message's own."""

from __future__ import annotations

from datetime import timedelta

from nurture.domain.factlog import facts_of_message
from nurture.domain.lead.messages import (
    AddressBounced,
    EventReceived,
    FormPosted,
    OptInConfirmed,
    OptOut,
)
from tests.helpers import T0, event, persona_lead, submission

NOW = T0 + timedelta(minutes=5)


class TestForms:
    """A form post is a submission of that form, dated when it was posted."""

    def test_form_submitted(self) -> None:
        (fact,) = facts_of_message("L1", FormPosted(form=submission()), NOW)
        assert (fact.kind, fact.at, fact.data) == (
            "form_submitted",
            T0,
            {
                "form": "white-paper",
                "submission": "sub-1",
                "event": "content_downloaded",
                "properties": {"content": "buying-guide"},
                "profile": {
                    "company": "Globex",
                    "job_title": "Head of Marketing",
                    "company_size": "120",
                    "source": "inbound",
                    "email_domain": "globex.example",
                },
                "rescore_after": 30 * 86400,
            },
        )

    def test_the_profile_names_no_one(self) -> None:
        """What fit rules read, as text: the address's domain, never the address, the name
        or the phone; custom fields by name; addresses inside texts masked."""
        lead = persona_lead().model_copy(
            update={
                "first_name": "Ada",
                "last_name": "Lovelace",
                "phone": "+33 1 23 45 67 89",
                "country": "FR",
                "custom": {"budget": "10k-50k", "seats": 12, "trial": True, "renewal": T0.date()},
                "industry": "write to ada@globex.example",
            }
        )
        (fact,) = facts_of_message("L1", FormPosted(form=submission(lead)), NOW)
        profile = fact.data["profile"]
        assert profile == {
            "company": "Globex",
            "job_title": "Head of Marketing",
            "industry": "write to <address>",
            "company_size": "120",
            "country": "FR",
            "source": "inbound",
            "email_domain": "globex.example",
            "custom.budget": "10k-50k",
            "custom.seats": "12",
            "custom.trial": "true",
            "custom.renewal": T0.date().isoformat(),
        }
        assert "Ada" not in str(fact.data) and "67 89" not in str(fact.data)

    def test_same_submission_same_id(self) -> None:
        """A post applied again (a replay, a retry) gives the fact it gave."""
        once = facts_of_message("L1", FormPosted(form=submission()), NOW)
        again = facts_of_message("L1", FormPosted(form=submission()), NOW + timedelta(hours=1))
        assert once == again
        other = facts_of_message("L1", FormPosted(form=submission(submission_id="s2")), NOW)
        assert other[0].id != once[0].id


class TestEvents:
    """An event is received by type; opens and clicks are facts of their own kind."""

    def test_event_received(self) -> None:
        (fact,) = facts_of_message("L1", EventReceived(event=event("page_viewed", at=T0)), NOW)
        assert (fact.kind, fact.at, fact.data) == (
            "event_received",
            T0,
            {"type": "page_viewed", "properties": {}},
        )

    def test_an_events_properties_as_text(self) -> None:
        """What behaviour rules match on, kept for a back-test: text, addresses masked."""
        viewed = event("page_viewed", at=T0, section="product", n=3, new=False, who="a@b.example")
        (fact,) = facts_of_message("L1", EventReceived(event=viewed), NOW)
        assert fact.data["properties"] == {
            "section": "product",
            "n": "3",
            "new": "false",
            "who": "<address>",
        }

    def test_a_future_event_is_dated_now(self) -> None:
        message = EventReceived(event=event("page_viewed", at=NOW + timedelta(days=1)))
        assert facts_of_message("L1", message, NOW)[0].at == NOW

    def test_open_with_its_email_and_machine_flag(self) -> None:
        opened = event(
            "email_opened", at=T0, email_key="L1/x/t/1", template="t", machine="apple_mpp"
        )
        (fact,) = facts_of_message("L1", EventReceived(event=opened), NOW)
        assert (fact.kind, fact.data) == (
            "email_opened",
            {"key": "L1/x/t/1", "template": "t", "machine": "apple_mpp", "properties": {}},
        )

    def test_click_with_its_url_and_a_bare_machine_flag(self) -> None:
        url = "https://example.com/p?who=ada@globex.example"
        clicked = event("email_clicked", at=T0, template="t", url=url, machine=True)
        (fact,) = facts_of_message("L1", EventReceived(event=clicked), NOW)
        assert fact.data == {
            "key": None,
            "template": "t",
            "machine": "machine",
            "url": "https://example.com/p?who=<address>",
            "properties": {},
        }

    def test_an_open_without_properties_is_still_an_open(self) -> None:
        (fact,) = facts_of_message("L1", EventReceived(event=event("email_opened")), NOW)
        assert (fact.kind, fact.data) == (
            "email_opened",
            {"key": None, "template": None, "machine": None, "properties": {}},
        )


class TestOptOutsAndBounces:
    """Unsubscribes and complaints by how they came; bounce reports without the address."""

    def test_unsubscribed_and_complained(self) -> None:
        unsub = OptOut(channel="one-click", at=T0)
        complaint = OptOut(reason="complaint", channel="webhook", at=T0)
        ((a,), (b,)) = (facts_of_message("L1", m, NOW) for m in (unsub, complaint))
        assert (a.kind, a.data, a.at) == ("unsubscribed", {"via": "one-click"}, T0)
        assert (b.kind, b.data) == ("complained", {"via": "webhook"})

    def test_address_bounced(self) -> None:
        report = AddressBounced(reason="5.1.1 <ada@globex.example> unknown", at=T0)
        (fact,) = facts_of_message("L1", report, NOW)
        assert (fact.kind, fact.data) == (
            "address_bounced",
            {"detail": "5.1.1 <<address>> unknown"},
        )

    def test_what_the_state_keeps_gives_nothing_here(self) -> None:
        """A confirmation is proved by the state (its consents), not by the message."""
        assert facts_of_message("L1", OptInConfirmed(submission_id="s", at=T0), NOW) == []
