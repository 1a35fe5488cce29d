"""The whole configuration is checked at once, and every problem is reported where it is."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from nurture.config.check import (
    CHECKS,
    Configuration,
    check_configuration,
    require_valid_configuration,
)
from nurture.config.settings import Settings
from nurture.errors import ConfigError, ConfigProblem
from tests.configfiles import break_file, copy_project
from tests.helpers import ROOT


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A project folder with copies of the shipped configuration files."""
    return copy_project(tmp_path / "home")


class TestShippedConfiguration:
    """What ships is valid and draws no warning."""

    def test_no_error_no_warning(self) -> None:
        """The repository's own configuration passes every check."""
        report = check_configuration(Settings(home=ROOT))
        assert (report.errors, report.warnings) == ((), ())
        assert report.summary().startswith("configuration OK (0 warnings): ")


class TestEveryProblem:
    """Problems in several files are all reported, each with its file and line."""

    def test_one_mistake_in_each_file(self, home: Path) -> None:
        """Three files, three errors, in one report, errors and warnings apart."""
        config = home / "config"
        scoring = break_file(
            config / "scoring.toml", "points = 2\ncap = 20", 'points = "2x"\ncap = 20'
        )
        sales = break_file(config / "sales.toml", "capacity = 25", "capacity = -1")
        project = break_file(config / "nurture.toml", 'sequence = "upsell"', 'sequence = "upsel"')
        report = check_configuration(Settings(home=home))
        assert sorted((p.file.name, p.line, p.field) for p in report.errors) == [
            ("nurture.toml", project, "enrolment.7.sequence"),
            ("sales.toml", sales, "reps.1.capacity"),
            ("scoring.toml", scoring, "behaviour.2.points"),
        ]
        assert report.warnings == ()
        unknown = next(p for p in report.errors if p.file.name == "nurture.toml")
        assert "no sequence 'upsel' is registered" in unknown.message
        assert "upsell" in unknown.message  # the names that are registered
        assert report.summary().startswith("3 errors, 0 warnings in the configuration: ")

    def test_a_sender_no_mail_can_go_out_with(self, home: Path) -> None:
        """A brand sender that is no address would fail every email: refused at start."""
        line = break_file(
            home / "config" / "nurture.toml",
            'from_email = "hello@example.com"',
            'from_email = "hello at example.com"',
        )
        (error,) = check_configuration(Settings(home=home)).errors
        assert (error.line, error.field) == (line, "brand.from_email")
        assert "'hello at example.com' is not a deliverable address" in error.message

    def test_a_forms_browser_settings(self, home: Path) -> None:
        """A relative thank-you URL and a honeypot named like a real field: both at their
        lines, saying why."""
        config = home / "config" / "nurture.toml"
        url = break_file(
            config, 'honeypot = "website"', 'honeypot = "email"\nthank_you_url = "/merci"'
        )
        report = check_configuration(Settings(home=home))
        found = {p.field: (p.line, p.message) for p in report.errors}
        assert found["forms.white-paper.honeypot"][0] == url
        assert "a field forms post" in found["forms.white-paper.honeypot"][1]
        assert found["forms.white-paper.thank_you_url"][0] == url + 1
        assert "not an absolute http(s) URL" in found["forms.white-paper.thank_you_url"][1]

    def test_a_broken_file_does_not_hide_the_others(self, home: Path) -> None:
        """nurture.toml is not TOML: its syntax error, and the other files still checked."""
        config = home / "config"
        project = break_file(config / "nurture.toml", "[defaults]", "[defaults")
        sales = break_file(
            config / "sales.toml", 'manager = "sales-manager@example.com"  ', 'manager = "nobody"  '
        )
        report = check_configuration(Settings(home=home))
        assert [(p.file.name, p.line) for p in report.errors] == [
            ("nurture.toml", project),
            ("sales.toml", sales),
        ]
        assert report.errors[0].message.startswith("not valid TOML")

    def test_templates_are_checked(self, home: Path) -> None:
        """A missing templates folder is an error of its own."""
        report = check_configuration(Settings(home=home, templates_dir=Path("no/such/dir")))
        (problem,) = report.errors
        assert problem.file == (home / "no/such/dir").resolve()
        assert problem.message == "email templates folder not found"

    def test_a_template_edited_between_two_checks(self, home: Path) -> None:
        """A template broken after a first check is caught by the next one."""
        templates = home / "emails"
        shutil.copytree(ROOT / "templates" / "emails", templates)
        settings = Settings(home=home, templates_dir=Path("emails"))
        assert check_configuration(settings).errors == ()
        with (templates / "en" / "thank_you.txt").open("a") as text:
            text.write("{{ no_such_variable }}\n")
        (problem,) = check_configuration(settings).errors
        assert problem.file == templates.resolve()
        assert problem.message.startswith("en/thank_you: ")
        assert "no_such_variable" in problem.message


class TestSettings:
    """The check reads the files the worker would: NURTURE_HOME and NURTURE_*_FILE."""

    def test_file_settings_are_honoured(self, home: Path) -> None:
        """A scoring file moved elsewhere is the one checked."""
        moved = home / "elsewhere" / "model.toml"
        moved.parent.mkdir()
        (home / "config" / "scoring.toml").rename(moved)
        line = break_file(moved, "mql = 20", 'mql = "twenty"')
        assert [str(p).split(": ")[0] for p in check_configuration(Settings(home=home)).errors] == [
            str(home / "config" / "scoring.toml")
        ]
        report = check_configuration(Settings(home=home, scoring_file=Path("elsewhere/model.toml")))
        (problem,) = report.errors
        assert (problem.file, problem.line, problem.field) == (moved, line, "thresholds.mql")


class TestWarnings:
    """Warnings are reported apart from errors and never stop a start."""

    def test_a_misspelt_form_is_a_warning(
        self, home: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """An enrolment rule naming no configured form warns at that line; starting goes on,
        with the warning logged."""
        line = break_file(
            home / "config" / "nurture.toml", 'forms = ["newsletter"]', 'forms = ["newsleter"]'
        )
        with caplog.at_level(logging.WARNING, logger="nurture.config"):
            report = require_valid_configuration(Settings(home=home))
        (warning,) = report.warnings
        assert report.errors == ()
        assert (warning.line, warning.field) == (line, "enrolment.2.forms.0")
        assert str(warning).startswith(f"{home / 'config' / 'nurture.toml'}:{line}: warning: ")
        assert [r.getMessage() for r in caplog.records] == [str(warning)]

    def test_an_unknown_buying_stage_is_a_warning(self, home: Path) -> None:
        """A rule's buying stage that the scoring model does not have (a cross-file check)."""
        line = break_file(
            home / "config" / "nurture.toml",
            'buying_stages = ["evaluation"]',
            'buying_stages = ["evalution"]',
        )
        (warning,) = check_configuration(Settings(home=home)).warnings
        assert (warning.line, warning.field) == (line, "enrolment.1.buying_stages.0")
        assert "no buying stage 'evalution' in " in warning.message

    def test_an_uncapped_rule_is_a_warning_at_its_rule(self, home: Path) -> None:
        """A rule giving points with no cap can be inflated without end."""
        scoring = home / "config" / "scoring.toml"
        text = scoring.read_text()
        scoring.write_text(text.replace("points = 5\ncap = 10          # two quotes", "points = 5"))
        headers = [
            n for n, t in enumerate(scoring.read_text().splitlines(), 1) if t == "[[behaviour]]"
        ]
        (warning,) = check_configuration(Settings(home=home)).warnings
        assert (warning.line, warning.field) == (headers[-1], f"behaviour.{len(headers) - 1}")
        assert "'quote_request' gives 5 points with no cap" in warning.message

    def test_a_sequence_waiting_for_an_undeclared_type_is_an_error(self, home: Path) -> None:
        """The decision sequence's goal, ``quote_requested``, removed from ``events`` and from
        every rule: the API would refuse it, so the goal could never be reached."""
        project = home / "config" / "nurture.toml"
        break_file(project, '    "quote_requested",    # the goal of decision and upsell\n', "")
        line = project.read_text().splitlines().index("events = [") + 1
        scoring = home / "config" / "scoring.toml"
        scoring.write_text(scoring.read_text().replace('event = "quote_requested"', 'event = "x"'))
        sales = home / "config" / "sales.toml"
        sales.write_text(sales.read_text().replace('"quote_requested"', '"demo_requested"'))
        errors = check_configuration(Settings(home=home)).errors
        assert errors and all(e.field == "events" and e.line == line for e in errors)
        assert any(
            "sequence 'decision' v1 waits on event type 'quote_requested'" in e.message
            for e in errors
        )

    def test_a_new_check_places_its_warnings(self, home: Path) -> None:
        """A check added to the list reports at the line of the value it names: here, one
        warning per behaviour rule, each at its ``[[behaviour]]`` header."""

        def every_behaviour_rule(config: Configuration) -> Iterator[ConfigProblem]:
            model = config.scoring.model
            assert model is not None
            for index, rule in enumerate(model.behaviour):
                yield config.scoring.problem(("behaviour", index), rule.id, "warning")

        report = check_configuration(Settings(home=home), [*CHECKS, every_behaviour_rule])
        lines = (home / "config" / "scoring.toml").read_text().splitlines()
        headers = [n for n, text in enumerate(lines, 1) if text == "[[behaviour]]"]
        assert report.errors == ()
        assert [(w.line, w.field) for w in report.warnings] == [
            (line, f"behaviour.{index}") for index, line in enumerate(headers)
        ]


class TestRefusal:
    """Errors stop a start: every one is in the error raised."""

    def test_errors_raise_with_every_problem(self, home: Path) -> None:
        """The error lists each problem on its own line, with file and line."""
        scoring = home / "config" / "scoring.toml"
        break_file(scoring, "sql = 50", "sql = 5")
        header = scoring.read_text().splitlines().index("[thresholds]") + 1
        with pytest.raises(ConfigError) as info:
            require_valid_configuration(Settings(home=home))
        (problem,) = info.value.problems
        assert str(info.value).splitlines() == [
            "not starting: 1 error in the configuration",
            f"  {scoring}:{header}: thresholds: {problem.message}",
        ]
        assert "sql (5) must be greater than mql (20)" in problem.message


class TestEnrolmentCustomFields:
    def test_an_unknown_field_or_choice_is_an_error_at_its_rule(self, home: Path) -> None:
        project = home / "config" / "nurture.toml"
        break_file(
            project,
            'sequence = "decision"\n',
            'sequence = "decision"\ncustom = { budjet = ["over 50k"], budget = ["huge"] }\n',
        )
        errors = check_configuration(Settings(home=home)).errors
        messages = sorted(e.message for e in errors if e.field and "custom" in e.field)
        assert messages == [
            "'huge' is not a choice of budget: none yet, under 10k, 10k-50k, over 50k",
            "no custom field 'budjet' in [fields]",
        ]
