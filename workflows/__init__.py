"""Temporal workflows: the lead lifecycle, and the sequences marketing ops write."""

from workflows.lead import LeadWorkflow, LeadWorkflowInput

__all__ = ["LeadWorkflow", "LeadWorkflowInput"]
