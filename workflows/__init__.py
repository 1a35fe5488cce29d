"""Temporal workflows: the lead lifecycle, and the sequences marketing ops write."""

from workflows.lead import LeadWorkflow, LeadWorkflowInput
from workflows.sequence import SequenceWorkflow

__all__ = ["LeadWorkflow", "LeadWorkflowInput", "SequenceWorkflow"]
