"""The activities as the workflows call them: typed stubs, so mypy checks every call.

A workflow passes one of these functions to ``workflow.execute_activity`` (or
``execute_local_activity``) instead of the activity's name as a string, as
temporalio/samples-python does: the SDK takes the activity name and the result type from the
stub's ``@activity.defn``, and mypy checks the argument and the result against its
signature.

Why stubs and not the implementations: those live in the ``activities`` package, which
imports SMTP, the ledger, HTTP and the configuration files, and the workflows must never
import them (the layer rule keeps I/O out of workflow code, and the sandbox would re-import
it all for every run). So the stubs live here, beside the workflows, importing only the
domain and temporalio. Each has the name and signature of the registered implementation
named in its docstring (``tests/unit/test_activity_stubs.py`` proves it, so a stub cannot
drift); the worker registers the implementations, never these, and a stub's body never runs.
"""

from __future__ import annotations

from typing import NoReturn

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from nurture.domain.config import ConfigRef
    from nurture.domain.emails import SendEmailInput, SendEmailResult
    from nurture.domain.factlog import FactBatch
    from nurture.domain.sales.records import Assignment, WebhookMessage
    from nurture.domain.sales.router import AssignRequest, ClaimRequest, ReleaseRequest
    from nurture.domain.sales.routing import SalesTeam
    from nurture.domain.scoring import ScoringModel
    from nurture.domain.sequences.models import SendingPolicy
    from nurture.domain.sequences.rules import EnrolmentRule
    from nurture.domain.webhooks import Delivery

__all__ = [
    "assign_owner",
    "claim_owner",
    "current_config",
    "deliver_webhook",
    "forget_sends",
    "load_enrolment_rules",
    "load_sales_team",
    "load_scoring_model",
    "load_sending_policy",
    "notify_webhook",
    "record_facts",
    "release_owner",
    "send_email",
]


def _stub(name: str) -> NoReturn:
    raise NotImplementedError(f"{name} is a stub: the worker runs the activity it names")


@activity.defn(name="send_email")
async def send_email(input: SendEmailInput) -> SendEmailResult:
    """``EmailActivities.send_email``, on the mail task queue: one email, at most once."""
    _stub("send_email")


@activity.defn(name="forget_sends")
async def forget_sends(lead_id: str) -> int:
    """``EmailActivities.forget_sends``: delete a lead's send records; how many."""
    _stub("forget_sends")


@activity.defn(name="current_config")
async def current_config() -> ConfigRef:
    """``ConfigActivities.current_config`` (a local activity): the reference of the
    configuration now, its snapshot stored and held by the worker."""
    _stub("current_config")


@activity.defn(name="load_scoring_model")
async def load_scoring_model() -> ScoringModel:
    """``ConfigActivities.load_scoring_model`` (a local activity; runs before
    ``current_config``)."""
    _stub("load_scoring_model")


@activity.defn(name="load_sending_policy")
async def load_sending_policy() -> SendingPolicy:
    """``ConfigActivities.load_sending_policy`` (a local activity; runs before
    ``current_config``)."""
    _stub("load_sending_policy")


@activity.defn(name="load_enrolment_rules")
async def load_enrolment_rules() -> list[EnrolmentRule]:
    """``ConfigActivities.load_enrolment_rules`` (a local activity; runs before
    ``current_config``)."""
    _stub("load_enrolment_rules")


@activity.defn(name="load_sales_team")
async def load_sales_team() -> SalesTeam:
    """``SalesActivities.load_sales_team`` (a local activity; runs before
    ``current_config``)."""
    _stub("load_sales_team")


@activity.defn(name="assign_owner")
async def assign_owner(request: AssignRequest) -> Assignment:
    """``SalesActivities.assign_owner``: the router's answer, with the rep's details."""
    _stub("assign_owner")


@activity.defn(name="claim_owner")
async def claim_owner(request: ClaimRequest) -> None:
    """``SalesActivities.claim_owner``: a rep took a lead from the pool."""
    _stub("claim_owner")


@activity.defn(name="release_owner")
async def release_owner(request: ReleaseRequest) -> None:
    """``SalesActivities.release_owner``: a rep's open lead is closed."""
    _stub("release_owner")


@activity.defn(name="notify_webhook")
async def notify_webhook(message: WebhookMessage) -> None:
    """``SalesActivities.notify_webhook``: POST the message to the team's webhook."""
    _stub("notify_webhook")


@activity.defn(name="record_facts")
async def record_facts(batch: FactBatch) -> int:
    """``FactActivities.record_facts`` (a local activity): store a batch of a lead's facts;
    how many were new."""
    _stub("record_facts")


@activity.defn(name="deliver_webhook")
async def deliver_webhook(delivery: Delivery) -> None:
    """``WebhookActivities.deliver_webhook``: post one event to one subscription, signed."""
    _stub("deliver_webhook")
