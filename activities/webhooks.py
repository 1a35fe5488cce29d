"""The outbound webhooks' activity: post one event to one subscription, signed.

Signed as nurture's inbound webhooks are (``X-Nurture-Timestamp``, ``X-Nurture-Signature``
over ``"<timestamp>." + body``, with the subscription's secret), stamped anew on every
attempt so a receiver's five-minute window holds, with the idempotency key in
``X-Nurture-Delivery``. A 2xx is delivered. A 408, a 429, a 5xx, a timeout or a broken
connection is a failed attempt, tried again by Temporal; any other answer (a 4xx, a
redirect) is a refusal, final. Each error carries the attempt number, for the dead letter.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from nurture.domain.signing import signature
from nurture.domain.webhooks import Delivery, WebhookSubscription, event_of, payload

__all__ = ["WebhookActivities"]

_TRANSIENT = frozenset({408, 429})
"""Client errors that say "later", not "never"."""


class WebhookActivities:
    """The delivery activity, with the subscriptions and their secrets."""

    def __init__(
        self,
        subscriptions: Mapping[str, WebhookSubscription],
        secrets: Mapping[str, bytes],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._subscriptions = dict(subscriptions)
        self._secrets = dict(secrets)
        self._http = httpx.AsyncClient(transport=transport, follow_redirects=False)

    def activities(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for ``Worker(activities=...)``."""
        return [self.deliver_webhook]

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    @activity.defn(name="deliver_webhook")
    async def deliver_webhook(self, delivery: Delivery) -> None:
        """Post ``delivery``; raise to have it tried again, or refused for good."""
        attempt = activity.info().attempt
        subscription = self._subscriptions.get(delivery.subscription)
        if subscription is None:
            raise ApplicationError(
                f"no [webhooks.{delivery.subscription}] in the configuration any more",
                attempt,
                non_retryable=True,
            )
        try:
            response = await self._http.post(
                subscription.url,
                content=(body := _body(delivery)),
                headers=self._headers(delivery, body),
                timeout=subscription.timeout,
            )
        except httpx.TimeoutException as exc:
            raise ApplicationError(f"no answer within {subscription.timeout:g} s", attempt) from exc
        except httpx.TransportError as exc:
            raise ApplicationError(f"could not post: {exc!r}", attempt) from exc
        _judge(response, attempt)

    def _headers(self, delivery: Delivery, body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time()))
        secret = self._secrets[delivery.subscription]
        return {
            "Content-Type": "application/json",
            "User-Agent": "nurture-webhooks",
            "X-Nurture-Timestamp": timestamp,
            "X-Nurture-Signature": signature(secret, timestamp, body),
            "X-Nurture-Delivery": delivery.key,
            "X-Nurture-Event": str(event_of(delivery.fact.kind)),
        }


def _body(delivery: Delivery) -> bytes:
    return json.dumps(payload(delivery), separators=(",", ":"), sort_keys=True).encode()


def _judge(response: httpx.Response, attempt: int) -> None:
    """Return on a 2xx; raise a retryable error on a transient answer, a final one else."""
    status = response.status_code
    if 200 <= status < 300:
        return
    message = f"HTTP {status} {response.reason_phrase}".strip()
    if status >= 500 or status in _TRANSIENT:
        raise ApplicationError(message, attempt)
    raise ApplicationError(message, attempt, non_retryable=True)
