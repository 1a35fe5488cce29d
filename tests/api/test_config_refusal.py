"""The API refuses to be built on a broken configuration, naming file, line and rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from nurture.api import create_app
from nurture.config.settings import Settings
from nurture.errors import ConfigError
from tests.configfiles import break_file, copy_project


class TestFactoryRefusesBrokenConfiguration:
    """``create_app`` checks every file, not only the one the API reads, before anything
    is connected or opened."""

    def test_broken_scoring_file(self, tmp_path: Path) -> None:
        """A scoring model the API never uses still stops it: a deployment is refused whole."""
        home = copy_project(tmp_path)
        scoring = home / "config" / "scoring.toml"
        line = break_file(scoring, "points = 2\ncap = 20", 'points = "two"\ncap = 20')
        with pytest.raises(ConfigError) as info:
            create_app(Settings(home=home))
        (problem,) = info.value.problems
        assert (problem.file, problem.line, problem.field) == (scoring, line, "behaviour.2.points")
        assert f"{scoring}:{line}: behaviour.2.points: Input should be a valid integer" in str(
            info.value
        )

    def test_unregistered_sequence(self, tmp_path: Path) -> None:
        """A cross-file rule: an enrolment rule naming a sequence nobody registered."""
        home = copy_project(tmp_path)
        project = home / "config" / "nurture.toml"
        line = break_file(project, 'sequence = "decision"', 'sequence = "decisions"')
        with pytest.raises(ConfigError, match=f"nurture.toml:{line}: enrolment.0.sequence: "):
            create_app(Settings(home=home))
