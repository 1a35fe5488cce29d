"""The scenarios the replay corpus is recorded from (``python -m tests.replay.record``).

Together they take every path of the workflows: each signal, update, activity and child
workflow, every shipped sequence, the router. ``tests/replay/test_replay.py`` checks the
saved histories do. Each scenario checks it reached what it claims before saving.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import WorkflowExecutionStatus

from nurture.adapters.mail.smtp import PermanentDeliveryError
from nurture.adapters.temporal.gateway import ActionRefused
from nurture.domain.identity import workflow_id_for
from nurture.domain.lead.imports import ImportedLead
from nurture.domain.lead.messages import AddressBounced, OptInConfirmed, OptOut
from nurture.domain.lead.view import LeadView
from nurture.domain.lifecycle import Condition, Stage
from nurture.domain.models import Consent, ContentLink, FormContext
from nurture.domain.sales.router import RouterInput, router_workflow_id
from nurture.domain.sequences.models import LeadSnapshot, SequenceInput
from nurture.domain.webhooks import webhook_workflow_id
from tests.helpers import doi_submission, persona_lead, submission
from tests.replay.record import Journey, Recording, Scenario
from tests.waiting import eventually, sent
from workflows import RouterWorkflow, SequenceWorkflow, WebhookWorkflow
from workflows.sequences import REGISTRY

__all__ = ["SCENARIOS"]

MINUTE = timedelta(minutes=1)
NURTURE = {"via": "nurture"}
"""A tracked open or click of nurture's own email (it scores)."""


def log(view: LeadView) -> list[str]:
    return [entry.kind for entry in view.sales_log]


def ended(view: LeadView, sequence: str, result: str | None = None) -> bool:
    """The lead's ``sequence`` enrolment is over (with that result)."""
    return any(
        e.sequence == sequence and e.ended_at is not None and result in (None, e.result)
        for e in view.enrolments
    )


async def white_paper(lead: Journey, delay: timedelta = timedelta(days=2)) -> None:
    """The white paper form of a persona lead (8 points), its welcome after ``delay``."""
    person = persona_lead(f"{lead.lead_id}@example.com")
    at = await lead.rec.now()
    form = submission(person, submission_id=f"{lead.lead_id}-form", at=at, delay=delay)
    await lead.rec.h.gateway.submit_form(lead.lead_id, form)


async def to_sales(lead: Journey) -> LeadView:
    """A form, then a demo request (a hand-raise): an SQL, routed by the router."""
    await white_paper(lead)
    await lead.until(lambda v: sent(v, "thank_you"))
    await lead.event("demo_requested")
    return await lead.until(lambda v: "assigned" in log(v))


async def thanks_and_decay(rec: Recording) -> None:
    """A form and its thank-you; a second form, and a page view posted while its thank-you
    is being sent, so the run (two inbound messages at most) continues as new carrying
    the view; a month of silence: the inactivity penalty and the re-engagement sequence
    (whose reports continue the lead as new again), which a page view ends at its goal."""
    lead = rec.lead("decay")
    await white_paper(lead, delay=timedelta(days=60))
    await lead.until(lambda v: sent(v, "thank_you"))
    rec.mailer.gate = gate = asyncio.Event()
    at = await rec.now()
    person = persona_lead(f"{lead.lead_id}@example.com")
    contact = submission(person, submission_id="decay-contact", form_id="contact", at=at)
    await rec.h.gateway.submit_form(lead.lead_id, contact)

    async def sending() -> bool:
        return rec.mailer.waiting > 0

    await eventually(sending)
    await lead.event("page_viewed", section="blog")
    rec.mailer.gate = None
    gate.set()
    await lead.until(lambda v: len(v.emails) == 2 and v.score == 13)
    await rec.skip(timedelta(days=31))
    await lead.until(
        lambda v: any(ln.rule == "inactivity" for ln in v.explanation) and sent(v, "whats_new")
    )
    await lead.event("page_viewed", section="blog")
    await lead.until(lambda v: ended(v, "reengagement", "goal"))


async def opt_in(rec: Recording) -> None:
    """A newsletter post held until its link is used; confirmed: the discovery sequence,
    where a click takes the wait_for branch to its end, and the welcome two days later."""
    lead = rec.lead("optin")
    person = persona_lead("optin@example.com")
    form = doi_submission("optin-form", at=await rec.now(), lead=person)
    await rec.h.gateway.submit_form(lead.lead_id, form)
    await lead.until(lambda v: v.awaiting_confirmation == ("newsletter",))
    clicked = OptInConfirmed(
        submission_id="optin-form", at=await rec.now(), ip="198.51.100.4", user_agent="UA"
    )
    await rec.h.gateway.tell(lead.lead_id, clicked)
    await lead.until(lambda v: sent(v, "about_your_needs"))
    await lead.event("email_clicked", template="about_your_needs", **NURTURE)
    await lead.until(lambda v: ended(v, "discovery", "completed"))
    await rec.skip(timedelta(days=2) + MINUTE)
    await lead.until(lambda v: ended(v, "welcome", "completed"))


async def opt_in_expired(rec: Recording) -> None:
    """A newsletter post never confirmed: after seven days the lead forgets its sends and
    its workflow ends."""
    lead = rec.lead("expired")
    form = doi_submission("expired-form", at=await rec.now(), lead=persona_lead("x@example.com"))
    await rec.h.gateway.submit_form(lead.lead_id, form)
    await lead.until(lambda v: v.awaiting_confirmation == ("newsletter",))
    await rec.skip(timedelta(days=7) + MINUTE)
    handle = rec.h.client.get_workflow_handle(workflow_id_for(lead.lead_id))

    async def over() -> bool:
        return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    await eventually(over)


async def opt_out_and_bounce(rec: Recording) -> None:
    """An MQL in the evaluation sequence unsubscribes: the sequence is cancelled. Another
    lead's address bounces after its thank-you."""
    lead = rec.lead("unsubscribed")
    await white_paper(lead, delay=timedelta(days=30))
    for _ in range(6):
        await lead.event("page_viewed", section="product")
    await lead.until(lambda v: sent(v, "buying_guide"))
    opt_out = OptOut(channel="page", at=await rec.now())
    await rec.h.gateway.tell(lead.lead_id, opt_out)
    await lead.until(lambda v: ended(v, "evaluation", "stopped"))

    bounced = rec.lead("bounced")
    await white_paper(bounced)
    await bounced.until(lambda v: sent(v, "thank_you"))
    report = AddressBounced(reason="hard bounce 5.1.1: no such user", at=await rec.now())
    await rec.h.gateway.tell(bounced.lead_id, report)
    await bounced.until(lambda v: "bounced" in v.conditions)
    await bounced.save()


async def requalify(rec: Recording) -> None:
    """Six product pages: an MQL in the evaluation sequence; a scanner's click (flagged
    ``machine``: only remembered), then the person's click takes its wait_for
    branch; a demo request hands the lead to sales (a hand-raise), which stops the
    sequence (unless its goal, the same request, ended it first); accepted, returned
    for budget (recycle-fit); new engagement makes it an MQL again and stops recycle-fit."""
    lead = rec.lead("requalified")
    await white_paper(lead, delay=timedelta(days=30))
    for _ in range(6):
        await lead.event("page_viewed", section="product")
    await lead.until(lambda v: sent(v, "buying_guide"))
    await lead.event("email_clicked", template="buying_guide", machine="HEAD request", **NURTURE)
    await lead.event("email_clicked", template="buying_guide", **NURTURE)
    await lead.until(lambda v: sent(v, "case_study"))
    await lead.event("demo_requested")
    await lead.until(lambda v: "assigned" in log(v) and ended(v, "evaluation"))
    await lead.act("accept")
    await lead.act("return_to_nurture", reason="budget", note="budget review in Q3")
    await lead.until(lambda v: sent(v, "resources_for_later"))
    await rec.skip(2 * MINUTE)
    for kind in ("webinar_registered", "support_contacted", "webinar_replay_watched"):
        await lead.event(kind)
    await lead.until(lambda v: v.stage == "mql" and ended(v, "recycle-fit", "stopped"))
    await rec.save_router()


async def sla_and_pool(rec: Recording) -> None:
    """Nobody accepts: a reminder, escalation and reassignment, again, then the pool; a
    refused action leaves no trace; Ana takes the lead from the pool (a claim), then
    disqualifies it (a release). The router has room for 4 requests a run here, so it
    continues as new along the way."""
    await rec.h.client.start_workflow(
        RouterWorkflow.run,
        RouterInput(max_requests_per_run=4),
        id=router_workflow_id(rec.h.task_queue),
        task_queue=rec.h.task_queue,
    )
    lead = rec.lead("pooled")
    await to_sales(lead)
    for assigned in (1, 2):
        await rec.skip(31 * MINUTE)
        await lead.until(lambda v, n=assigned: log(v).count("reminded") == n)
        await rec.skip(30 * MINUTE)
        await lead.until(lambda v, n=assigned: log(v).count("escalated") == n)
    await lead.until(lambda v: "pooled" in log(v))
    try:
        await lead.act("convert")
    except ActionRefused:
        pass
    else:
        raise AssertionError("converting a lead nobody accepted was allowed")
    await lead.act("accept")
    await lead.act("disqualify", reason="a student")
    await lead.until(lambda v: v.stage == "disqualified")
    await rec.save_router()


async def won(rec: Recording) -> None:
    """Accepted, converted, won: a customer, through onboarding (a click takes its
    wait_for branch) and upsell to their ends, the form's welcome beside them."""
    lead = rec.lead("customer")
    await to_sales(lead)
    await lead.act("accept")
    await lead.act("convert", note="deal 42")
    await lead.act("won")
    await lead.until(lambda v: sent(v, "welcome_aboard"))
    await rec.skip(timedelta(days=2) + MINUTE)
    await lead.until(lambda v: sent(v, "getting_started"))
    await lead.event("email_clicked", template="getting_started", **NURTURE)
    await lead.until(lambda v: ended(v, "onboarding", "completed") and ended(v, "welcome"))
    await rec.skip(timedelta(days=30) + MINUTE)
    await lead.until(lambda v: sent(v, "upgrade_offer"))
    await rec.skip(timedelta(days=10) + MINUTE)
    await lead.until(lambda v: ended(v, "upsell", "completed"))
    await rec.save_router()


async def lost(rec: Recording) -> None:
    """Accepted, converted, lost: recycled for ``lost``, in recycle-timing."""
    lead = rec.lead("lost")
    await to_sales(lead)
    await lead.act("accept")
    await lead.act("convert")
    await lead.act("lost", note="went with a competitor")
    await lead.until(lambda v: v.stage == "recycled" and sent(v, "keep_in_touch"))
    await rec.save_router()


SAMPLE_FORM = FormContext(
    form_id="white-paper",
    offer=ContentLink(title="The buying guide", url="https://example.com/guide.pdf"),
    related=(ContentLink(title="Webinar", url="https://example.com/webinar"),),
    second_conversion_delay=timedelta(days=2),
)
"""The form a standalone welcome is started for (it sends the form's related content)."""


async def webhooks(rec: Recording) -> None:
    """A lead's outbound webhooks: its creation refused with a 500 (retried), then a 422
    (a dead letter), its stage change and hand-off delivered, the dead letter replayed
    and delivered, then the webhook workflow ending once idle."""
    receiver = rec.receiver
    assert receiver is not None
    receiver.answer = lambda n, payload: 500 if n == 0 else 422 if n == 1 else 200
    lead = rec.lead("hooked")
    await to_sales(lead)
    stream = rec.h.client.get_workflow_handle_for(
        WebhookWorkflow.run, webhook_workflow_id("hooked")
    )

    async def delivered(count: int) -> bool:
        return len(receiver.accepted) >= count and not await stream.query(
            WebhookWorkflow.get_queued
        )

    await eventually(lambda: delivered(3), 30)
    assert [d.delivery.fact.kind for d in await stream.query(WebhookWorkflow.get_dead_letters)] == [
        "lead_created"
    ]
    assert await stream.execute_update(WebhookWorkflow.replay) == 1
    await eventually(lambda: delivered(4), 30)
    await rec.skip(timedelta(minutes=11))
    await stream.result()
    rec.write("webhooks_hooked", await stream.fetch_history())


async def sequences_alone(rec: Recording) -> None:
    """Every registered sequence version run alone to its end, no event arriving (each
    wait_for times out); then a welcome whose email cannot be delivered (it exits)."""
    # One at a time: awaiting several results at once can stall the test server's clock.
    for name, version in sorted(REGISTRY):
        await _run_alone(rec, f"sequence_{name}_v{version}", _sequence_input(name, version))
    rec.mailer.failures.append(PermanentDeliveryError("SMTP 550: no such user", 550))
    await _run_alone(rec, "sequence_welcome_v1_undelivered", _sequence_input("welcome", 1))


def _sequence_input(name: str, version: int) -> SequenceInput:
    lead = LeadSnapshot(
        lead_id="alone",
        email="alone@example.com",
        full_name="Ada Lovelace",
        attributes={"first_name": "Ada", "last_name": "Lovelace", "full_name": "Ada Lovelace"},
    )
    form = SAMPLE_FORM if name == "welcome" else None
    return SequenceInput(name=name, version=version, enrolment=1, lead=lead, form=form)


async def _run_alone(rec: Recording, name: str, inp: SequenceInput) -> None:
    handle = await rec.h.client.start_workflow(
        SequenceWorkflow.run, inp, id=f"replay-{name}", task_queue=rec.h.task_queue
    )
    await handle.result()
    rec.write(name, await handle.fetch_history())


async def imported(rec: Recording) -> None:
    """A lead imported without enrolment and without consent (held, no_consent): no mail;
    a tracked visit lifts the hold, its form with consent the rest, and its thank-you goes."""
    lead = rec.lead("imported")
    person = persona_lead("imported@example.com")
    row = ImportedLead(key="row-imported-1", batch="fair", lead=person, stage=Stage.NEW)
    await rec.h.gateway.import_lead(lead.lead_id, row)
    await lead.until(lambda v: set(v.conditions) == {Condition.HELD, Condition.NO_CONSENT})
    await lead.event("page_viewed", section="product")
    await lead.until(lambda v: v.conditions == (Condition.NO_CONSENT,))
    consenting = person.model_copy(
        update={"consent": Consent(marketing=True, given_at=await rec.now())}
    )
    form = submission(consenting, submission_id="imported-form", at=await rec.now())
    await rec.h.gateway.submit_form(lead.lead_id, form)
    await lead.until(lambda v: sent(v, "thank_you") and v.conditions == ())
    await lead.save()


SCENARIOS = (
    Scenario("decay", thanks_and_decay, max_inbound_per_run=2),
    Scenario("opt-in", opt_in),
    Scenario("opt-in-expired", opt_in_expired),
    Scenario("opt-out", opt_out_and_bounce),
    Scenario("requalify", requalify),
    Scenario("sla-pool", sla_and_pool),
    Scenario("won", won),
    Scenario("lost", lost),
    Scenario("sequences", sequences_alone),
    Scenario("imported", imported),
    Scenario("webhooks", webhooks, webhooks=("created", "stage_changed", "handed_off")),
)
