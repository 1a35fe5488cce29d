"""One branch of a sequence simulation: the real ``SequenceWorkflow`` on a time-skipping
test server of its own, whose clock starts at the simulation's start (a server's clock only
goes forward), for the lead and the choices of one plan.

The workflow runs as on a worker: its configuration comes from the project's configuration
activities, its emails go to :class:`~nurture.services.simulation_parts.SimulatedMail`.
The branch drives the clock from one moment the sequence waits for to the next, watching
its status: a ``wait_for`` is a decision point (the event is delivered ``event_after``
into the wait when the plan takes it), and a wait for the send window or the frequency cap
is noted against the email it held back.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from nurture.adapters.mail.rendering import TemplateRenderer
from nurture.config.project import Brand
from nurture.domain.emails import mail_task_queue
from nurture.domain.lead.state import EmailRecord
from nurture.domain.models import FormContext, LeadEvent
from nurture.domain.sequences.models import (
    LeadSnapshot,
    SendingPolicy,
    SequenceInput,
    SequenceStatus,
)
from nurture.domain.sequences.simulation import (
    EVENT,
    NO_EVENT,
    Branch,
    Choice,
    DecisionPoint,
    Plan,
    SimulatedEmail,
    SimulatedStep,
)
from nurture.errors import NurtureError
from nurture.services.simulation_parts import SimulatedMail, SplitWatch
from workflows import SequenceWorkflow

__all__ = [
    "DEFAULT_EVENT_AFTER",
    "MAX_BRANCHES",
    "MAX_STEPS",
    "BranchRun",
    "Project",
    "SimulationError",
    "SimulationRequest",
]

DEFAULT_EVENT_AFTER = timedelta(hours=1)
"""How long into a ``wait_for`` the event arrives in the branches where it does."""
MAX_BRANCHES = 32
"""At most this many branches are run; the rest are counted as cut."""
MAX_STEPS = 400
"""A branch still running after this many waits is stopped (a sequence that loops forever)."""
_WAIT_FOR = re.compile(r"^waiting up to (?P<within>\S+) for (?P<label>.+)$")
_HELD_BACK = re.compile(r": waiting for the (?P<reason>.+)$")
_ANY_EVENT = "a matching event"
"""How a ``wait_for`` on a predicate reads: no event can be made up for it."""


class SimulationError(NurtureError):
    """A simulation that cannot run as asked: the message says why."""


@dataclass(frozen=True)
class Project:
    """What the project gives a simulation: the test server binary, the configuration
    activities of its worker, its templates and brand, its sending policy (for the lead's
    time zone) and the event types it declares (to reach a goal given as a predicate)."""

    test_server: Path
    config_activities: Sequence[Callable[..., Any]]
    renderer: TemplateRenderer
    brand: Brand
    sending: SendingPolicy
    event_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class SimulationRequest:
    """One sequence version, one lead, from one moment (``start``, UTC)."""

    name: str
    version: int
    lead: LeadSnapshot
    start: datetime
    stages: tuple[str, ...] | None = None
    """The stages its enrolment rule runs it in (the default: marketing's)."""
    event_after: timedelta = DEFAULT_EVENT_AFTER
    limit: int = MAX_BRANCHES
    form: FormContext | None = None
    """The form that started the sequence, for one a form starts (the welcome)."""


@dataclass
class BranchRun:
    """One branch on a test server of its own."""

    request: SimulationRequest
    project: Project
    runtime: Runtime
    plan: Plan
    lead: LeadSnapshot
    number: int
    reached: list[DecisionPoint] = field(default_factory=list)
    steps: list[SimulatedStep] = field(default_factory=list)
    held_back: dict[int, list[str]] = field(default_factory=dict)
    """Why the n-th email (from 0) waited."""

    async def run(self) -> Branch:
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter,
            runtime=self.runtime,
            test_server_existing_path=str(self.project.test_server),
        )
        try:
            ahead = self.request.start - await env.get_current_time()
            if ahead > timedelta(0):
                await env.sleep(ahead)
            return await self._on(env)
        finally:
            await env.shutdown()

    async def _on(self, env: WorkflowEnvironment) -> Branch:
        queue = f"simulate-{uuid.uuid4().hex[:8]}"
        mail = SimulatedMail(self.project.renderer, self.project.brand)
        worker = Worker(
            env.client,
            task_queue=queue,
            workflows=[SequenceWorkflow],
            activities=list(self.project.config_activities),
            workflow_runner=UnsandboxedWorkflowRunner(),
            interceptors=[SplitWatch(self.reached)],
            # A bug in the sequence fails its run at once (a worker would retry the task
            # until the code is fixed), so the simulation can say what it was.
            workflow_failure_exception_types=[Exception],
        )
        mail_worker = Worker(
            env.client, task_queue=mail_task_queue(queue), activities=[mail.send_email]
        )
        async with worker, mail_worker:
            handle = await env.client.start_workflow(
                SequenceWorkflow.run,
                self._input(),
                id=f"simulate-{self.request.name}-{self.number}",
                task_queue=queue,
            )
            await _Drive(self, env, handle).run()
            status = await handle.query(SequenceWorkflow.get_status)
            if await _open(env, handle.id):
                await handle.terminate("simulation: too many steps")
                return self._branch(status, "cut", f"stopped after {MAX_STEPS} waits", mail)
            try:
                outcome = await handle.result()
            except WorkflowFailureError as exc:
                raise SimulationError(
                    f"the sequence failed in branch {self.number}: {_failure(exc)}"
                ) from exc
        return self._branch(status, outcome.result, outcome.detail, mail)

    def _input(self) -> SequenceInput:
        extra = {"stages": self.request.stages} if self.request.stages else {}
        return SequenceInput(
            name=self.request.name,
            version=self.request.version,
            enrolment=1,
            lead=self.lead,
            form=self.request.form,
            **extra,
        )

    def _branch(
        self, status: SequenceStatus, outcome: str, detail: str | None, mail: SimulatedMail
    ) -> Branch:
        emails = tuple(
            self._email(n, record, mail.subjects.get(record.key))
            for n, record in enumerate(status.emails)
        )
        ended = max([e.at for e in emails] + [s.at for s in self.steps] + [self.request.start])
        return Branch(
            number=self.number,
            choices=self._taken(),
            goal=self.plan.goal,
            emails=emails,
            steps=tuple(self.steps),
            outcome=outcome,
            detail=detail,
            ended_at=ended,
        )

    def _taken(self) -> tuple[Choice, ...]:
        """The plan's choices, then the default at each point reached after them."""
        own = self.plan.choices
        rest = self.reached[len(own) :]
        return (*own, *(Choice(point=p, option=p.options[0]) for p in rest))

    def _email(self, n: int, record: EmailRecord, subject: str | None) -> SimulatedEmail:
        return SimulatedEmail(
            template=record.template,
            at=record.at,
            kind=str(record.kind),
            status=record.status,
            waited_for=tuple(self.held_back.get(n, ())),
            detail=record.detail,
            subject=subject,
        )


class _Drive:
    """Moves one branch's clock from one thing the sequence waits for to the next."""

    def __init__(
        self,
        run: BranchRun,
        env: WorkflowEnvironment,
        handle: WorkflowHandle[SequenceWorkflow, Any],
    ) -> None:
        self.branch = run
        self.env = env
        self.handle = handle
        self.waits_seen: set[tuple[str, datetime | None]] = set()
        self.goal_sent = False
        self.events = 0

    async def run(self) -> None:
        for _ in range(MAX_STEPS):
            await _settled(self.env, self.handle.id)
            if not await _open(self.env, self.handle.id):
                return
            status = await self.handle.query(SequenceWorkflow.get_status)
            now = await self.env.get_current_time()
            self._note_held_back(status)
            if await self._goal(status, now) or await self._wait_for(status, now):
                continue
            wake = status.next_touch_at
            if wake is not None and wake > now:
                await self.env.sleep(wake - now)
            else:  # between two tasks of one step: let it go on, on the clock as it runs
                await asyncio.sleep(0.02)

    def _note_held_back(self, status: SequenceStatus) -> None:
        found = _HELD_BACK.search(status.step)
        if found:
            reasons = self.branch.held_back.setdefault(len(status.emails), [])
            if found["reason"] not in reasons:
                reasons.append(found["reason"])

    async def _goal(self, status: SequenceStatus, now: datetime) -> bool:
        """The goal's event, just after the first email (sent or skipped), in its branch."""
        goal = self.branch.plan.goal
        if goal is None or self.goal_sent or not status.emails:
            return False
        self.goal_sent = True
        await self._deliver(goal, now, status)
        return True

    async def _wait_for(self, status: SequenceStatus, now: datetime) -> bool:
        """A ``wait_for`` met for the first time: a decision point. True when the branch
        delivers its event (after ``event_after``, or halfway through a shorter wait)."""
        found = _WAIT_FOR.match(status.step)
        key = (status.step, status.next_touch_at)
        if not found or key in self.waits_seen or status.next_touch_at is None:
            return False
        self.waits_seen.add(key)
        label, within = found["label"], status.next_touch_at - now
        options = (NO_EVENT,) if label == _ANY_EVENT else (NO_EVENT, EVENT)
        point = DecisionPoint(kind="wait_for", label=label, options=options, within=found["within"])
        index = len(self.branch.reached)
        self.branch.reached.append(point)
        if self.branch.plan.option_at(index) != EVENT:
            what = f"no {label} within {found['within']}"
            self.branch.steps.append(SimulatedStep(at=status.next_touch_at, what=what))
            return False
        delay = min(self.branch.request.event_after, within / 2)
        await self.env.sleep(delay)
        await self._deliver(label, now + delay, status)
        return True

    async def _deliver(self, kind: str, at: datetime, status: SequenceStatus) -> None:
        self.events += 1
        sent = [e.template for e in status.emails if e.status == "sent"]
        about = {"template": sent[-1]} if kind.startswith("email_") and sent else {}
        event = LeadEvent(
            id=f"simulated-{self.events}", type=kind, occurred_at=at, properties=about
        )
        await self.handle.signal(SequenceWorkflow.event_received, event)
        after = f" ({about['template']})" if about else ""
        self.branch.steps.append(SimulatedStep(at=at, what=f"{kind}{after}"))


def _failure(exc: WorkflowFailureError) -> str:
    """What failed the run: the exception's type and message, as the sequence raised it."""
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type:
        return f"{cause.type}: {cause.message}"
    return str(cause)


async def _describe(env: WorkflowEnvironment, workflow_id: str) -> Any:
    request = DescribeWorkflowExecutionRequest(
        namespace=env.client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
    )
    return await env.client.workflow_service.describe_workflow_execution(request)


async def _open(env: WorkflowEnvironment, workflow_id: str) -> bool:
    described = await _describe(env, workflow_id)
    running = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    return bool(described.workflow_execution_info.status == running)


async def _settled(env: WorkflowEnvironment, workflow_id: str, within: float = 60.0) -> None:
    """Wait until the workflow has no task and no activity under way."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        described = await _describe(env, workflow_id)
        if not described.pending_activities and not described.HasField("pending_workflow_task"):
            return
        if loop.time() > deadline:
            raise SimulationError(f"the sequence was still busy after {within:.0f}s")
        await asyncio.sleep(0.02)
