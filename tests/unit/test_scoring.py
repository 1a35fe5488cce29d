"""Scoring: the article-004 worked example, caps, fit predicates, penalties and errors."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from nurture.config.files import load_scoring_model
from nurture.domain.models import LeadEvent
from nurture.domain.scoring import (
    Grade,
    Heat,
    ScoringModel,
    apply_adjustment,
    apply_inactivity,
    apply_profile,
    grade_for,
    initial_score,
    score_event,
    temperature_for,
)
from nurture.domain.scoring.engine import Score
from nurture.errors import ConfigError
from tests.helpers import SCORING_FILE, T0, event, persona_lead, scoring_model


def run(model: ScoringModel, score: Score, *events: LeadEvent) -> Score:
    for ev in events:
        score = score_event(model, score, ev).score
    return score


class TestArticle004:
    """The shipped model reproduces the three tables of article 004 exactly."""

    def discovery(self) -> tuple[object, Score]:
        model = scoring_model()
        score = apply_profile(model, initial_score(model), persona_lead()).score
        score = run(
            model,
            score,
            event("newsletter_subscribed"),
            event("page_viewed", section="blog"),
            event("page_viewed", section="product"),
        )
        return model, score

    def test_discovery_table_is_10_of_20(self) -> None:
        """Persona +4, newsletter +3, blog +1, product page +2: 10 points of 20."""
        model, score = self.discovery()
        assert score.buying_stage == "discovery"
        assert (score.stage_points, score.total) == (10, 10)
        assert model.stage_named("discovery").advance_at == 20  # type: ignore[attr-defined]
        assert {ln.rule: ln.points for ln in score.lines} == {
            "buyer_persona": 4,
            "newsletter_subscription": 3,
            "blog_visit": 1,
            "product_page_visit": 2,
        }

    def test_moves_to_evaluation_at_exactly_20_points(self) -> None:
        """Four more product visits reach 18, the fifth reaches 20 and moves the lead."""
        model, score = self.discovery()
        for _ in range(4):
            score = score_event(model, score, event("page_viewed", section="product")).score
        assert (score.buying_stage, score.stage_points) == ("discovery", 18)
        update = score_event(model, score, event("page_viewed", section="product"))
        assert update.advanced_to == "evaluation"
        assert (update.score.buying_stage, update.score.stage_points) == ("evaluation", 0)
        assert update.score.total == 20

    def evaluation(self) -> tuple[object, Score]:
        model, score = self.discovery()
        score = run(model, score, *[event("page_viewed", section="product")] * 5)
        assert score.buying_stage == "evaluation"
        score = run(
            model,
            score,
            event("content_downloaded", content="buying-guide"),
            event("webinar_registered"),
            event("webinar_replay_watched"),
            event("support_contacted"),
            event("email_opened", campaign="prospecting"),
        )
        return model, score

    def test_evaluation_table_is_14_of_25(self) -> None:
        """Guide +4, webinar +3, replay +4, support +5, prospecting email opened -2: 14/25."""
        model, score = self.evaluation()
        assert (score.buying_stage, score.stage_points) == ("evaluation", 14)
        assert model.stage_named("evaluation").advance_at == 25  # type: ignore[attr-defined]
        assert score.line("prospecting_email_opened").points == -2  # type: ignore[union-attr]

    def test_decision_table_is_9_of_10(self) -> None:
        """Once in decision, demo accepted +4 and quote request +5 give 9 of 10."""
        model, score = self.evaluation()
        score = run(
            model,
            score,
            event("support_contacted"),
            event("webinar_replay_watched"),
            event("content_downloaded", content="buying-guide"),
        )
        assert score.buying_stage == "decision"
        score = run(model, score, event("demo_accepted"), event("quote_requested"))
        assert (score.buying_stage, score.stage_points) == ("decision", 9)
        assert model.stage_named("decision").advance_at == 10  # type: ignore[attr-defined]


class TestRules:
    """Caps, property matches and fit predicates behave as configured."""

    def test_cap_limits_a_rule_total(self) -> None:
        """The newsletter rule (cap 3) gives its points once, however often it fires."""
        model = scoring_model()
        score = run(model, initial_score(model), *[event("newsletter_subscribed")] * 4)
        line = score.line("newsletter_subscription")
        assert line is not None and (line.points, line.hits) == (3, 4)

    def test_property_mismatch_scores_nothing(self) -> None:
        """A page view outside the blog and product sections matches no rule."""
        model = scoring_model()
        update = score_event(model, initial_score(model), event("page_viewed", section="jobs"))
        assert update.awarded == () and update.score.total == 0

    def test_fit_requires_every_predicate(self) -> None:
        """A marketing title at a 3-person company misses the persona (min 10 employees)."""
        model = scoring_model()
        small = persona_lead(company_size=3)
        assert apply_profile(model, initial_score(model), small).score.total == 0

    def test_profile_change_replaces_fit_points(self) -> None:
        """Re-applying a profile that no longer matches removes the fit points."""
        model = scoring_model()
        score = apply_profile(model, initial_score(model), persona_lead()).score
        update = apply_profile(model, score, persona_lead(job_title="Accountant"))
        assert update.score.total == 0 and update.awarded == (("buyer_persona", -4),)


class TestCaps:
    """Every rule that gives points has a cap in the shipped model; the loader warns of one
    that has none, since each repeat of its event would add points again."""

    def test_the_shipped_model_caps_every_positive_rule(self) -> None:
        model = scoring_model()
        assert model.uncapped_positive_rules() == [] and model.warnings() == []
        assert all(r.cap is not None for r in model.behaviour if r.points > 0)

    def test_repeats_stop_at_the_cap(self) -> None:
        """Ten support contacts give 15 points, not 50."""
        model = scoring_model()
        score = run(model, initial_score(model), *[event("support_contacted")] * 10)
        assert score.total == 15

    def test_the_loader_warns_of_an_uncapped_rule(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Removing the support rule's cap loads, with a warning naming file and rule."""
        text = SCORING_FILE.read_text().replace("cap = 15          # three contacts\n", "")
        uncapped = tmp_path / "scoring.toml"
        uncapped.write_text(text)
        with caplog.at_level(logging.WARNING, logger="nurture.scoring"):
            model = load_scoring_model(uncapped)
        assert model.uncapped_positive_rules() == ["support_contact"]
        (record,) = caplog.records
        assert str(uncapped) in record.getMessage()
        assert (
            "behaviour.6: rule 'support_contact' gives 5 points with no cap" in record.getMessage()
        )

    def test_a_negative_rule_needs_no_cap(self) -> None:
        """Only rules that give points inflate a score."""
        model = scoring_model()
        rules = [r.model_copy(update={"cap": None}) if r.points < 0 else r for r in model.behaviour]
        assert model.model_copy(update={"behaviour": tuple(rules)}).warnings() == []


class TestEngagement:
    """What counts as new engagement: positive behaviour points, nothing else."""

    def test_behaviour_counts_fit_and_sales_and_silence_do_not(self) -> None:
        model = scoring_model()
        start = initial_score(model)
        profile = apply_profile(model, start, persona_lead())
        assert (profile.delta, profile.engagement) == (4, 0)
        support = score_event(model, profile.score, event("support_contacted"))
        assert support.engagement == 5
        sales = apply_adjustment(model, support.score, "returned", "Returned", -10)
        assert sales.engagement == 0
        assert apply_inactivity(model, support.score).engagement == 0

    def test_a_negative_rule_takes_nothing_off(self) -> None:
        """An open of a prospecting email (-2) is no engagement, and no negative either."""
        model = scoring_model()
        opened = score_event(
            model, initial_score(model), event("email_opened", campaign="prospecting")
        )
        assert (opened.delta, opened.engagement) == (-2, 0)


class TestPenaltiesAndBands:
    """Inactivity penalties respect the floor; grades and temperature follow the bands."""

    def test_inactivity_never_goes_below_floor(self) -> None:
        """-3 from 4 gives 1, then -1 reaches the floor 0, then nothing more."""
        model = scoring_model()
        score = apply_profile(model, initial_score(model), persona_lead()).score
        totals = []
        for _ in range(3):
            score = apply_inactivity(model, score).score
            totals.append(score.total)
        assert totals == [1, 0, 0]

    @pytest.mark.parametrize(("total", "grade"), [(0, Grade.C), (20, Grade.B), (50, Grade.A)])
    def test_grades(self, total: int, grade: Grade) -> None:
        """Grades change exactly at the configured minimums."""
        assert grade_for(scoring_model(), total) is grade

    def test_temperature_turns_cold_after_silence(self) -> None:
        """A hot score is cold once the last activity is 30 days old."""
        model = scoring_model()
        assert temperature_for(model, 40, T0, T0 + timedelta(days=1)) is Heat.HOT
        assert temperature_for(model, 40, T0, T0 + timedelta(days=30)) is Heat.COLD


class TestModelFile:
    """A broken scoring file is refused with the file, the field and the rule."""

    def test_unknown_attribute_is_named(self, tmp_path: Path) -> None:
        """A fit rule on a lead attribute that does not exist names it."""
        text = SCORING_FILE.read_text().replace("when.company_size", "when.company_headcount")
        bad = tmp_path / "scoring.toml"
        bad.write_text(text)
        with pytest.raises(ConfigError, match=r"fit\.0.*company_headcount"):
            load_scoring_model(bad)

    def test_wrong_type_names_field(self, tmp_path: Path) -> None:
        """A non-integer threshold names thresholds.mql."""
        text = SCORING_FILE.read_text().replace("mql = 20", 'mql = "twenty"')
        bad = tmp_path / "scoring.toml"
        bad.write_text(text)
        with pytest.raises(ConfigError, match=r"thresholds\.mql"):
            load_scoring_model(bad)

    def test_thresholds_must_be_ordered(self, tmp_path: Path) -> None:
        """An SQL threshold below the MQL one is refused."""
        text = SCORING_FILE.read_text().replace("sql = 50", "sql = 5")
        bad = tmp_path / "scoring.toml"
        bad.write_text(text)
        with pytest.raises(ConfigError, match="must be greater than mql"):
            load_scoring_model(bad)
