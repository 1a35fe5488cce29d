"""The delivery activity: what it posts and signs, and which answers it takes as delivered,
to be tried again, or refused for good."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import WebhookActivities
from nurture.domain.factlog import Fact, fact_id
from nurture.domain.signing import signature
from nurture.domain.webhooks import Delivery, WebhookSubscription

SECRET = b"crm-secret"
FACT = Fact(
    id=fact_id("L1", "sales_action", "h1", "accepted"),
    lead_id="L1",
    kind="sales_action",
    at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
    data={"handoff": 1, "action": "accepted", "actor": "rep@example.com"},
)
DELIVERY = Delivery(subscription="crm", fact=FACT, sequence=7, give_up_after=timedelta(days=1))
SUBSCRIPTION = WebhookSubscription(
    url="https://crm.example.com/in", secret_env="CRM_SECRET", events=("sales_action",)
)


async def deliver(
    answer: httpx.Response | Exception, delivery: Delivery = DELIVERY
) -> list[httpx.Request]:
    """Run the activity against a transport giving ``answer``; the requests it saw."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    activities = WebhookActivities(
        {"crm": SUBSCRIPTION}, {"crm": SECRET}, httpx.MockTransport(handler)
    )
    try:
        await ActivityEnvironment().run(activities.deliver_webhook, delivery)
    finally:
        await activities.close()
    return seen


class TestPosted:
    """The body is the thin payload, signed as inbound webhooks are, with its key."""

    async def test_signed_body_and_headers(self) -> None:
        [request] = await deliver(httpx.Response(204))
        body = request.content
        timestamp = request.headers["x-nurture-timestamp"]
        assert abs(int(timestamp) - time.time()) < 5
        assert request.headers["x-nurture-signature"] == signature(SECRET, timestamp, body)
        assert request.headers["x-nurture-delivery"] == f"crm:{FACT.id}"
        assert request.headers["x-nurture-event"] == "sales_action"
        assert json.loads(body) == {
            "id": f"crm:{FACT.id}",
            "subscription": "crm",
            "event": "sales_action",
            "kind": "sales_action",
            "lead_id": "L1",
            "occurred_at": "2026-11-30T09:00:00+00:00",
            "sequence": 7,
            "data": {"handoff": 1, "action": "accepted", "actor": "rep@example.com"},
        }


class TestAnswers:
    """408, 429, 5xx and network failures are tried again; other 4xx and 3xx are final."""

    @pytest.mark.parametrize("status", [408, 429, 500, 503])
    async def test_transient(self, status: int) -> None:
        with pytest.raises(ApplicationError) as caught:
            await deliver(httpx.Response(status))
        assert not caught.value.non_retryable
        assert str(status) in str(caught.value) and caught.value.details == (1,)

    @pytest.mark.parametrize("status", [301, 400, 401, 404, 410, 422])
    async def test_final(self, status: int) -> None:
        with pytest.raises(ApplicationError) as caught:
            await deliver(httpx.Response(status))
        assert caught.value.non_retryable

    @pytest.mark.parametrize("failure", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
    async def test_network(self, failure: Exception) -> None:
        with pytest.raises(ApplicationError) as caught:
            await deliver(failure)
        assert not caught.value.non_retryable

    async def test_subscription_gone_is_final(self) -> None:
        gone = DELIVERY.model_copy(update={"subscription": "old"})
        with pytest.raises(ApplicationError, match=r"no \[webhooks\.old\]") as caught:
            await deliver(httpx.Response(200), gone)
        assert caught.value.non_retryable
