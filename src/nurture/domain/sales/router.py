"""What the router workflow is asked and answers. Models live outside the workflow module
so the sandbox does not rebuild their schemas for every run."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from nurture.domain.sales.routing import RouterState, RoutingLead, SalesTeam

__all__ = [
    "AssignRequest",
    "ClaimRequest",
    "ReleaseRequest",
    "RouteRequest",
    "RouterInput",
    "router_workflow_id",
]


def router_workflow_id(task_queue: str) -> str:
    """The one router of a deployment (``nurture-router`` on the default task queue): every
    assignment goes through it, one at a time."""
    return f"{task_queue}-router"


class AssignRequest(BaseModel):
    """Pick an owner for one hand-off of one lead."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(min_length=1, max_length=300)
    """Unique per lead, hand-off and attempt: a retried request gets the same answer."""
    lead: RoutingLead
    exclude: tuple[str, ...] = ()


class RouteRequest(BaseModel):
    """What the router's ``assign`` update gets: the request and the team as the activity
    read it. With the team in hand the handler never awaits, so simultaneous requests
    cannot interleave between reading the rotation and writing it."""

    model_config = ConfigDict(frozen=True)

    request: AssignRequest
    team: SalesTeam


class ReleaseRequest(BaseModel):
    """A rep's open lead closed or went back to marketing."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(min_length=1, max_length=300)
    rep_id: str


class ClaimRequest(BaseModel):
    """A rep accepted a lead from the pool: it is one of their open leads now."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(min_length=1, max_length=300)
    rep_id: str


class RouterInput(BaseModel):
    """Start or continue-as-new input of the router."""

    state: RouterState = RouterState()
    answered: dict[str, str | None] = {}
    """Request key → rep id (None for the pool), for the most recent requests."""
    released: list[str] = []
    claimed: list[str] = []
    """Keys of the most recent claims, for deduplication."""
    max_requests_per_run: int = Field(default=1000, ge=1)
    """Continue as new after this many requests even if the server has not suggested it:
    every update adds events, and a run's history stays small whatever the traffic."""
