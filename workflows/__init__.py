"""Temporal workflows: the lead lifecycle, the sequences marketing ops write, the router."""

from workflows.lead import LeadWorkflow, LeadWorkflowInput
from workflows.router import RouterWorkflow
from workflows.sequence import SequenceWorkflow
from workflows.webhooks import WebhookWorkflow

__all__ = [
    "LeadWorkflow",
    "LeadWorkflowInput",
    "RouterWorkflow",
    "SequenceWorkflow",
    "WebhookWorkflow",
]
