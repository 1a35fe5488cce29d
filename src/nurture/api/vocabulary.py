"""The event vocabulary as the API sees it: re-read when a configuration file changes."""

from __future__ import annotations

import logging
from pathlib import Path

from nurture.errors import ConfigError
from nurture.vocabulary import EventVocabulary, load_event_vocabulary

__all__ = ["WatchedVocabulary"]

log = logging.getLogger("nurture.api")


class WatchedVocabulary:
    """The declared event types, rebuilt when one of the three files changes (mtime and
    size), so a type added to ``events`` is accepted without restarting the API. A file
    broken by an edit keeps the last good vocabulary, with an error in the log."""

    def __init__(self, project_file: Path, scoring_file: Path, sales_file: Path) -> None:
        self._files = (project_file, scoring_file, sales_file)
        self._stamp = self._stamps()
        self._vocabulary = load_event_vocabulary(*self._files)

    def current(self) -> EventVocabulary:
        """The vocabulary as the files are now (a stat per file when nothing changed)."""
        stamp = self._stamps()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._vocabulary = load_event_vocabulary(*self._files)
            except ConfigError as exc:
                log.error("event types not reloaded, the last good ones stay: %s", exc)
        return self._vocabulary

    def _stamps(self) -> tuple[tuple[int, int] | None, ...]:
        return tuple(_stamp(path) for path in self._files)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size
