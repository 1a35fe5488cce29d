"""A configuration file broken while the worker runs never stops a lead."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import cast

import pytest
from temporalio.client import Client

from activities import ConfigActivities, SalesActivities
from nurture.config.files import load_scoring_model
from nurture.config.watched import Watched
from nurture.domain.config import ConfigCatalog
from nurture.domain.scoring import ScoringModel
from nurture.errors import ConfigError
from nurture.testing import MemoryConfigStore
from tests.configfiles import break_file, copy_project

NO_CLIENT = cast(Client, None)
"""Loading the sales team never touches the Temporal client."""
BROKEN_POINTS = ("points = 2\ncap = 20", 'points = "two"\ncap = 20')


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Copies of the shipped configuration files, to break."""
    return copy_project(tmp_path) / "config"


def config_activities(config: Path, sales: SalesActivities) -> ConfigActivities:
    """The config activities of the files in ``config``, with a catalog of their own."""
    return ConfigActivities(
        config / "scoring.toml",
        config / "nurture.toml",
        sales.team,
        MemoryConfigStore(),
        ConfigCatalog(),
    )


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


class TestLastGoodVersion:
    """A broken file is logged once per broken version, and the last good one is served."""

    def test_broken_then_fixed(self, config: Path, caplog: pytest.LogCaptureFixture) -> None:
        """Broken: the previous model, one ERROR naming file and line however often it is
        asked for; broken differently: one more; fixed: the new model, and it is said."""
        path = config / "scoring.toml"
        watched = Watched(lambda: load_scoring_model(path), path)
        good = watched.prime()
        line = break_file(path, *BROKEN_POINTS)
        with caplog.at_level(logging.INFO, logger="nurture.config"):
            assert [watched.current() for _ in range(3)] == [good] * 3
            assert len(errors(caplog)) == 1
            assert errors(caplog)[0].startswith(f"{path}:{line}: behaviour.2.points: ")
            assert "its last good version stays in use" in errors(caplog)[0]
            other = break_file(path, "mql = 20", "mql = twenty")
            assert watched.current() == good and watched.current() == good
            assert len(errors(caplog)) == 2 and f"{path}:{other}: " in errors(caplog)[1]
            path.write_text(path.read_text().replace("mql = twenty", "mql = 21"))
            path.write_text(path.read_text().replace('points = "two"', "points = 2"))
            assert watched.current().thresholds.mql == 21
        assert caplog.records[-1].levelno == logging.INFO
        assert caplog.records[-1].getMessage() == f"{path} is valid again: now in use"

    def test_deleted_file(self, config: Path, caplog: pytest.LogCaptureFixture) -> None:
        """A file that disappears is a broken version too: logged once, last good served."""
        path = config / "scoring.toml"
        watched = Watched(lambda: load_scoring_model(path), path)
        good = watched.prime()
        path.unlink()
        with caplog.at_level(logging.ERROR, logger="nurture.config"):
            assert watched.current() == good and watched.current() == good
        (message,) = errors(caplog)
        assert message.startswith(f"{path}: scoring model file not found")

    def test_never_good(self, config: Path) -> None:
        """With no good version ever loaded there is nothing to serve: the activity fails
        (and Temporal retries it), naming file and line."""
        path = config / "scoring.toml"
        line = break_file(path, *BROKEN_POINTS)
        watched = Watched(lambda: load_scoring_model(path), path)
        with pytest.raises(ConfigError, match=f"scoring.toml:{line}: "):
            watched.current()
        with pytest.raises(ConfigError, match=f"scoring.toml:{line}: "):
            watched.prime()


class TestActivities:
    """The config activities start from a good copy of each file and keep it."""

    async def test_every_file_keeps_its_last_good_version(self, config: Path) -> None:
        """Scoring model, sending policy, enrolment rules and sales team all survive their
        file breaking after start, and so does the reference to the whole configuration."""
        sales = SalesActivities(NO_CLIENT, "tq", config / "sales.toml")
        activities = config_activities(config, sales)
        before = (
            await activities.load_scoring_model(),
            await activities.load_sending_policy(),
            await activities.load_enrolment_rules(),
            await sales.load_sales_team(),
            await activities.current_config(),
        )
        for name in ("scoring.toml", "nurture.toml", "sales.toml"):
            (config / name).write_text((config / name).read_text() + "\n[this is = not toml\n")
        after = (
            await activities.load_scoring_model(),
            await activities.load_sending_policy(),
            await activities.load_enrolment_rules(),
            await sales.load_sales_team(),
            await activities.current_config(),
        )
        assert after == before
        assert isinstance(after[0], ScoringModel)

    async def test_project_file_parsed_once_per_change(
        self, config: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The sending policy and the enrolment rules read nurture.toml once, not per call."""
        import activities.config as module

        reads: list[Path] = []

        def counted(path: Path) -> object:
            reads.append(path)
            return load_project(path)

        load_project = module.load_project_config
        monkeypatch.setattr(module, "load_project_config", counted)
        activities = config_activities(
            config, SalesActivities(NO_CLIENT, "tq", config / "sales.toml")
        )
        for _ in range(3):
            await activities.load_sending_policy()
            await activities.load_enrolment_rules()
        assert len(reads) == 1
        path = config / "nurture.toml"
        path.write_text(path.read_text().replace("max_emails = 3", "max_emails = 4"))
        assert (await activities.load_sending_policy()).cap.max_emails == 4
        await activities.load_enrolment_rules()
        assert len(reads) == 2

    def test_a_broken_file_is_refused_at_start(self, config: Path) -> None:
        """Made from a broken file, the activities refuse to exist, naming file and line."""
        line = break_file(config / "sales.toml", "weight = 2", "weight = 0")
        with pytest.raises(ConfigError, match=f"sales.toml:{line}: reps.0.weight: "):
            SalesActivities(NO_CLIENT, "tq", config / "sales.toml")
