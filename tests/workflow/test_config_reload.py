"""A configuration file broken while the worker runs never stops a lead."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.configfiles import break_file, copy_project
from tests.helpers import persona_lead, submission
from tests.waiting import sent, view_when


class TestBrokenScoringFile:
    """Leads are thanked, and scored on the last good model, while scoring.toml is broken."""

    async def test_thank_you_goes_out_on_the_last_good_model(
        self, harness, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The worker starts on a model where the buying guide is worth 7 points; the file
        is then broken. Two leads post the form: both are thanked at once and get the 7
        points, on one configuration (one snapshot stored), and one ERROR names the
        file, the line and the rule."""
        config = copy_project(tmp_path) / "config"
        scoring = config / "scoring.toml"
        guide = 'match = { content = "buying-guide" }\npoints = '
        break_file(scoring, f"{guide}4", f"{guide}7")  # still valid: the model started on
        async with harness(project_file=config / "nurture.toml", scoring_file=scoring) as h:
            line = break_file(scoring, "points = 2\ncap = 20", 'points = "two"\ncap = 20')
            with caplog.at_level(logging.INFO, logger="nurture.config"):
                for n in (1, 2):
                    lead_id = f"wf-broken-config-{n}"
                    lead = persona_lead(f"ada{n}@globex.example")
                    await h.gateway.submit_form(lead_id, submission(lead, at=await h.now()))
                    view = await view_when(h, lead_id, lambda v: sent(v, "thank_you"))
                    points = {line.label: line.points for line in view.explanation}
                    assert points["Buying guide downloaded"] == 7
        assert h.templates() == ["thank_you", "thank_you"]
        assert len(await h.config_store.all()) == 1
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1
        assert errors[0].name == "nurture.config"
        assert (
            errors[0]
            .getMessage()
            .startswith(f"{scoring}:{line}: behaviour.2.points: Input should be a valid integer")
        )
