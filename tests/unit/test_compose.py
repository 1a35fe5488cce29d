"""docker-compose.yml parses, pins its images and agrees with the settings the code reads."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from pydantic_settings import BaseSettings

from nurture.config.settings import ApiSettings, Settings, SmtpSettings, TemporalSettings
from tests.helpers import ROOT

NURTURE_SERVICES = ("nurture-setup", "worker", "api")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def known_variables() -> set[str]:
    names: set[str] = set()
    classes: tuple[type[BaseSettings], ...] = (
        Settings,
        TemporalSettings,
        SmtpSettings,
        ApiSettings,
    )
    for cls in classes:
        prefix = str(cls.model_config.get("env_prefix", ""))
        names |= {f"{prefix}{name}".upper() for name in cls.model_fields}
    return names


def resolved(env: dict[str, str]) -> dict[str, str]:
    """``${X:?msg}`` and ``${X:-default}`` as compose would give them, with X unset."""

    def sub(value: str) -> str:
        return re.sub(
            r"\$\{(\w+):([?-])([^}]*)\}",
            lambda m: m.group(3) if m.group(2) == "-" else f"dummy-{m.group(1)}",
            value,
        )

    return {k: sub(str(v)) for k, v in env.items()}


class TestCompose:
    """The production stack is complete, pinned and consistent with the code."""

    def test_services_present(self, compose: dict[str, Any]) -> None:
        """Postgres, Temporal, its UI, Mailpit, setup, worker and API."""
        assert {"postgresql", "temporal", "temporal-ui", "mailpit", *NURTURE_SERVICES} <= set(
            compose["services"]
        )

    def test_images_pinned(self, compose: dict[str, Any]) -> None:
        """Every image has an explicit version tag, never latest."""
        for name, service in compose["services"].items():
            image = service["image"]
            tag = image.rpartition(":")[2] if ":" in image else ""
            assert tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {image} unpinned"

    def test_dependencies_exist(self, compose: dict[str, Any]) -> None:
        """depends_on only names services of this file."""
        services = set(compose["services"])
        for name, service in compose["services"].items():
            assert set(service.get("depends_on", [])) <= services, name

    @pytest.mark.parametrize("service", NURTURE_SERVICES)
    def test_variables_are_settings(self, compose: dict[str, Any], service: str) -> None:
        """Every variable given to a nurture container is a setting the code reads."""
        env = compose["services"][service]["environment"]
        assert set(env) <= known_variables(), set(env) - known_variables()

    @pytest.mark.parametrize("service", NURTURE_SERVICES)
    def test_settings_validate(
        self, compose: dict[str, Any], service: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The values parse as settings (ports are ports, the ledger URL is supported)."""
        for name, value in resolved(compose["services"][service]["environment"]).items():
            monkeypatch.setenv(name, value)
        settings = Settings()
        assert settings.ledger_url.startswith("postgresql://")
        assert settings.smtp.port == 1025

    def test_addresses_point_at_services(self, compose: dict[str, Any]) -> None:
        """Temporal, SMTP and the ledger URL name this file's services and credentials."""
        services = compose["services"]
        env = resolved(services["worker"]["environment"])
        host, port = env["TEMPORAL_ADDRESS"].split(":")
        assert host == "temporal" and f"{port}:{port}" in services["temporal"]["ports"]
        assert env["SMTP_HOST"] == "mailpit"
        assert any(p.endswith(f":{env['SMTP_PORT']}") for p in services["mailpit"]["ports"])
        db = urlparse(env["NURTURE_LEDGER_URL"])
        pg = services["postgresql"]["environment"]
        assert db.hostname == "postgresql"
        assert (db.username, db.password, db.path.lstrip("/")) == (
            pg["POSTGRES_USER"],
            pg["POSTGRES_PASSWORD"],
            pg["POSTGRES_DB"],
        )
        assert services["temporal"]["environment"]["POSTGRES_SEEDS"] == "postgresql"

    def test_api_listens_on_its_published_port(self, compose: dict[str, Any]) -> None:
        """The API binds all interfaces on the port compose publishes."""
        api = compose["services"]["api"]
        env = resolved(api["environment"])
        assert env["NURTURE_API_HOST"] == "0.0.0.0"
        assert f"{env['NURTURE_API_PORT']}:{env['NURTURE_API_PORT']}" in api["ports"]

    def test_secrets_required(self, compose: dict[str, Any]) -> None:
        """The id key and API keys must be given: compose refuses to start without them."""
        env = compose["services"]["worker"]["environment"]
        assert env["NURTURE_ID_KEY"].startswith("${NURTURE_ID_KEY:?")
        assert env["NURTURE_API_KEYS"].startswith("${NURTURE_API_KEYS:?")

    def test_image_runs_the_worker(self) -> None:
        """The Dockerfile installs the project and runs worker.py by default."""
        dockerfile = (ROOT / "Dockerfile").read_text()
        assert 'CMD ["python", "worker.py"]' in dockerfile
        for folder in ("src", "workflows", "activities", "config", "templates"):
            assert f"COPY {folder} ./{folder}" in dockerfile
