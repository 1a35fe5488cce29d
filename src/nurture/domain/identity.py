"""Stable lead ids: the same person always lands on the same workflow.

The id is a keyed hash (HMAC-SHA256) of the normalised email, so it is stable across forms,
imports and events, yet reveals nothing: neither the address nor a guessable unkeyed hash
ends up in workflow ids, search attributes or URLs. A CRM id, when given, wins.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from nurture.domain.models import normalise_email

__all__ = ["lead_id_for", "workflow_id_for"]

_CRM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def lead_id_for(email: str, key: bytes, crm_id: str | None = None) -> str:
    """The lead id for a person: ``crm-<crm_id>`` when a CRM id is known, else a keyed hash.

    Args:
        email: the address as typed; it is normalised here.
        key: the deployment's secret (``NURTURE_ID_KEY``); changing it re-keys every lead.
        crm_id: the CRM's own id for the person, if the CRM owns identity.
    """
    if crm_id is not None:
        if not _CRM_ID.match(crm_id):
            raise ValueError("crm_id must be 1-64 letters, digits, '_' or '-'")
        return f"crm-{crm_id}"
    if not key:
        raise ValueError("the lead id key must not be empty")
    digest = hmac.new(key, normalise_email(email).encode(), hashlib.sha256).hexdigest()
    return digest[:32]


def workflow_id_for(lead_id: str) -> str:
    """The Temporal workflow id of a lead's lifecycle."""
    return f"lead-{lead_id}"
