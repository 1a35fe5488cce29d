"""Configuration read from files once, and again whenever one of the files changes.

Edits apply without a restart, and a file broken while a process runs never stops it: the
last good version keeps being served, the problem is logged at ERROR once per broken
version (not at every use), and the recovery is logged when the files are good again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from nurture.errors import ConfigError

__all__ = ["Watched", "file_version"]

T = TypeVar("T")
log = logging.getLogger("nurture.config")

_Version = tuple[tuple[int, int, int], ...]
"""What tells one version of the files from the next: inode, mtime in ns, size of each."""
_MISSING = (-1, -1, -1)


class Watched(Generic[T]):
    """What ``load`` makes of ``paths``, re-made when one of them changes. Call
    :meth:`prime` at start: only files that were never good raise (a :class:`ConfigError`
    naming file and line)."""

    def __init__(self, load: Callable[[], T], *paths: Path) -> None:
        self._load = load
        self._paths = paths
        self._good: tuple[_Version, T] | None = None
        self._broken: _Version | None = None
        """The version last found broken and already logged."""

    def prime(self) -> T:
        """Load now; broken files raise :class:`ConfigError` naming file and line."""
        version = self._version()
        self._good = (version, self._load())
        return self._good[1]

    def current(self) -> T:
        """What the files say now, or what they last said when good."""
        version = self._version()
        if self._good is not None and version in (self._good[0], self._broken):
            return self._good[1]  # unchanged, or a broken version already reported
        try:
            value = self._load()
        except (ConfigError, OSError) as exc:
            return self._keep_last_good(version, exc)
        if self._broken is not None:
            log.info("%s is valid again: now in use", self._names())
        self._good, self._broken = (version, value), None
        return value

    def _keep_last_good(self, version: _Version, exc: Exception) -> T:
        if self._good is None:
            raise exc if isinstance(exc, ConfigError) else ConfigError(str(exc)) from exc
        log.error(
            "%s\n%s is broken: its last good version stays in use until it is fixed",
            exc,
            self._names(),
        )
        self._broken = version
        return self._good[1]

    def _names(self) -> str:
        return ", ".join(str(path) for path in self._paths)

    def _version(self) -> _Version:
        return tuple(file_version(path) for path in self._paths)


def file_version(path: Path) -> tuple[int, int, int]:
    """What tells one version of a file from the next: inode, mtime in ns, size (all -1
    when it is missing)."""
    try:
        stat = path.stat()
    except OSError:
        return _MISSING
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)
