"""The configuration a workflow run works with, as one snapshot named by its digest.

A lead's run used to record the whole scoring model, enrolment rules and sales team in its
history (three local activities' results, about 6 KB at every run). Now it records only a
:class:`ConfigRef`: the digest of the :class:`ConfigSnapshot` it started with. The worker
keeps every snapshot it has seen in :data:`CATALOG` (the configuration activity adds the
snapshots it makes; the ledger's database keeps them all, preloaded when a worker starts),
so a replay, on this worker or another, after a restart or an edit, finds the very
version the run started with. A digest this process has never seen is a miss
(:class:`ConfigNotLoaded`): it fails the workflow *task*, never the workflow, while the
worker fetches the snapshot for the task's retry.

The digest is a SHA-256 of a canonical serialisation: keys sorted, and sets sorted too
(pydantic dumps a set in hash order, which changes with ``PYTHONHASHSEED`` from one
process to the next), so every worker names the same configuration alike.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic_core import to_jsonable_python

from nurture.domain.sales.routing import SalesTeam
from nurture.domain.scoring import ScoringModel
from nurture.domain.sequences.models import SendingPolicy
from nurture.domain.sequences.rules import EnrolmentRule
from nurture.errors import NurtureError

__all__ = [
    "CATALOG",
    "ConfigCatalog",
    "ConfigNotLoaded",
    "ConfigRef",
    "ConfigSnapshot",
    "canonical_json",
]

_FROZEN = ConfigDict(frozen=True)


class ConfigRef(BaseModel):
    """What a run's history keeps of its configuration: the snapshot's digest."""

    model_config = _FROZEN

    digest: str


class ConfigSnapshot(BaseModel):
    """Everything a lead's run and its sequences read from the configuration files."""

    model_config = _FROZEN

    scoring: ScoringModel
    enrolment: tuple[EnrolmentRule, ...]
    sending: SendingPolicy
    sales: SalesTeam

    def canonical_json(self) -> str:
        """The snapshot as JSON, the same text in every process (see :func:`canonical_json`)."""
        return canonical_json(self)

    def ref(self) -> ConfigRef:
        """``cfg-`` and the first 32 hex digits of the SHA-256 of :meth:`canonical_json`."""
        digest = hashlib.sha256(self.canonical_json().encode()).hexdigest()
        return ConfigRef(digest=f"cfg-{digest[:32]}")


def canonical_json(model: BaseModel) -> str:
    """``model`` as compact JSON with sorted keys and every set sorted: a text that depends
    on the values only, never on the process that made it."""
    plain = to_jsonable_python(_sets_sorted(model.model_dump(by_alias=True, round_trip=True)))
    return json.dumps(plain, sort_keys=True, separators=(",", ":"))


def _sets_sorted(value: Any) -> Any:
    """``value`` with each set made a list in a fixed order, however deep."""
    if isinstance(value, dict):
        return {key: _sets_sorted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_sets_sorted(item) for item in value]
    if isinstance(value, set | frozenset):
        items = [_sets_sorted(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(to_jsonable_python(item), sort_keys=True))
    return value


class ConfigNotLoaded(NurtureError):
    """A run asked for a snapshot this process does not hold (yet).

    Deliberately not an ``ApplicationError``: raised in workflow code it fails the workflow
    task, which Temporal retries, and never the workflow itself.
    """

    def __init__(self, digest: str) -> None:
        super().__init__(
            f"configuration {digest} is not loaded in this worker: fetching it from the "
            "ledger's database for the workflow task's retry (if this repeats, the "
            "database has lost it)"
        )
        self.digest = digest


class ConfigCatalog:
    """The snapshots this process holds, by digest: append-only, safe across threads
    (workflow code runs in the worker's thread pool, the activities on its event loop)."""

    def __init__(self) -> None:
        self._snapshots: dict[str, ConfigSnapshot] = {}
        self._missing: dict[str, None] = {}
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def add(self, digest: str, snapshot: ConfigSnapshot) -> None:
        """Hold ``snapshot`` under ``digest`` (a digest is never reassigned: the first
        snapshot stays)."""
        with self._lock:
            self._snapshots.setdefault(digest, snapshot)
            self._missing.pop(digest, None)

    def preload(self, snapshots: Mapping[str, ConfigSnapshot]) -> None:
        """Hold every snapshot of ``snapshots`` (those stored, when a worker starts)."""
        for digest, snapshot in snapshots.items():
            self.add(digest, snapshot)

    def __contains__(self, digest: object) -> bool:
        with self._lock:
            return digest in self._snapshots

    def get(self, digest: str) -> ConfigSnapshot:
        """The snapshot of ``digest``; else record the miss, tell the listeners and raise
        :class:`ConfigNotLoaded`."""
        with self._lock:
            found = self._snapshots.get(digest)
            if found is None:
                self._missing[digest] = None
                listeners = list(self._listeners)
        if found is not None:
            return found
        for listener in listeners:
            listener()
        raise ConfigNotLoaded(digest)

    def missing(self) -> tuple[str, ...]:
        """The digests asked for and not held, oldest miss first."""
        with self._lock:
            return tuple(self._missing)

    def on_miss(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` (from whichever thread missed) at every miss; returns what
        stops it."""
        with self._lock:
            self._listeners.append(listener)

        def stop() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return stop


CATALOG = ConfigCatalog()
"""The process's catalog: the workflows read it (the sandbox passes ``nurture.domain``
through, so every run sees this one object), the configuration activity and the worker
fill it."""
