"""Lists of leads from Temporal visibility: one list query over the leads' search
attributes, a page at a time.

The query is built from validated filters only (see ``nurture.domain.lead.listing``), and
every value is checked again as it goes in: a value that could end a quoted string never
reaches the query, whatever a future filter forgets to validate.

A page token is the server's own, prefixed with a digest of the query it belongs to: a
token from another list, mangled or made up is refused here at once (the server would
only fail on it, after retrying, with an unknown error).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

from temporalio.client import Client, WorkflowExecution
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

from nurture.domain.identity import workflow_id_for
from nurture.domain.lead.listing import MAX_PAGE_SIZE, LeadFilters, LeadPage, LeadRow
from nurture.domain.lifecycle import Condition, Stage
from nurture.domain.scoring import Grade, Heat
from nurture.domain.sequences.dryrun import RunningLead
from nurture.errors import NurtureError
from workflows import search_attributes as sa

__all__ = [
    "InvalidPageToken",
    "ListRefused",
    "lead_query",
    "list_leads",
    "running_lead",
    "running_leads",
]

_LEAD_PREFIX = workflow_id_for("")
_SAFE_VALUE = re.compile(r"[A-Za-z0-9_.:+-]+")
"""What a quoted value may hold: no quote, backslash or space, so it cannot close its
string or start a clause."""


class InvalidPageToken(NurtureError):
    """A page token that is not one a list gave (or one the server no longer knows)."""

    def __init__(self) -> None:
        super().__init__(
            "not a page token this list gave (with the same filters); start again without one"
        )


class ListRefused(NurtureError):
    """The server cannot run the list query: most likely a search attribute it does not
    know (registered by ``nurture setup``), so asking again will not help."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"Temporal cannot list leads ({reason}); register nurture's search attributes "
            "on its namespace with `nurture setup`"
        )


def lead_query(filters: LeadFilters) -> str:
    """The visibility query for the open leads matching ``filters``: running lead
    workflows only (the latest run of each; sequences are other workflows)."""
    clauses = ["WorkflowType = 'LeadWorkflow'", "ExecutionStatus = 'Running'"]
    equal: list[tuple[SearchAttributeKey[Any], str | None]] = [
        (sa.STAGE, filters.stage),
        (sa.GRADE, filters.grade),
        (sa.OWNER, filters.owner),
        (sa.SEQUENCE, filters.sequence),
    ]
    clauses += [f"{key.name} = {_quoted(value)}" for key, value in equal if value is not None]
    if filters.unowned is not None:
        clauses.append(f"{sa.OWNER.name} {'IS NULL' if filters.unowned else 'IS NOT NULL'}")
    if filters.min_score is not None:
        clauses.append(f"{sa.SCORE.name} >= {int(filters.min_score)}")
    if filters.next_touch_before is not None:
        moment = filters.next_touch_before.astimezone(UTC).isoformat()
        clauses.append(f"{sa.NEXT_TOUCH.name} < {_quoted(moment)}")
    return " AND ".join(clauses)


def _quoted(value: str) -> str:
    if not _SAFE_VALUE.fullmatch(value):
        raise ValueError(f"{value!r} cannot go into a visibility query")
    return f"'{value}'"


async def list_leads(
    client: Client, filters: LeadFilters, page_size: int, page_token: str | None
) -> LeadPage:
    """One page of the open leads matching ``filters``, at most ``page_size`` rows (capped
    at ``MAX_PAGE_SIZE``), from ``page_token`` (``None``: the first page)."""
    size = max(1, min(page_size, MAX_PAGE_SIZE))
    query = lead_query(filters)
    token = _decoded(page_token, query) if page_token is not None else None
    listing = client.list_workflows(query, page_size=size, next_page_token=token)
    try:
        await listing.fetch_next_page()
    except RPCError as exc:
        if exc.status != RPCStatusCode.INVALID_ARGUMENT:
            raise
        if token is not None:
            raise InvalidPageToken from exc  # a token of ours the server no longer takes
        raise ListRefused(exc.message) from exc
    rows = tuple(_row(execution) for execution in listing.current_page or ())
    return LeadPage(leads=rows, next_page_token=_encoded(listing.next_page_token, query))


def _row(execution: WorkflowExecution) -> LeadRow:
    found = execution.typed_search_attributes
    return LeadRow(
        lead_id=execution.id.removeprefix(_LEAD_PREFIX),
        stage=found.get(sa.STAGE),
        score=found.get(sa.SCORE),
        grade=found.get(sa.GRADE),
        temperature=found.get(sa.TEMPERATURE),
        owner=found.get(sa.OWNER),
        sequence=found.get(sa.SEQUENCE),
        next_touch_at=found.get(sa.NEXT_TOUCH),
        last_activity_at=found.get(sa.LAST_ACTIVITY),
        accept_by=found.get(sa.ACCEPT_BY),
    )


async def running_leads(
    client: Client, page_size: int = 1000, advance: Callable[[int], None] | None = None
) -> list[RunningLead]:
    """Every running lead with what its search attributes say of it (a lead whose first
    form is not applied yet publishes no stage and is left out: no rule reads it yet).
    ``advance`` is told how many leads each page brought."""
    query = lead_query(LeadFilters())
    found: list[RunningLead] = []
    try:
        async for execution in client.list_workflows(query, page_size=page_size):
            lead = _running(execution)
            if lead is not None:
                found.append(lead)
            if advance is not None:
                advance(1)
    except RPCError as exc:
        if exc.status != RPCStatusCode.INVALID_ARGUMENT:
            raise
        raise ListRefused(exc.message) from exc
    return found


def _running(execution: WorkflowExecution) -> RunningLead | None:
    values = {pair.key.name: pair.value for pair in execution.typed_search_attributes}
    return running_lead(execution.id.removeprefix(_LEAD_PREFIX), values)


def running_lead(lead_id: str, values: Mapping[str, Any]) -> RunningLead | None:
    """A running lead from its search attributes by name (``None`` for a lead whose first
    form is not applied yet: it publishes no stage, and no rule reads it yet)."""
    stage = values.get(sa.STAGE.name) or ""
    if stage not in Stage.__members__.values():
        return None
    status = values.get(sa.MAIL_STATUS.name) or "ok"
    conditions = [c for c in status.split(",") if c in Condition.__members__.values()]
    grade, heat = values.get(sa.GRADE.name) or "", values.get(sa.TEMPERATURE.name) or ""
    return RunningLead(
        lead_id=lead_id,
        stage=Stage(stage),
        conditions=tuple(Condition(c) for c in conditions),
        buying_stage=values.get(sa.BUYING_STAGE.name),
        source=values.get(sa.SOURCE.name),
        score=values.get(sa.SCORE.name) or 0,
        grade=Grade(grade) if grade in Grade.__members__.values() else Grade.C,
        temperature=Heat(heat) if heat in Heat.__members__.values() else Heat.COLD,
        last_activity_at=values.get(sa.LAST_ACTIVITY.name),
        sequence=values.get(sa.SEQUENCE.name),
    )


_DIGEST_SIZE = 8


def _digest(query: str, token: bytes) -> bytes:
    return hashlib.blake2b(query.encode() + b"\0" + token, digest_size=_DIGEST_SIZE).digest()


def _encoded(token: bytes | None, query: str) -> str | None:
    if not token:
        return None
    return base64.urlsafe_b64encode(_digest(query, token) + token).decode().rstrip("=")


def _decoded(text: str, query: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidPageToken from exc
    digest, token = raw[:_DIGEST_SIZE], raw[_DIGEST_SIZE:]
    if not token or not hmac.compare_digest(digest, _digest(query, token)):
        raise InvalidPageToken
    return token
