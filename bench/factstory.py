"""One lead's story as the generator tells it: the facts its workflow would have written,
with what the lead is like (how engaged, whether its mail client or gateway opens and
clicks by machine, whether its address bounces) deciding how it reacts to each email."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from nurture.domain.factlog import Fact, FactValue, fact_id

__all__ = ["Split", "Story"]

_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)
_EVENTS = ("page_viewed", "content_downloaded", "webinar_registered", "webinar_replay_watched")
_EVENT_WEIGHTS = (70, 15, 9, 6)
# How much more often than the control a variant reaches the goal (None: the holdout).
_LIFT = {0: 1.0, 1: 1.3, None: 0.65}


@dataclass(frozen=True)
class Split:
    """An A/B test in a sequence: its name and its two variants (the first the control);
    a tenth of the leads are its holdout, who skip the first email."""

    experiment: str
    variants: tuple[str, str]


class Story:
    """The facts of one lead, added in the order the generator imagines them; a fact
    after ``end`` has not happened yet and is left out."""

    def __init__(self, rng: random.Random, lead_id: str, end: datetime) -> None:
        self.rng, self.lead_id, self.end = rng, lead_id, end
        self.facts: list[Fact] = []
        self.engaged = 0.15
        """The chance that the lead opens a marketing email itself."""
        self.apple_mpp = rng.random() < 0.3
        self.scanner = rng.random() < 0.08
        self.bad_address = rng.random() < 0.015
        self.bounced = self.unsubscribed = False
        self.current = "new"
        self._count = 0

    def add(self, kind: str, at: datetime, ident: Sequence[object], /, **data: FactValue) -> bool:
        """Add a fact unless it would happen after the end; True when added."""
        if at >= self.end:
            return False
        fid = fact_id(self.lead_id, kind, *ident)
        self.facts.append(Fact(id=fid, lead_id=self.lead_id, kind=kind, at=at, data=data))  # type: ignore[arg-type]
        return True

    def event(self, at: datetime, kind: str) -> bool:
        self._count += 1
        return self.add("event_received", at, (f"e{self._count}",), type=kind)

    def browse(self, since: datetime, until: datetime) -> datetime:
        """Visits and downloads between two moments, more for an engaged lead."""
        visits = int(self.rng.expovariate(1 / (0.5 + 12 * self.engaged)))
        for _ in range(visits):
            kind = self.rng.choices(_EVENTS, weights=_EVENT_WEIGHTS)[0]
            self.event(since + self.rng.random() * (until - since), kind)
        return until

    def stage(
        self, at: datetime, from_stage: str, to_stage: str, reason: str, score: int = 30
    ) -> bool:
        """Move the lead, if it is still where the move starts; True when it moved."""
        if self.current != from_stage:
            return False
        data: dict[str, FactValue] = {"from_stage": from_stage, "to_stage": to_stage}
        if not self.add(
            "stage_changed", at, (at.isoformat(), to_stage), **data, reason=reason, score=score
        ):
            return False
        self.current = to_stage
        return True

    def action(
        self, at: datetime, handoff: str, action: str, rep: str, reason: str | None = None
    ) -> bool:
        data: dict[str, FactValue] = {"handoff": handoff, "action": action, "actor": rep}
        return self.add(
            "sales_action", at, (handoff, action), **data, reason=reason, revisit_after=None
        )

    def email(
        self, at: datetime, template: str, kind: str, campaign: str = "", **step: FactValue
    ) -> bool:
        """Plan an email and send it (or skip it, or bounce, or fail); True when sent."""
        key = f"{self.lead_id}/{campaign or 'form'}/{template}/1"
        fields: dict[str, FactValue] = {"key": key, "template": template, "email_kind": kind}
        fields |= {"sequence": None, "version": None, "step": None, "variant": None} | step
        if not self.add("email_planned", at, (key,), **fields, due_at=at.isoformat()):
            return False
        if self.bounced or (self.unsubscribed and kind == "marketing"):
            return (
                self.add("email_skipped", at, (key, "skipped"), **fields, detail="suppressed")
                and False
            )
        sent = at + self.rng.uniform(0.5, 8) * _SECOND
        if self.bad_address:
            self.bounced = True
            detail = "550 5.1.1 user unknown"
            self.add("email_bounced", sent, (key, "bounced"), **fields, detail=detail)
            return self.add("address_bounced", sent, (), detail=detail) and False
        if self.rng.random() < 0.002:
            return (
                self.add("email_failed", sent, (key, "failed"), **fields, detail="timeout")
                and False
            )
        self.add("email_sent", sent, (key, "sent"), **fields)
        self._react(sent, key, template, kind == "marketing")
        return True

    def _react(self, sent: datetime, key: str, template: str, marketing: bool) -> None:
        rng = self.rng
        if self.apple_mpp:
            at = sent + rng.uniform(20, 900) * _SECOND
            self.add(
                "email_opened", at, (key, "mpp"), key=key, template=template, machine="Apple MPP"
            )
        url = f"https://www.example.com/{template.replace('_', '-')}"
        if self.scanner:
            at = sent + rng.uniform(1, 25) * _SECOND
            self.add(
                "email_clicked",
                at,
                (key, url, "scan"),
                key=key,
                template=template,
                url=url,
                machine="scanner",
            )
        opened = sent + rng.expovariate(1 / 7) * 3600 * _SECOND
        if rng.random() < (self.engaged if marketing else 0.55):
            self.add("email_opened", opened, (key,), key=key, template=template, machine=None)
            if rng.random() < 0.15 + self.engaged / 2:
                at = opened + rng.uniform(5, 300) * _SECOND
                self.add(
                    "email_clicked",
                    at,
                    (key, url),
                    key=key,
                    template=template,
                    url=url,
                    machine=None,
                )
        if marketing and not self.unsubscribed:
            self._opt_out(opened + rng.uniform(10, 600) * _SECOND)

    def _opt_out(self, at: datetime) -> None:
        draw = self.rng.random()
        if draw < 0.0007:
            self.unsubscribed = self.add("complained", at, (), via="feedback loop", reason=None)
            self.add("unsubscribed", at, ("complaint",), via="complaint", reason=None)
        elif draw < 0.005:
            self.unsubscribed = self.add("unsubscribed", at, (), via="link", reason=None)

    def sequence(
        self,
        at: datetime,
        name: str,
        version: int,
        templates: Sequence[str],
        *,
        goal: float,
        split: Split | None = None,
        stop: datetime | None = None,
    ) -> datetime:
        """Enter a sequence, send its steps a few days apart until its goal, the lead's
        leaving its stages (``stop``) or the last step; returns when it ended."""
        if self.bounced or self.unsubscribed or (stop is not None and stop <= at):
            return at
        self._count += 1
        enrolment, wid = self._count, f"lead-{self.lead_id}/seq-{name}-{self._count}"
        ids: dict[str, FactValue] = {"sequence": name, "version": version, "enrolment": enrolment}
        if not self.add(
            "sequence_entered", at, (name, enrolment), **ids, alongside=None, workflow_id=wid
        ):
            return at
        variant = self._split(at, ids, split) if split else 0
        chosen = None if split is None or variant is None else split.variants[variant]
        reached = self.rng.random() < goal * _LIFT[variant]
        goal_at = at + self.rng.lognormvariate(0, 0.8) * 5 * _DAY if reached else None
        result, moment = self._steps(at, ids, templates, chosen, split, goal_at, stop)
        end = {"goal": goal_at, "stopped": stop}.get(result) or moment
        if result == "goal":
            self.event(end, "demo_requested")
        detail = "left its stages" if result == "stopped" else None
        self.add(
            "sequence_ended",
            end,
            (name, enrolment),
            **ids,
            result=result,
            detail=detail,
            workflow_id=wid,
        )
        return end

    def _split(self, at: datetime, ids: dict[str, FactValue], split: Split) -> int | None:
        """A/B assignment: 45% each variant, 10% holdout."""
        draw = self.rng.random()
        variant = None if draw < 0.1 else (0 if draw < 0.55 else 1)
        chosen = None if variant is None else split.variants[variant]
        name = split.experiment
        self.add("variant_assigned", at, (name,), experiment=name, variant=chosen, **ids)
        return variant

    def _steps(
        self,
        at: datetime,
        ids: dict[str, FactValue],
        templates: Sequence[str],
        variant: str | None,
        split: Split | None,
        goal_at: datetime | None,
        stop: datetime | None,
    ) -> tuple[str, datetime]:
        campaign = f"seq-{ids['sequence']}-v{ids['version']}-e{ids['enrolment']}"
        experiment = None if split is None else {split.experiment: variant}
        for step, template in enumerate(templates, 1):
            if goal_at is not None and goal_at <= at:
                return "goal", at
            if stop is not None and stop <= at:
                return "stopped", at
            if self.unsubscribed or self.bounced:
                return "exited", at
            if not (split and variant is None and step == 1):
                seq, version = ids["sequence"], ids["version"]
                self.email(
                    at,
                    template,
                    "marketing",
                    campaign,
                    sequence=seq,
                    version=version,
                    step=step,
                    variant=experiment,
                )
            at += self.rng.choice((2, 3, 4, 7)) * _DAY
        return ("goal", at) if goal_at is not None and goal_at <= at else ("finished", at)
