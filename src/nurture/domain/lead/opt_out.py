"""Opt-out and bounce: the person asked for no more marketing mail, or the address does
not exist. Both are conditions that stop the mail they concern, recorded once."""

from __future__ import annotations

from nurture.domain.lead.messages import AddressBounced, OptOut
from nurture.domain.lead.state import LeadState, add_condition
from nurture.domain.lifecycle import Condition

__all__ = ["apply_bounce", "apply_opt_out"]


def apply_opt_out(state: LeadState, opt_out: OptOut) -> LeadState:
    """The lead is unsubscribed from now on: marketing mail stops, its sequences stop.
    Transactional mail (what the person asks for) still goes. A repeat changes nothing."""
    reason = f"{opt_out.reason} ({opt_out.channel})"
    cause = f"{opt_out.reason} {opt_out.channel}"
    return add_condition(state, Condition.UNSUBSCRIBED, opt_out.at, reason, cause)


def apply_bounce(state: LeadState, bounced: AddressBounced) -> LeadState:
    """The lead's address bounces: nothing more is sent to it. A repeat changes nothing."""
    return add_condition(state, Condition.BOUNCED, bounced.at, bounced.reason, "bounce reported")
