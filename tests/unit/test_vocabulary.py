"""The declared event types: built from the three configuration files, refusing the rest
with the near matches, and covering every type the shipped sequences wait on."""

from __future__ import annotations

from nurture.config.files import event_vocabulary, load_event_vocabulary, load_sales_team
from nurture.config.sequence_check import event_types_used, undeclared_event_types
from nurture.domain.vocabulary import EventVocabulary
from tests.helpers import PROJECT_FILE, SALES_FILE, SCORING_FILE, project, scoring_model
from workflows.sequences.base import REGISTRY, Sequence


def shipped() -> EventVocabulary:
    return load_event_vocabulary(PROJECT_FILE, SCORING_FILE, SALES_FILE)


class TestSources:
    """Each setting that names an event type declares it."""

    def test_the_shipped_vocabulary(self) -> None:
        """Rules, forms, tracking, hand-raises and `events`, together."""
        assert shipped().types == {
            "content_downloaded",
            "demo_accepted",
            "demo_requested",
            "email_clicked",
            "email_opened",
            "form_submitted",
            "newsletter_subscribed",
            "page_viewed",
            "quote_requested",
            "support_contacted",
            "webinar_registered",
            "webinar_replay_watched",
        }

    def test_each_source_counts(self) -> None:
        """A type named only by sales, only by a form or only by `events` is known."""
        config = project()
        trial = config.forms["contact"].model_copy(update={"event": "trial_started"})
        forms = {**config.forms, "trial": trial}
        team = load_sales_team(SALES_FILE).model_copy(
            update={"hand_raise_events": ("meeting_booked",)}
        )
        config = config.model_copy(update={"forms": forms, "events": ("webinar_attended",)})
        known = event_vocabulary(config, scoring_model(), team)
        assert {"trial_started", "meeting_booked", "webinar_attended"} <= known.types
        assert "email_opened" in known and "demo_requested" not in known


class TestRefusal:
    """An unknown type is refused with the nearest declared ones."""

    def test_a_typo_gets_its_near_matches(self) -> None:
        reason = shipped().why_unknown("page_veiwed") or ""
        assert reason.startswith("unknown event type 'page_veiwed'; did you mean 'page_viewed'?")
        assert "config/nurture.toml `events`" in reason

    def test_several_near_matches_best_first(self) -> None:
        assert shipped().near("demo_request") == ["demo_requested", "quote_requested"]

    def test_nothing_close(self) -> None:
        reason = shipped().why_unknown("xyzzy") or ""
        assert "no declared type is close" in reason

    def test_a_known_type_passes(self) -> None:
        assert shipped().why_unknown("page_viewed") is None


class TestSequences:
    """What a sequence waits on must be declared, or the API would refuse it."""

    def test_the_shipped_sequences_wait_on_declared_types(self) -> None:
        assert undeclared_event_types(shipped().types) == []

    def test_goals_waits_and_exceptions_are_read(self) -> None:
        """decision: goals and a wait; reengagement: the type its goal excludes."""
        assert event_types_used(REGISTRY[("decision", 1)]) == {
            "demo_requested",
            "quote_requested",
            "email_clicked",
        }
        assert event_types_used(REGISTRY[("reengagement", 1)]) == {"email_opened"}

    def test_an_undeclared_type_is_a_problem_naming_sequence_and_type(self) -> None:
        """Without `events`, and with no hand-raises, the sequences' goals are unknown."""
        config = project().model_copy(update={"events": ()})
        team = load_sales_team(SALES_FILE).model_copy(update={"hand_raise_events": ()})
        problems = undeclared_event_types(event_vocabulary(config, scoring_model(), team).types)
        assert problems[0] == (
            "sequence 'decision' v1 waits on event type 'demo_requested', which no "
            "configuration declares (the API refuses it): add it to `events` in "
            "config/nurture.toml"
        )
        # quote_requested stays declared: a scoring rule counts it. One problem per version
        # waiting on demo_requested: decision v1, discovery v1-v3, evaluation v1.
        assert all("'demo_requested'" in p for p in problems) and len(problems) == 5

    def test_a_type_tested_against_a_collection_is_read(self) -> None:
        """``e.type in ("a", "b")`` names both types (the check must not fail open)."""

        class Either(Sequence):
            async def steps(self) -> None:
                await self.wait_for(lambda e: e.type in ("trial_started", "trial_ended"), 1)

        assert event_types_used(Either) == {"trial_started", "trial_ended"}
