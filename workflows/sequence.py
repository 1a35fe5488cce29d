"""``SequenceWorkflow``: runs one enrolment of a lead in one version of a sequence.

It looks the sequence class up by (name, version), so a lead stays on the version it
started with; runs its ``steps`` as a task; ends it at once when a goal event arrives; sends
marketing email inside the lead's send window and frequency cap.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError

with workflow.unsafe.imports_passed_through():
    from nurture.domain.emails import EmailKind, SendEmailInput, lead_context
    from nurture.domain.lead.messages import (
        LEAD_SIGNAL,
        LeadMessage,
        SequenceEmailed,
        SequenceEnded,
        SequenceMoved,
    )
    from nurture.domain.lead.state import EmailRecord
    from nurture.domain.lifecycle import why_not_mail
    from nurture.domain.models import FormContext, LeadEvent
    from nurture.domain.schedule import (
        lead_zone,
        next_allowed_by_cap,
        next_local_time,
        next_send_slot,
    )
    from nurture.domain.sequences.models import (
        LeadSnapshot,
        SendingPolicy,
        SequenceInput,
        SequenceOutcome,
        SequenceProgress,
        SequenceStatus,
        assign_variant,
        sequence_step_key,
    )

from workflows.activities import load_sending_policy
from workflows.config import LOAD_TIMEOUT, load_config
from workflows.mail import send_email
from workflows.patches import decide_patches
from workflows.sequences import REGISTRY, SequenceExit
from workflows.sequences.base import EventMatch, goals_of, human_duration, matches

__all__ = ["SequenceWorkflow"]


@workflow.defn
class SequenceWorkflow:
    """One lead in one version of one sequence."""

    @workflow.init
    def __init__(self, input: SequenceInput) -> None:
        self._input = input
        self.lead: LeadSnapshot = input.lead
        self.form: FormContext | None = input.form
        self._events: list[LeadEvent] = []
        self._goal_event: LeadEvent | None = None
        self._occurrences: Counter[str] = Counter()
        self._sends = 0
        self._variants: dict[str, str | None] = {}
        self._step = "starting"
        self._next_touch: datetime | None = None
        self._policy: SendingPolicy | None = None
        self._reports = 0
        self._facts_log = False
        self._config_ref = False
        self._stopping = False
        self._in_flight: asyncio.Task[EmailRecord] | None = None
        self.emails: list[EmailRecord] = []

    @workflow.run
    async def run(self, input: SequenceInput) -> SequenceOutcome:
        cls = REGISTRY[(input.name, input.version)]
        # Decided once, first thing: the marker always sits at the start of the history,
        # wherever the first split of the enrolment comes.
        patches = decide_patches()
        self._facts_log, self._config_ref = patches.facts_log, patches.config_ref
        self._policy = await self._sending_policy()
        steps = asyncio.create_task(cls(self).steps())
        try:
            await workflow.wait_condition(lambda: steps.done() or self._goal_event is not None)
        except asyncio.CancelledError:  # the lead stopped this enrolment
            if self._facts_log:  # (before the log, a stop left a send under way behind)
                await self._end_steps(steps, "stopped by the lead")
            raise
        result, detail = "completed", None
        if not steps.done():
            result, detail = "goal", f"goal event {self._goal_event.type}"  # type: ignore[union-attr]
            await self._end_steps(steps, "goal reached")
        else:
            try:
                await steps
            except SequenceExit as exit_:
                result, detail = "exited", str(exit_)
        self._set_step(f"ended: {result}", None)
        outcome = SequenceOutcome(
            workflow_id=workflow.info().workflow_id,
            name=input.name,
            version=input.version,
            result=result,
            detail=detail,
            ended_at=workflow.now(),
        )
        await self._tell_lead(SequenceEnded(outcome=outcome))
        return outcome

    async def _sending_policy(self) -> SendingPolicy:
        """The send window and cap now: from the configuration's snapshot, or, in a run
        begun before ``CONFIG_REF_PATCH``, by the local activity it used then."""
        if self._config_ref:
            return (await load_config()).sending
        return await workflow.execute_local_activity(
            load_sending_policy, start_to_close_timeout=LOAD_TIMEOUT
        )

    @workflow.signal
    def event_received(self, event: LeadEvent) -> None:
        """A behavioural event of the lead, forwarded by its LeadWorkflow."""
        if any(e.id == event.id for e in self._events):
            return
        self._events.append(event)
        goals = goals_of(REGISTRY[(self._input.name, self._input.version)])
        if self._goal_event is None and any(matches(goal, event) for goal in goals):
            self._goal_event = event

    @workflow.signal
    def lead_updated(self, lead: LeadSnapshot) -> None:
        """The lead changed (score, stage, profile, recent sends)."""
        self.lead = lead

    @workflow.query
    def get_status(self) -> SequenceStatus:
        """Which step the lead is on, and when the next thing happens."""
        return SequenceStatus(
            name=self._input.name,
            version=self._input.version,
            step=self._step,
            next_touch_at=self._next_touch,
            variant=self._variants,
            emails=tuple(self.emails),
        )

    # --- the primitives sequences use -----------------------------------------------

    async def send(self, template: str, kind: EmailKind, skip_if_capped: bool) -> bool:
        self._occurrences[template] += 1
        self._sends += 1
        step = self._sends
        key = sequence_step_key(
            self.lead.lead_id, self._input, template, self._occurrences[template]
        )
        # Checked before waiting for a slot and again after: the lead may change meanwhile.
        reason = self._why_not(kind)
        if reason is None and kind is EmailKind.MARKETING:
            if not await self._wait_for_slot(template, skip_if_capped):
                reason = "frequency cap reached"
            else:
                reason = self._why_not(kind)
        if reason:
            await self._record_skipped(key, template, kind, step, reason)
            return False
        self._set_step(f"sending {template}", None)
        # A task of its own: a stop cancels the send, never the step waiting for its outcome.
        self._in_flight = asyncio.create_task(
            send_email(
                self._send_input(key, template, kind),
                f"{template} ({kind})",
                wait_if_stopped=self._facts_log,
            )
        )
        try:
            record = await self._in_flight
        except ActivityError as err:
            if self._stopping and isinstance(err.cause, CancelledError):
                raise asyncio.CancelledError from err  # stopped before the relay had it
            raise
        finally:
            self._in_flight = None
        if record.status == "sent" and kind is EmailKind.MARKETING:
            sent = (*self.lead.marketing_sent_at, record.at)
            self.lead = self.lead.model_copy(update={"marketing_sent_at": sent})
        # Reported on the sequence's own clock, as the other steps of its timeline are.
        await self._report_email(record.model_copy(update={"at": workflow.now()}), step)
        if self._stopping:  # the lead stopped us while the relay took it: nothing after
            raise asyncio.CancelledError
        if record.status != "sent":
            raise SequenceExit(f"{template} could not be delivered: {record.detail}")
        return True

    async def sleep(self, duration: timedelta, label: str) -> None:
        self._set_step(label, workflow.now() + duration)
        self._report()
        await workflow.sleep(duration)

    async def sleep_until_local(
        self, at: time, weekdays: frozenset[int] | None, label: str
    ) -> None:
        target = next_local_time(workflow.now(), self._zone(), at, weekdays)
        await self.sleep(target - workflow.now(), label)

    async def wait_for(self, match: EventMatch, within: timedelta) -> LeadEvent | None:
        start = len(self._events)
        label = match if isinstance(match, str) else "a matching event"
        self._set_step(
            f"waiting up to {human_duration(within)} for {label}", workflow.now() + within
        )
        self._report()
        found: list[LeadEvent] = []

        def arrived() -> bool:
            found[:] = [e for e in self._events[start:] if matches(match, e)][:1]
            return bool(found)

        try:
            await workflow.wait_condition(arrived, timeout=within)
        except TimeoutError:
            return None
        return found[0]

    def split(self, experiment: str, variants: dict[str, int], holdout: float) -> str | None:
        variant = assign_variant(self.lead.lead_id, experiment, variants, holdout)
        known = experiment in self._variants and self._variants[experiment] == variant
        self._variants[experiment] = variant
        # The lead keeps the assignment, for the facts log (an enrolment from before the
        # log replays without the report: its emails still carry their variants).
        if not known and self._facts_log:
            self._report()
        return variant

    def seen(self, match: EventMatch) -> bool:
        return any(matches(match, e) for e in self._events)

    # --- internals --------------------------------------------------------------------

    def _why_not(self, kind: EmailKind) -> str | None:
        marketing = kind is EmailKind.MARKETING
        return why_not_mail(marketing, self.lead.stage, self.lead.conditions, self._input.stages)

    def _zone(self) -> ZoneInfo:
        """The lead's time zone: its own, else its country's, else the configured default."""
        assert self._policy is not None
        return lead_zone(self.lead.timezone, self.lead.country, self._policy.window)

    async def _wait_for_slot(self, template: str, skip_if_capped: bool) -> bool:
        """Sleep until the window and the cap allow a marketing send; False if skipped."""
        assert self._policy is not None
        zone = self._zone()
        while True:
            now = workflow.now()
            allowed = next_allowed_by_cap(self.lead.marketing_sent_at, now, self._policy.cap)
            if allowed > now and skip_if_capped:
                return False
            slot = next_send_slot(allowed, zone, self._policy.window)
            if slot <= now:
                return True
            reason = "frequency cap" if allowed > now else "send window"
            await self.sleep(slot - now, f"{template}: waiting for the {reason}")

    def _send_input(self, key: str, template: str, kind: EmailKind) -> SendEmailInput:
        return SendEmailInput(
            key=key,
            lead_id=self.lead.lead_id,
            to_email=self.lead.email,
            to_name=self.lead.full_name,
            locale=self.lead.locale,
            template=template,
            kind=kind,
            context={
                "lead": lead_context(self.lead.attributes),
                "variant": self._variants,
                **(self.form.template_context() if self.form else {}),
            },
            track=kind is EmailKind.MARKETING and self.lead.tracking,
        )

    async def _record_skipped(
        self, key: str, template: str, kind: EmailKind, step: int, detail: str | None
    ) -> None:
        record = EmailRecord(
            key=key,
            template=template,
            kind=kind,
            status="skipped",
            at=workflow.now(),
            detail=detail,
        )
        await self._report_email(record, step)

    async def _report_email(self, record: EmailRecord, step: int) -> None:
        """Tell the lead what became of the ``step``-th send of this enrolment, with the
        sequence, its version and the variants it was sent in."""
        record = record.model_copy(
            update={
                "sequence": self._input.name,
                "version": self._input.version,
                "step": step,
                "variant": dict(self._variants),
            }
        )
        self.emails.append(record)
        await self._tell_lead(SequenceEmailed(record=record))

    async def _end_steps(self, steps: asyncio.Task[None], why: str) -> None:
        """End the steps early (a goal, or the lead stopped the enrolment): they go no
        further, but a send under way ends first (the relay may have the email) and what
        became of it is reported, so the lead and its facts know of every email that left."""
        self._stopping = True
        self._set_step(why, None)
        # First let the steps take what came in with the stop: a send's outcome, if it is
        # here, is reported (cancelling a send whose outcome has arrived would drop it).
        await workflow.wait_condition(lambda: True)
        if self._in_flight is not None:
            # The attempt under way says whether the relay had the email; the step reports
            # it, then sees it is stopped.
            self._in_flight.cancel()
        else:
            steps.cancel()
        # Whatever the steps end with now, they are not the sequence's outcome.
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await steps

    async def _tell_lead(self, message: LeadMessage) -> None:
        """Report to the LeadWorkflow that started this sequence (none in standalone runs).
        Once sent, a report is delivered even if the sequence is stopped meanwhile."""
        parent = workflow.info().parent
        if parent is None:
            return
        handle = workflow.get_external_workflow_handle(parent.workflow_id)
        signal = asyncio.create_task(handle.signal(LEAD_SIGNAL, message))
        stopped = False
        while not signal.done():
            try:
                await asyncio.shield(signal)
            except asyncio.CancelledError:
                stopped = True
        if stopped:
            raise asyncio.CancelledError
        signal.result()

    def _report(self) -> None:
        """Tell the lead this step and its next touch, without delaying the step itself."""
        parent = workflow.info().parent
        if parent is None:
            return
        self._reports += 1
        progress = SequenceProgress(
            workflow_id=workflow.info().workflow_id,
            number=self._reports,
            step=self._step,
            next_touch_at=self._next_touch,
            variants=dict(self._variants),
        )
        handle = workflow.get_external_workflow_handle(parent.workflow_id)
        task = asyncio.create_task(handle.signal(LEAD_SIGNAL, SequenceMoved(progress=progress)))
        # A lead terminated meanwhile cannot take it; nothing else depends on this report.
        task.add_done_callback(lambda done: done.cancelled() or done.exception())

    def _set_step(self, step: str, next_touch: datetime | None) -> None:
        self._step = step
        self._next_touch = next_touch
        when = f" · next touch {next_touch:%Y-%m-%d %H:%M} UTC" if next_touch else ""
        workflow.set_current_details(
            f"**Sequence:** {self._input.name} v{self._input.version} "
            f"(entry {self._input.enrolment}) · **Step:** {step}{when}"
        )
