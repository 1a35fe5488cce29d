"""The outbound webhooks' subscriptions (``[webhooks.<name>]`` of ``nurture.toml``) with
their signing secrets, read from the environment variables they name.

The file says which variable holds each secret, never the secret (the file is committed,
the environment is not). A variable unset or empty is a configuration error naming the
subscription and the variable: ``nurture config check`` reports it, and the worker and the
API refuse to start on it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

from nurture.config.project import ProjectConfig
from nurture.domain.webhooks import WebhookSubscription
from nurture.errors import ConfigError

__all__ = ["missing_secrets", "webhook_secrets"]


def missing_secrets(
    project: ProjectConfig, environ: Mapping[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """``(subscription, variable)`` for each subscription whose secret is not set."""
    env = os.environ if environ is None else environ
    for name, subscription in project.webhooks.items():
        if not env.get(subscription.secret_env):
            yield name, subscription.secret_env


def webhook_secrets(
    subscriptions: Mapping[str, WebhookSubscription], environ: Mapping[str, str] | None = None
) -> dict[str, bytes]:
    """Each subscription's secret, or :class:`ConfigError` naming the first one unset."""
    env = os.environ if environ is None else environ
    found = {}
    for name, subscription in subscriptions.items():
        value = env.get(subscription.secret_env)
        if not value:
            raise ConfigError(
                f"webhooks.{name}.secret_env: set {subscription.secret_env} in the environment "
                "(the secret the deliveries are signed with)"
            )
        found[name] = value.encode()
    return found
