"""The project's three configuration files read into their models, and what they declare.

``nurture.toml`` (the project), ``scoring.toml`` (the scoring model) and ``sales.toml`` (the
sales team) are each read and validated here; errors name the file, the line, the path of
the field inside it and the rule it broke, for example
``config/scoring.toml:68: behaviour.2.points: Input should be a valid integer``. The models
themselves are the domain's (scoring, sales) or the project's (:mod:`nurture.config.project`):
the domain never reads a file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from nurture.config.project import ProjectConfig
from nurture.config.tomlfile import load_toml_model
from nurture.config.watched import Watched
from nurture.domain.sales.routing import SalesTeam
from nurture.domain.scoring import ScoringModel
from nurture.domain.tracking import TRACKING_EVENTS
from nurture.domain.vocabulary import EventVocabulary

__all__ = [
    "event_vocabulary",
    "load_event_vocabulary",
    "load_project_config",
    "load_sales_team",
    "load_scoring_model",
    "watched_sales_team",
    "watched_vocabulary",
]

scoring_log = logging.getLogger("nurture.scoring")


def load_project_config(path: Path) -> ProjectConfig:
    """Read and validate ``nurture.toml``, or raise :class:`ConfigError` naming the line."""
    return load_toml_model(path, ProjectConfig, "project configuration")


def load_scoring_model(path: Path) -> ScoringModel:
    """Read and validate a scoring model, or raise :class:`ConfigError` saying what is wrong.
    What is allowed but probably a mistake (an uncapped rule) is logged as a warning."""
    model = load_toml_model(path, ScoringModel, "scoring model")
    for where, warning in model.warnings():
        scoring_log.warning("%s: %s: %s", path, ".".join(map(str, where)), warning)
    return model


def load_sales_team(path: Path) -> SalesTeam:
    """Read and validate ``config/sales.toml``; errors name the line, field and rule."""
    return load_toml_model(path, SalesTeam, "sales team")


def event_vocabulary(
    project: ProjectConfig, model: ScoringModel, team: SalesTeam
) -> EventVocabulary:
    """The types the three configuration files declare, together."""
    types = {
        *(rule.event for rule in model.behaviour),
        *(form.event for form in project.forms.values()),
        *TRACKING_EVENTS,
        *team.hand_raise_events,
        *project.events,
    }
    return EventVocabulary(types=frozenset(types))


def load_event_vocabulary(
    project_file: Path, scoring_file: Path, sales_file: Path
) -> EventVocabulary:
    """Read the three files; a broken one raises :class:`ConfigError` naming it."""
    return event_vocabulary(
        load_project_config(project_file),
        load_scoring_model(scoring_file),
        load_sales_team(sales_file),
    )


def watched_sales_team(sales_file: Path) -> Watched[SalesTeam]:
    """``config/sales.toml``, re-read when it changes (a rep who leaves loses their links at
    once); an edit that breaks it keeps the last good team, with an error in the log."""
    watched = Watched(lambda: load_sales_team(sales_file), sales_file)
    watched.prime()
    return watched


def watched_vocabulary(
    project_file: Path, scoring_file: Path, sales_file: Path
) -> Watched[EventVocabulary]:
    """The declared event types, rebuilt when one of the three files changes, so a type
    added to ``events`` is accepted without restarting the API; an edit that breaks a file
    keeps the last good vocabulary, with an error in the log."""
    files = (project_file, scoring_file, sales_file)
    watched = Watched(lambda: load_event_vocabulary(*files), *files)
    watched.prime()
    return watched
