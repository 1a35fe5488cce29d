"""Lead scoring: a configurable model (``model``) and the pure engine that applies it."""

from nurture.domain.scoring.engine import (
    Grade,
    Heat,
    Score,
    ScoreLine,
    ScoreUpdate,
    apply_adjustment,
    apply_inactivity,
    apply_profile,
    grade_for,
    initial_score,
    score_event,
    temperature_for,
)
from nurture.domain.scoring.model import ScoringModel

__all__ = [
    "Grade",
    "Heat",
    "Score",
    "ScoreLine",
    "ScoreUpdate",
    "ScoringModel",
    "apply_adjustment",
    "apply_inactivity",
    "apply_profile",
    "grade_for",
    "initial_score",
    "score_event",
    "temperature_for",
]
