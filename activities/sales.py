"""Sales hand-off activities: ask the router, tell the router (claims, releases), ping a
webhook, load the team."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from nurture.adapters.links.links import Links
from nurture.config.files import load_sales_team
from nurture.config.watched import Watched
from nurture.domain.sales.records import Assignment, WebhookMessage
from nurture.domain.sales.router import (
    AssignRequest,
    ClaimRequest,
    ReleaseRequest,
    RouteRequest,
    RouterInput,
    router_workflow_id,
)
from nurture.domain.sales.routing import SalesTeam

__all__ = ["SalesActivities"]


class SalesActivities:
    """Activities of the hand-off, with the client, task queue and team file they need.

    The team file is loaded when this is made: a broken one is refused here (a
    :class:`ConfigError` naming file and line); later breakage keeps the last good team."""

    def __init__(
        self, client: Client, task_queue: str, team_file: Path, links: Links | None = None
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._links = links
        """Signs the lead's link in webhook messages (left as it is without)."""
        self._team = Watched(lambda: load_sales_team(team_file), team_file)
        self._team.prime()

    def activities(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for ``Worker(activities=...)``."""
        return [
            self.load_sales_team,
            self.assign_owner,
            self.claim_owner,
            self.release_owner,
            self.notify_webhook,
        ]

    def team(self) -> SalesTeam:
        """``config/sales.toml``, re-read when it changes (the last good team while broken)."""
        return self._team.current()

    @activity.defn(name="load_sales_team")
    async def load_sales_team(self) -> SalesTeam:
        """The team, for lead runs that began before ``current_config``."""
        return self.team()

    @activity.defn(name="assign_owner")
    async def assign_owner(self, request: AssignRequest) -> Assignment:
        """Ask the router (starting it if needed) who gets the lead."""
        from workflows.router import RouterWorkflow

        team = self.team()
        router = await self._router()
        decision = await router.execute_update(
            RouterWorkflow.assign, RouteRequest(request=request, team=team), id=request.key
        )
        rep = team.rep(decision.rep_id) if decision.rep_id else None
        return Assignment(
            rep_id=decision.rep_id,
            rep_name=rep.name if rep else None,
            rep_email=str(rep.email) if rep else None,
            manager_email=str(rep.manager or team.manager) if rep else str(team.manager),
            reason=decision.reason,
        )

    @activity.defn(name="claim_owner")
    async def claim_owner(self, request: ClaimRequest) -> None:
        """Tell the router a rep took a lead from the pool."""
        from workflows.router import RouterWorkflow

        router = await self._router()
        await router.execute_update(RouterWorkflow.claim, request, id=request.key)

    @activity.defn(name="release_owner")
    async def release_owner(self, request: ReleaseRequest) -> None:
        """Tell the router a rep's open lead is closed."""
        from workflows.router import RouterWorkflow

        router = await self._router()
        await router.execute_update(RouterWorkflow.release, request, id=request.key)

    def _posted(self, message: WebhookMessage) -> str:
        """The message as posted: its link to the lead signed (read-only), if it has one."""
        text = json.dumps(message.model_dump(exclude={"lead_id", "app_url"}))
        if self._links is None or not message.lead_id or not message.app_url:
            return text
        plain = f"{message.app_url.rstrip('/')}/v1/leads/{message.lead_id}"
        signed = self._links.rep_lead_url(message.app_url, None, message.lead_id, datetime.now(UTC))
        return text.replace(json.dumps(plain)[1:-1], json.dumps(signed)[1:-1])

    async def _router(self) -> WorkflowHandle[Any, Any]:
        """The router's handle, started if it is not running (a no-op if it is)."""
        from workflows.router import RouterWorkflow

        return await self._client.start_workflow(
            RouterWorkflow.run,
            RouterInput(),
            id=router_workflow_id(self._task_queue),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    @activity.defn(name="notify_webhook")
    async def notify_webhook(self, message: WebhookMessage) -> None:
        """POST the message to the team's webhook, if one is configured."""
        team = self.team()
        if team.webhook_url is None:
            return
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                str(team.webhook_url),
                content=self._posted(message),
                headers={"Content-Type": "application/json"},
            )
        if response.status_code >= 500 or response.status_code == 429:
            raise RuntimeError(f"webhook answered {response.status_code}; retrying")
        if response.status_code >= 400:
            raise ApplicationError(
                f"webhook refused the message: {response.status_code}", non_retryable=True
            )
