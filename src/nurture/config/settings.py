"""Settings from the environment: one class per concern, each with its own prefix.

``TEMPORAL_*`` for the Temporal connection, ``SMTP_*`` for the mail relay, ``NURTURE_*`` for
the rest. Relative paths resolve against ``NURTURE_HOME`` (default: the working directory).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "ApiSettings",
    "DkimSettings",
    "Settings",
    "SmtpSettings",
    "TemporalSettings",
    "WorkerSettings",
]

DEV_ID_KEY = "nurture-dev-id-key-change-me"


class TemporalSettings(BaseSettings):
    """Where the Temporal server is, and how to authenticate to it (Cloud: API key or mTLS)."""

    model_config = SettingsConfigDict(env_prefix="TEMPORAL_", extra="ignore")

    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "nurture"
    api_key: SecretStr | None = None
    tls: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    tls_server_name: str | None = None


class SmtpSettings(BaseSettings):
    """The relay that delivers mail: the local sink in dev, Mailpit or a real relay in prod."""

    model_config = SettingsConfigDict(env_prefix="SMTP_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=1025, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = Field(default=30.0, gt=0)
    ca_file: Path | None = None
    """CA bundle to verify the relay's certificate (an internal CA); default: system roots."""
    pool_size: int = Field(default=4, ge=1, le=100)
    """Connections kept open to the relay and reused (each checked with NOOP first)."""
    max_idle_seconds: float = Field(default=30.0, gt=0)
    helo_name: str | None = None
    """The name sent in EHLO; defaults to this host's FQDN, looked up once."""
    smtputf8: bool = False
    """The relay takes internationalised addresses (SMTPUTF8, RFC 6531): forms then accept
    an address whose part before the @ is not ASCII (``josé@…``); otherwise they refuse it
    with a 422, since no email could reach it."""


class DkimSettings(BaseSettings):
    """Optional DKIM signing by nurture itself (most relays sign for you)."""

    model_config = SettingsConfigDict(env_prefix="NURTURE_DKIM_", extra="ignore")

    selector: str | None = None
    """The selector of the published key (``<selector>._domainkey.<domain>``); signing is
    on when it is set."""
    private_key_file: Path | None = None
    """The PEM private key (RSA, 2048 bits or more)."""
    domain: str | None = None
    """The signing domain; default: the From address's domain."""


class WorkerSettings(BaseSettings):
    """How much a worker process holds and runs at once (see the README's Performance)."""

    model_config = SettingsConfigDict(env_prefix="NURTURE_WORKER_", extra="ignore")

    max_cached_workflows: int = Field(default=1000, ge=0, le=1_000_000)
    """Workflow runs kept in memory between their tasks (about 0.2 MiB each, measured): a
    run evicted is rebuilt from its history when it next has work, which costs CPU, never
    correctness. 0 keeps none."""
    max_concurrent_workflow_tasks: int = Field(default=100, ge=1, le=10_000)
    """Workflow tasks run at once (they share one Python interpreter: more than a few per
    core only queues them in the process rather than at the server)."""
    max_concurrent_activities: int = Field(default=100, ge=1, le=10_000)
    """Activities of the lead task queue (config, sales, facts) run at once; sends are
    bounded by ``SMTP_POOL_SIZE`` on their own queue."""
    sandbox: bool = True
    """Run workflow code in Temporal's sandbox (with nurture's own modules shared, see
    ``nurture.adapters.temporal.runner``). ``false`` runs it directly: less CPU per workflow
    task (measured in the README's Performance), at the price of the sandbox's run-time
    checks, which the test suite and the linter still make."""


class ApiSettings(BaseSettings):
    """The HTTP API."""

    model_config = SettingsConfigDict(env_prefix="NURTURE_API_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    keys: str = ""
    """Comma-separated API keys accepted in the ``X-API-Key`` header:
    ``sha256:<digest>:<scopes>`` entries (``nurture apikey create``), or bare keys in dev."""
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024)
    """Larger request bodies are refused with 413."""
    public_rate: str = "60/minute"
    """Per client address, on the public endpoints (forms, unsubscribe); ``off`` for none."""
    public_burst: int = Field(default=30, ge=1, le=10_000)
    cors_origins: str = ""
    """Comma-separated origins whose pages may post forms from the browser (CORS)."""
    forwarded_allow_ips: str = ""
    """Comma-separated addresses or networks of the proxies in front of the API, whose
    ``X-Forwarded-For`` is believed as uvicorn's ``forwarded_allow_ips`` is: the client is
    the nearest hop not among them. Empty: none; the connection's address is the client's."""

    trust_proxy: bool | None = None
    """Gone (it believed the client-written first hop): set only to be told so at start."""

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        # uvicorn takes a malformed entry for a host name that never matches, and with "*"
        # believes the first hop, which the client writes: refuse both.
        for entry in _entries(value):
            if entry == "*":
                raise ValueError("'*' would believe any client: name the proxies")
            try:
                ipaddress.ip_network(entry)
            except ValueError as exc:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (10.0.0.5, 10.0.0.0/8)"
                ) from exc
        return value

    @field_validator("trust_proxy")
    @classmethod
    def _replaced(cls, value: bool | None) -> None:
        if value is not None:
            raise ValueError(
                "NURTURE_API_TRUST_PROXY is gone: name the proxies in front of the API in "
                "NURTURE_API_FORWARDED_ALLOW_IPS (addresses or networks), and unset it"
            )

    def trusted_proxies(self) -> list[str]:
        """The addresses and networks of ``forwarded_allow_ips``."""
        return _entries(self.forwarded_allow_ips)


def _entries(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class Settings(BaseSettings):
    """Everything a nurture process reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="NURTURE_", extra="ignore")

    home: Path = Path(".")
    config_file: Path = Path("config/nurture.toml")
    scoring_file: Path = Path("config/scoring.toml")
    sales_file: Path = Path("config/sales.toml")
    templates_dir: Path = Path("templates/emails")
    ledger_url: str = "sqlite:///.nurture/ledger.sqlite3"
    id_key: SecretStr = SecretStr(DEV_ID_KEY)
    """Secret for lead ids (HMAC of the email); set a long random value in production."""
    public_url: str = "http://127.0.0.1:8000"
    """Where the API is reachable from the internet: the base of links in emails."""
    outbox_dir: Path | None = None
    """The local SMTP sink's folder (``nurture dev`` sets it), cleaned by erasure too."""
    webhook_secret: SecretStr | None = None
    """Secret of signed mail reports (bounces, complaints) from the sending provider."""
    form_webhook_secret: SecretStr | None = None
    """Secret of signed form posts (a form builder's or a backend's webhook): signed posts
    skip the public rate limit and may pass the visitor's address for the consent record;
    forms with ``signed = true`` take nothing else."""
    soft_bounce_limit: int = Field(default=3, ge=1, le=100)
    """Soft bounces within the window after which an address is suppressed."""
    soft_bounce_window_days: int = Field(default=30, ge=1, le=365)
    unsubscribe_mailbox: str | None = None
    """The mailto of ``List-Unsubscribe``; default ``unsubscribe@`` the sender's domain."""
    max_inbound_per_run: int = Field(default=2000, ge=1)
    rep_link_days: int = Field(default=14, ge=1, le=90)
    """How long the links of mails to sales (a lead's page, the rep's leads) stay valid."""
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    dkim: DkimSettings = Field(default_factory=DkimSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)

    def secret(self) -> bytes:
        """The deployment secret (``NURTURE_ID_KEY``) that keys lead ids, address hashes and
        link tokens, each under its own derived key."""
        return self.id_key.get_secret_value().encode()

    def path(self, value: Path) -> Path:
        """``value`` resolved against ``NURTURE_HOME``."""
        return value if value.is_absolute() else (self.home / value).resolve()
