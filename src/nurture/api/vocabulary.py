"""The event vocabulary as the API sees it: re-read when a configuration file changes."""

from __future__ import annotations

from pathlib import Path

from nurture.config.files import load_event_vocabulary
from nurture.config.watched import Watched
from nurture.domain.vocabulary import EventVocabulary

__all__ = ["watched_vocabulary"]


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
