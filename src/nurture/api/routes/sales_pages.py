"""``/s/lead/{token}``: the page a sales rep opens from the alert, and its buttons.

No API key, no login: the link's signed token names the rep and the lead and expires
(``services.rep_desk``). The page shows who the lead is, the score and why, what the lead
did lately, the emails sent, the sales log and the deadline; its buttons are the actions
allowed now, each a POST carrying an anti-forgery field, applied through the same update
as the API (a double click applies once: both posts carry the id the page was served
with). After an action the browser is sent back to the page (303), so a reload never
repeats it.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from nurture.adapters.factlog import FactStore
from nurture.adapters.links.links import rep_desk_path
from nurture.adapters.links.tokens import TokenError, TokenExpired
from nurture.adapters.temporal.gateway import (
    ActionRefused,
    LeadGateway,
    LeadNotFound,
    LeadPending,
)
from nurture.api.bodies import UndecodableField, UnsupportedCharset, form_fields
from nurture.api.deps import ApiContext, get_context, get_fact_store, get_gateway, rate_limited
from nurture.api.pages import Token
from nurture.domain.lead.view import LeadView
from nurture.domain.sales.handoff import open_handoff
from nurture.domain.sales.records import RETURN_REASONS, SalesAction
from nurture.domain.sales.routing import Rep, SalesTeam
from nurture.services.rep_desk import (
    ACTIONS,
    ACTIVITY_KINDS,
    RepAccess,
    check_form_token,
    form_token,
    in_pool,
    offered_actions,
    read_access,
    recent_activity,
    why_not_entitled,
)

__all__ = [
    "Problem",
    "over_capacity",
    "page_language_of",
    "posted_form",
    "problem_page",
    "rep_access",
    "router",
]

router = APIRouter(
    prefix="/s", tags=["sales pages"], dependencies=[Depends(rate_limited("sales-pages"))]
)

_RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid link"},
    404: {"description": "The lead no longer exists"},
    410: {"description": "Expired link"},
}


_PENDING_TRIES = 10
_PENDING_WAIT = 0.2
"""A lead between two runs is asked again this often, this many seconds apart."""


class Problem(Exception):
    """A page that says what went wrong, in the rep's language, and changes nothing."""

    def __init__(self, status: int, key: str, **values: object) -> None:
        self.status, self.key, self.values = status, key, values


@router.get("/lead/{token}", response_class=HTMLResponse, responses=_RESPONSES)
async def lead_page(
    token: Token,
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
    facts: Annotated[FactStore, Depends(get_fact_store)],
    done: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    """The lead as its rep needs it, with the buttons of the actions allowed now."""
    try:
        access = rep_access(context, token)
        view = await _view(gateway, access)
    except Problem as problem:
        return problem_page(context, request, problem)
    notice = ("ok", f"rep.done.{done}") if done in ACTIONS else None
    return await _render(context, request, token, access, view, facts, notice)


@router.post("/lead/{token}", response_class=HTMLResponse, responses=_RESPONSES)
async def act_from_page(
    token: Token,
    request: Request,
    context: Annotated[ApiContext, Depends(get_context)],
    gateway: Annotated[LeadGateway, Depends(get_gateway)],
    facts: Annotated[FactStore, Depends(get_fact_store)],
) -> Response:
    """Apply one button's action; a refusal shows the page again with its reason."""
    access: RepAccess | None = None
    try:
        access = rep_access(context, token)
        fields = await posted_form(request, context, token)
        view = await _view(gateway, access)
        action = await _action_of(fields, view, access, gateway)
        await gateway.act(view.lead_id, action)
    except ActionRefused as exc:
        return await _refused(context, request, token, access, gateway, facts, str(exc))
    except LeadNotFound:
        return problem_page(context, request, Problem(404, "rep.gone"))
    except Problem as problem:
        return problem_page(context, request, problem)
    except _Refused as refused:
        return await _refused(context, request, token, access, gateway, facts, refused.reason)
    return RedirectResponse(f"{request.url.path}?done={action.action}", status_code=303)


async def _refused(
    context: ApiContext,
    request: Request,
    token: str,
    access: RepAccess | None,
    gateway: LeadGateway,
    facts: FactStore,
    reason: str,
) -> HTMLResponse:
    """The page again, saying why the action was not taken (nothing was recorded)."""
    assert access is not None
    try:
        view = await _view(gateway, access)
    except Problem as problem:
        return problem_page(context, request, problem)
    notice = ("refused", reason)
    return await _render(context, request, token, access, view, facts, notice, 409)


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _team(context: ApiContext) -> SalesTeam:
    assert context.sales_team is not None
    return context.sales_team.current()


def rep_access(context: ApiContext, token: str, desk: bool = False) -> RepAccess:
    try:
        return read_access(context.signer, token, _team(context), datetime.now(UTC), desk)
    except TokenExpired as exc:
        raise Problem(410, "rep.expired") from exc
    except TokenError as exc:
        raise Problem(400, "rep.invalid") from exc


async def _view(gateway: LeadGateway, access: RepAccess) -> LeadView:
    """The lead's view; a lead between two runs (continuing as new, or its first form not
    applied yet) answers in a moment, so it is asked again for a little while."""
    assert access.lead_id is not None
    for _ in range(_PENDING_TRIES):
        try:
            return await gateway.get_lead(access.lead_id)
        except LeadPending:
            await asyncio.sleep(_PENDING_WAIT)
        except LeadNotFound as exc:
            raise Problem(404, "rep.gone") from exc
    raise Problem(503, "rep.pending")


async def posted_form(request: Request, context: ApiContext, token: str) -> dict[str, str]:
    """The posted fields, once the post proves it came from a page served for this link
    (a cross-site post, or a page older than its form token, changes nothing)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise Problem(403, "rep.forged")
    try:
        fields = form_fields(request.headers.get("content-type", ""), await request.body())
    except (UnsupportedCharset, UndecodableField) as exc:
        raise Problem(400, "rep.forged") from exc
    try:
        check_form_token(context.signer, token, fields.get("csrf", ""), datetime.now(UTC))
    except TokenExpired as exc:
        raise Problem(403, "rep.stale") from exc
    except TokenError as exc:
        raise Problem(403, "rep.forged") from exc
    return fields


async def _action_of(
    fields: dict[str, str], view: LeadView, access: RepAccess, gateway: LeadGateway
) -> SalesAction:
    """The action the button asks for, if the link's holder may take it, or
    :class:`_Refused`. The lead's own rules (say, "already accepted") are the workflow's:
    it answers a repeated click (same ``action_id``) as it answered the first."""
    name = fields.get("action", "").replace("-", "_")
    if name not in ACTIONS:
        raise _Refused(f"unknown action {name!r}")
    refused = why_not_entitled(view, access, name)
    if refused is None and access.rep is not None and name == "accept" and in_pool(view):
        refused = await over_capacity(gateway, access.rep)
    if refused is not None:
        raise _Refused(refused)
    try:
        return SalesAction.model_validate(
            {
                "action": name,
                "actor": access.actor,
                "reason": fields.get("reason") or None,
                "note": fields.get("note") or None,
                "revisit_after": fields.get("revisit_after") or None,
                "action_id": fields.get("action_id") or None,
            }
        )
    except ValidationError as exc:
        raise _Refused("; ".join(_sentence(e) for e in exc.errors())) from exc


async def over_capacity(gateway: LeadGateway, rep: Rep) -> str | None:
    """Why ``rep`` may not take one more lead from the pool, if they are full."""
    open_now = (await gateway.open_leads()).get(rep.id, 0)
    if open_now < rep.capacity:
        return None
    return f"you have {open_now} open leads, your capacity is {rep.capacity}"


def _sentence(error: Any) -> str:
    field = ".".join(str(p) for p in error.get("loc", ()) if p != "__root__")
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{field}: {message}" if field else message


async def _render(
    context: ApiContext,
    request: Request,
    token: str,
    access: RepAccess,
    view: LeadView,
    facts: FactStore,
    notice: tuple[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = datetime.now(UTC)
    lang = page_language_of(context, request)
    handoff = open_handoff(view.handoffs)
    activity = await recent_activity(facts.read(kinds=ACTIVITY_KINDS, lead_ids=[view.lead_id]))
    return context.pages.render(
        "rep/lead.html",
        lang,
        status_code,
        zone=access.rep.timezone if access.rep else None,
        view=view,
        access=access,
        handoff=handoff,
        late=bool(handoff and handoff.accept_by and handoff.accept_by < now),
        activity=activity,
        actions=offered_actions(view, access),
        reasons=RETURN_REASONS,
        csrf=form_token(context.signer, token, now),
        desk=_desk_path(context, access, now),
        action_id=uuid.uuid4().hex,
        notice=notice,
        labels={name: f.label for name, f in context.project.fields.items() if f.label},
    )


def _desk_path(context: ApiContext, access: RepAccess, now: datetime) -> str | None:
    """A rep's way from a lead to all their leads (the manager has none), expiring no
    later than the link the page was opened with."""
    if access.rep is None:
        return None
    expires = access.links_expire(now, context.rep_link_validity)
    return rep_desk_path(context.signer, access.rep.id, expires)


def page_language_of(context: ApiContext, request: Request) -> str:
    """The rep's language: their browser's, else the project's."""
    return context.pages.language(None, request.headers.get("accept-language"))


def problem_page(context: ApiContext, request: Request, problem: Problem) -> HTMLResponse:
    """The page saying what went wrong (nothing was changed), in the rep's language."""
    lang = page_language_of(context, request)
    return context.pages.render(
        "rep/problem.html", lang, problem.status, key=problem.key, values=problem.values
    )
