"""The parts a sequence simulation runs the real ``SequenceWorkflow`` with, in place of
the worker's: a send activity that records instead of sending, a watch on the sequence's
splits, and sequences loaded from a file that is not registered (yet).

The send activity renders the email from the project's templates as the real one does (a
template that cannot render fails the same way, never retried) and answers what the real
one answers for a sent email, on the simulated clock. The split watch lets the real
assignment run and notes what the sequence asked (experiment, variants, holdout), so that
the simulation can find a lead landing in each other variant.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from nurture.adapters.mail.rendering import TemplateError, TemplateRenderer
from nurture.config.project import Brand
from nurture.domain.emails import (
    TEMPLATE_FAILURE,
    EmailKind,
    SendEmailInput,
    SendEmailResult,
    message_id_for,
)
from nurture.domain.sequences.simulation import HOLDOUT, DecisionPoint
from nurture.errors import NurtureError
from workflows.sequences import REGISTRY, Sequence

__all__ = ["SimulatedMail", "SplitWatch", "sequences_from_file"]

UNSUBSCRIBE_URL = "https://unsubscribe.invalid/simulated"
"""Where a simulated email's unsubscribe link points: nowhere, nothing is sent."""


class SimulatedMail:
    """The ``send_email`` activity of a simulation: renders the email, sends nothing, and
    answers as the real activity does for a sent email, at the simulated moment it ran.
    ``subjects`` keeps each email's subject by key."""

    def __init__(self, renderer: TemplateRenderer, brand: Brand) -> None:
        self._renderer = renderer
        self._brand = brand
        self.subjects: dict[str, str] = {}

    @activity.defn(name="send_email")
    async def send_email(self, input: SendEmailInput) -> SendEmailResult:
        """Render ``input``'s email and record it as sent."""
        context = {
            **input.context,
            "brand": self._brand.model_dump(mode="json"),
            "locale": input.locale,
            "unsubscribe_url": UNSUBSCRIBE_URL,
        }
        footer = "_unsubscribe" if input.kind is EmailKind.MARKETING else None
        try:
            rendered = self._renderer.render(input.template, input.locale, context, footer)
        except TemplateError as exc:
            raise ApplicationError(str(exc), type=TEMPLATE_FAILURE, non_retryable=True) from exc
        self.subjects[input.key] = rendered.subject
        domain = self._brand.from_email.rpartition("@")[2]
        return SendEmailResult(
            key=input.key,
            status="sent",
            message_id=message_id_for(input.key, domain),
            # The server's clock, which the simulation moves: the frequency cap counts it.
            sent_at=activity.info().current_attempt_scheduled_time,
        )


class SplitWatch(Interceptor):
    """Notes each split a sequence makes, in ``reached`` (shared with the simulation,
    which adds the ``wait_for`` points there as it meets them), once per experiment."""

    def __init__(self, reached: list[DecisionPoint]) -> None:
        self.reached = reached

    def saw(
        self, experiment: str, variants: dict[str, int], holdout: float, got: str | None
    ) -> None:
        """A split of ``experiment`` gave ``got``: the other outcomes are other branches."""
        if any(p.kind == "split" and p.label == experiment for p in self.reached):
            return  # the same experiment again (or a replay of the task): the same answer
        outcome = HOLDOUT if got is None else got
        others = [v for v in variants if v != outcome]
        if holdout > 0 and got is not None:
            others.append(HOLDOUT)
        point = DecisionPoint(
            kind="split",
            label=experiment,
            options=(outcome, *others),
            variants=dict(variants),
            holdout=holdout,
        )
        self.reached.append(point)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        watch = self

        class Watching(WorkflowInboundInterceptor):
            async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
                instance = workflow.instance()
                real: Callable[[str, dict[str, int], float], str | None] = instance.split

                def split(experiment: str, variants: dict[str, int], holdout: float) -> str | None:
                    got = real(experiment, variants, holdout)
                    watch.saw(experiment, variants, holdout, got)
                    return got

                instance.split = split
                return await super().execute_workflow(input)

        return Watching


class SequenceFileError(NurtureError):
    """A sequence file that cannot be loaded: the message says why."""


@contextmanager
def sequences_from_file(path: Path) -> Iterator[dict[tuple[str, int], type[Sequence]]]:
    """For the block, the sequences ``path`` defines stand in the registry, over a
    registered one of the same name and version (an edit to compare with the running
    version); the registry is as it was after. Yields what the file registered."""
    before = dict(REGISTRY)
    REGISTRY.clear()  # so that the file may register a (name, version) taken already
    try:
        _load(path)
        found = dict(REGISTRY)
        REGISTRY.update({**before, **found})
        if not found:
            raise SequenceFileError(f"{path} registers no sequence (no @sequence class)")
        yield found
    finally:
        REGISTRY.clear()
        REGISTRY.update(before)


def _load(path: Path) -> None:
    name = f"nurture_simulated_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise SequenceFileError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise SequenceFileError(f"{path} cannot be loaded: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.modules.pop(name, None)
