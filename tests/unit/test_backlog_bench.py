"""The back-pressure benchmark's project configuration: valid, always open, a quick campaign."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

from bench.backlog import campaign_config
from nurture.config.files import load_project_config


class TestCampaignConfig:
    """The shipped configuration, but every email can leave at any hour, and the campaign
    form's welcome email is due seconds after its thank-you."""

    def test_loads_always_open_with_a_quick_campaign(self, tmp_path: Path) -> None:
        project = load_project_config(campaign_config(tmp_path, 12))
        window = project.sending.window
        assert window.days == frozenset(range(1, 8))
        assert (window.start, window.quiet, window.holidays) == (time(0), (), frozenset())
        assert project.forms["campaign"].second_conversion_delay == timedelta(seconds=12)
        assert project.forms["campaign"].related
        assert "white-paper" in project.forms
